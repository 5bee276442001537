//===- JsonTest.cpp - The runtime's JSON reader and writer ----------------===//

#include "runtime/Json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace ponder;

namespace {

/// The error message of parsing `text`, which must fail.
std::string errorOf(std::string_view text) {
  auto v = json::parse(text);
  EXPECT_FALSE(v) << "accepted: " << text;
  return v ? "" : v.getStatus().message();
}

TEST(Json, ParsesAndKeepsOrder) {
  auto v =
      json::parse(R"( {"b": [1, -2, 3.5e1], "a": {"x": null, "y": true}} )");
  ASSERT_TRUE(v) << v.getStatus().message();
  ASSERT_EQ(v->members().size(), 2u);
  EXPECT_EQ(v->members()[0].first, "b");
  EXPECT_EQ(v->members()[1].first, "a");
  const json::Value *b = v->find("b");
  ASSERT_TRUE(b && b->isArray());
  EXPECT_EQ(b->items()[1].asInteger(), -2);
  EXPECT_FALSE(b->items()[2].isInteger());
  EXPECT_TRUE(b->items()[2].isNumber());
  EXPECT_EQ(b->items()[2].asNumber(), 35.0);
  EXPECT_TRUE(v->find("a")->find("x")->isNull());
  EXPECT_TRUE(v->find("a")->find("y")->asBool());
  EXPECT_EQ(v->find("c"), nullptr);
}

TEST(Json, Literals) {
  EXPECT_TRUE(json::parse("true")->asBool());
  EXPECT_FALSE(json::parse(" false\n")->asBool());
  EXPECT_TRUE(json::parse("\tnull\r\n")->isNull());
  EXPECT_EQ(errorOf("tru"), "JSON at byte 0: expected a value, found 't'");
  EXPECT_EQ(errorOf("nullx"),
            "JSON at byte 4: expected the end of the text after the value, "
            "found 'x'");
  EXPECT_EQ(errorOf(""),
            "JSON at byte 0: expected a value, found the end of the text");
  EXPECT_EQ(errorOf("   "),
            "JSON at byte 3: expected a value, found the end of the text");
}

TEST(Json, IntegersAreExactAndOverflowIsAnError) {
  EXPECT_EQ(json::parse("9223372036854775807")->asInteger(),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(json::parse("-9223372036854775808")->asInteger(),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(json::parse("-0")->asInteger(), 0);
  EXPECT_EQ(errorOf("9223372036854775808"),
            "JSON at byte 0: integer 9223372036854775808 does not fit in 64 "
            "bits");
  EXPECT_EQ(errorOf("[1, -9223372036854775809]"),
            "JSON at byte 4: integer -9223372036854775809 does not fit in 64 "
            "bits");
  // A fraction or exponent makes a double, which may be large.
  EXPECT_EQ(json::parse("9223372036854775808.0")->asNumber(), 0x1p63);
}

TEST(Json, NumberGrammarIsStrict) {
  EXPECT_EQ(json::parse("0.25")->asNumber(), 0.25);
  EXPECT_EQ(json::parse("-1E-2")->asNumber(), -0.01);
  EXPECT_EQ(json::parse("2e+3")->asNumber(), 2000.0);
  EXPECT_EQ(errorOf("012"), "JSON at byte 1: number with a leading zero");
  EXPECT_EQ(errorOf("-"),
            "JSON at byte 1: expected a digit, found the end of the text");
  EXPECT_EQ(errorOf("1."),
            "JSON at byte 2: expected a digit after '.', found the end of the "
            "text");
  EXPECT_EQ(errorOf(".5"), "JSON at byte 0: expected a value, found '.'");
  EXPECT_EQ(errorOf("+1"), "JSON at byte 0: expected a value, found '+'");
  EXPECT_EQ(errorOf("1e"), "JSON at byte 2: expected a digit in the exponent, "
                           "found the end of the text");
  EXPECT_EQ(errorOf("1e999"),
            "JSON at byte 0: number 1e999 is out of the range of a double");
}

TEST(Json, StringEscapesAndUnicode) {
  auto v = json::parse(R"("q\" b\\ s\/ \b\f\n\r\t")");
  ASSERT_TRUE(v) << v.getStatus().message();
  EXPECT_EQ(v->asString(), "q\" b\\ s/ \b\f\n\r\t");
  // 1-, 2-, 3- and 4-byte UTF-8, the last from a surrogate pair.
  v = json::parse(R"("\u0041\u00e9\u20AC\ud83d\ude00")");
  ASSERT_TRUE(v) << v.getStatus().message();
  EXPECT_EQ(v->asString(), "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  v = json::parse(R"("a\u0000b")");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->asString(), std::string("a\0b", 3));
  // Raw UTF-8 passes through unchanged.
  EXPECT_EQ(json::parse("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"")->asString(),
            "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST(Json, BadEscapesAndSurrogates) {
  EXPECT_EQ(errorOf(R"("\x")"),
            "JSON at byte 2: expected an escape: one of \\\" \\\\ \\/ \\b \\f "
            "\\n \\r \\t \\u, found 'x'");
  EXPECT_EQ(errorOf(R"("\u12g4")"),
            "JSON at byte 5: expected 4 hex digits after \\u, found 'g'");
  EXPECT_EQ(errorOf(R"("\u12)"), "JSON at byte 5: expected 4 hex digits after "
                                 "\\u, found the end of the text");
  EXPECT_EQ(errorOf(R"("\ud800")"),
            "JSON at byte 7: expected a \\u low surrogate after a high "
            "surrogate, found '\"'");
  EXPECT_EQ(errorOf(R"("\ud800\u0041")"),
            "JSON at byte 7: expected a \\u low surrogate (DC00-DFFF), found "
            "'\\'");
  EXPECT_EQ(errorOf(R"("ab\udc00")"),
            "JSON at byte 3: unpaired low surrogate in \\u escape");
}

TEST(Json, StringsMustBeValidUtf8WithoutControlCharacters) {
  EXPECT_EQ(errorOf("\"a\nb\""),
            "JSON at byte 2: expected a character (control characters must be "
            "escaped), found byte 0x0A");
  EXPECT_EQ(errorOf("\"abc"),
            "JSON at byte 4: expected '\"' to close the string, found the end "
            "of the text");
  for (const char *bad : {
           "\"\xc0\xaf\"",         // overlong '/'
           "\"\xed\xa0\x80\"",     // a UTF-16 surrogate encoded as UTF-8
           "\"\xf4\x90\x80\x80\"", // above U+10FFFF
           "\"\xe2\x82\"",         // truncated sequence
           "\"\x80\"",             // a lone continuation byte
           "\"\xff\"",
       })
    EXPECT_EQ(errorOf(bad), "JSON at byte 1: invalid UTF-8 in a string");
  EXPECT_TRUE(json::isValidUtf8("plain \xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(json::isValidUtf8("\xc3"));
  EXPECT_FALSE(json::isValidUtf8("a\xe0\x80\x80"));
}

TEST(Json, StructureErrorsNameTheByteOffset) {
  EXPECT_EQ(errorOf("{\"a\": 1,}"),
            "JSON at byte 8: expected a string key in an object, found '}'");
  EXPECT_EQ(errorOf("{\"a\" 1}"),
            "JSON at byte 5: expected ':' after a key, found '1'");
  EXPECT_EQ(errorOf("{\"a\": 1"), "JSON at byte 7: expected ',' or '}' in an "
                                  "object, found the end of the text");
  EXPECT_EQ(errorOf("[1 2]"),
            "JSON at byte 3: expected ',' or ']' in an array, found '2'");
  EXPECT_EQ(errorOf("[1,]"), "JSON at byte 3: expected a value, found ']'");
  EXPECT_EQ(errorOf("{1:2}"),
            "JSON at byte 1: expected a string key in an object, found '1'");
  EXPECT_EQ(errorOf("{\"a\":1,\"a\":2}"),
            "JSON at byte 7: duplicate key \"a\"");
}

TEST(Json, TrailingGarbageIsAnError) {
  EXPECT_EQ(errorOf("{} x"), "JSON at byte 3: expected the end of the text "
                             "after the value, found 'x'");
  EXPECT_EQ(errorOf("[1]]"), "JSON at byte 3: expected the end of the text "
                             "after the value, found ']'");
  EXPECT_EQ(errorOf("1 2"), "JSON at byte 2: expected the end of the text "
                            "after the value, found '2'");
  EXPECT_EQ(errorOf(std::string("{}\0", 3)),
            "JSON at byte 2: expected the end of the text after the value, "
            "found byte 0x00");
  EXPECT_TRUE(json::parse("{}   \n")); // whitespace is not garbage
}

TEST(Json, NestingIsLimited) {
  auto nested = [](int depth, char open, char close) {
    return std::string(depth, open) + std::string(depth, close);
  };
  EXPECT_TRUE(json::parse(nested(json::kMaxDepth, '[', ']')));
  EXPECT_EQ(errorOf(nested(json::kMaxDepth + 1, '[', ']')),
            "JSON at byte 64: more than 64 nested arrays or objects");
  std::string objects;
  for (int k = 0; k < json::kMaxDepth; ++k)
    objects += "{\"k\":";
  EXPECT_TRUE(json::parse(objects + "1" + std::string(json::kMaxDepth, '}')));
  EXPECT_FALSE(json::parse(objects + "{}" + std::string(json::kMaxDepth, '}')));
  // A nesting bomb fails fast instead of exhausting the stack.
  EXPECT_EQ(errorOf(std::string(1 << 20, '[')),
            "JSON at byte 64: more than 64 nested arrays or objects");
}

TEST(Json, WriterIsCompactAndKeepsOrder) {
  json::Value v = json::Value::object(
      {{"z", json::Value::integer(-3)},
       {"a", json::Value::array({json::Value(), json::Value::boolean(true),
                                 json::Value::boolean(false)})},
       {"m", json::Value::object({})}});
  EXPECT_EQ(json::write(v), R"({"z":-3,"a":[null,true,false],"m":{}})");
}

TEST(Json, WriterUsesMinimalEscapes) {
  std::string s = "q\" b\\ / \b\f\n\r\t \x01\x1f\x7f caf\xc3\xa9";
  EXPECT_EQ(json::write(json::Value::string(s)),
            "\"q\\\" b\\\\ / \\b\\f\\n\\r\\t \\u0001\\u001f\x7f caf\xc3\xa9\"");
  EXPECT_EQ(json::write(json::Value::string(std::string("\0", 1))),
            "\"\\u0000\"");
}

TEST(Json, WriterNumbersAreShortestAndKeepTheirKind) {
  auto text = [](double d) { return json::write(json::Value::number(d)); };
  EXPECT_EQ(text(0.1), "0.1");
  EXPECT_EQ(text(35.0), "35.0");
  EXPECT_EQ(text(-0.0), "-0.0");
  EXPECT_EQ(text(1e300), "1e+300");
  EXPECT_EQ(text(1e-7), "1e-07");
  EXPECT_EQ(text(std::nan("")), "null");
  EXPECT_EQ(text(HUGE_VAL), "null");
  EXPECT_EQ(json::write(json::Value::integer(INT64_MIN)),
            "-9223372036854775808");
  auto back = json::parse(text(35.0));
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->isInteger());
}

TEST(Json, WriterRoundTrips) {
  std::string text =
      R"({"k":"line\nquote\"\u0001","n":[1,-2,0.5,1e-07],"o":{"":[]},)"
      "\"u\":\"\xe2\x82\xac\"}";
  auto v = json::parse(text);
  ASSERT_TRUE(v) << v.getStatus().message();
  EXPECT_EQ(json::write(*v), text);
  auto again = json::parse(json::write(*v));
  ASSERT_TRUE(again);
  EXPECT_EQ(json::write(*again), text);
}

TEST(Json, DescribeNamesEveryKind) {
  EXPECT_EQ(json::describe(json::Value::Kind::Null), "null");
  EXPECT_EQ(json::describe(json::Value::Kind::Integer), "an integer");
  EXPECT_EQ(json::describe(json::Value::Kind::Object), "an object");
}

} // namespace
