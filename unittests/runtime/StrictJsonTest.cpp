//===- StrictJsonTest.cpp - Strict JSON reading on nlohmann::json ---------===//
//
// One test per rule json::parse adds to nlohmann's parser (each fails
// without it), the messages nlohmann's errors become, and the typed checks
// that name the key at fault.
//
//===----------------------------------------------------------------------===//

#include "runtime/StrictJson.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

using namespace ponder;
using json::Type;

namespace {

/// The error message of parsing `text`, which must fail.
std::string errorOf(std::string_view text) {
  auto v = json::parse(text);
  EXPECT_FALSE(v) << "accepted: " << text;
  return v ? "" : v.getStatus().message();
}

TEST(Json, ParsesAndKeepsKeyOrder) {
  auto v =
      json::parse(R"( {"b": [1, -2, 3.5e1], "a": {"x": null, "y": true}} )");
  ASSERT_TRUE(v) << v.getStatus().message();
  std::vector<std::string> keys;
  for (const auto &member : v->items())
    keys.push_back(member.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "a"}));
  const json::Value &b = v->at("b");
  EXPECT_EQ(b[1].get<int64_t>(), -2);
  EXPECT_FALSE(b[2].is_number_integer());
  EXPECT_EQ(b[2].get<double>(), 35.0);
  EXPECT_TRUE(v->at("a").at("x").is_null());
  EXPECT_TRUE(v->at("a").at("y").get<bool>());
  EXPECT_EQ(json::parse(R"("\u0041\u00e9\ud83d\ude00")")->get<std::string>(),
            "A\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(Json, OneValueAndNoTrailingText) {
  EXPECT_EQ(errorOf("{} x"), "JSON at byte 3: expected the end of the text "
                             "after the value, found 'x'");
  EXPECT_EQ(errorOf("[1]]"), "JSON at byte 3: expected the end of the text "
                             "after the value, found ']'");
  EXPECT_EQ(errorOf("1 2"), "JSON at byte 2: expected the end of the text "
                            "after the value, found '2'");
  EXPECT_TRUE(json::parse("{}   \n")); // whitespace is not trailing text
}

// nlohmann stops at a NUL byte as at the end of the text.
TEST(Json, NulByteIsNotTheEnd) {
  EXPECT_EQ(errorOf(std::string("{}\0", 3)),
            "JSON at byte 2: expected the end of the text after the value, "
            "found byte 0x00");
  EXPECT_EQ(errorOf(std::string("{} \0 x", 6)),
            "JSON at byte 3: expected the end of the text after the value, "
            "found byte 0x00");
  EXPECT_EQ(errorOf(std::string("[\0]", 3)),
            "JSON at byte 1: expected a value, found byte 0x00");
}

// nlohmann skips a UTF-8 byte-order mark; RFC 8259 lets a parser refuse it.
TEST(Json, ByteOrderMarkIsRefused) {
  EXPECT_EQ(errorOf("\xEF\xBB\xBF{}"),
            "JSON at byte 0: expected a value, found byte 0xEF");
}

// nlohmann keeps the last of two equal keys.
TEST(Json, DuplicateKeysAreRefused) {
  EXPECT_EQ(errorOf(R"({"a":1,"a":2})"), "JSON at byte 7: duplicate key \"a\"");
  EXPECT_EQ(errorOf(R"({"x": {"a": [1, 2],  "a": {}}})"),
            "JSON at byte 21: duplicate key \"a\"");
  // Equal once the escapes are decoded.
  EXPECT_EQ(errorOf(R"({"a":1, "\u0061":2})"),
            "JSON at byte 8: duplicate key \"a\"");
  // The same key in two objects is fine.
  EXPECT_TRUE(json::parse(R"({"a": {"a": 1}, "b": {"a": 2}})"));
}

// nlohmann reads an integer beyond uint64 as a double, one beyond int64 as
// unsigned.
TEST(Json, IntegersAreExactInt64) {
  auto max = json::parse("9223372036854775807");
  ASSERT_TRUE(max);
  EXPECT_TRUE(max->is_number_integer());
  EXPECT_EQ(max->get<int64_t>(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(json::parse("-9223372036854775808")->get<int64_t>(),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(json::parse("-0")->get<int64_t>(), 0);
  EXPECT_EQ(errorOf("9223372036854775808"),
            "JSON at byte 0: integer 9223372036854775808 does not fit in 64 "
            "bits");
  EXPECT_EQ(errorOf("[1, 18446744073709551616]"),
            "JSON at byte 4: integer 18446744073709551616 does not fit in 64 "
            "bits");
  EXPECT_EQ(errorOf("{\"n\": -9223372036854775809}"),
            "JSON at byte 6: integer -9223372036854775809 does not fit in 64 "
            "bits");
  // A fraction or an exponent makes a double, which may be large.
  EXPECT_EQ(json::parse("9223372036854775808.0")->get<double>(), 0x1p63);
  EXPECT_EQ(json::parse("1e3")->get<double>(), 1000.0);
  EXPECT_EQ(errorOf("1e999"),
            "JSON at byte 0: number overflow parsing '1e999'");
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
  // A nesting bomb stops at the limit instead of building a million arrays.
  EXPECT_EQ(errorOf(std::string(1 << 20, '[')),
            "JSON at byte 64: more than 64 nested arrays or objects");
}

TEST(Json, StringsMustBeValidUtf8) {
  // Each names the first byte that cannot continue a well-formed sequence.
  for (auto [bad, at] : std::initializer_list<std::pair<const char *, int>>{
           {"\"\xc0\xaf\"", 1},         // overlong '/'
           {"\"\xed\xa0\x80\"", 2},     // a UTF-16 surrogate encoded as UTF-8
           {"\"\xf4\x90\x80\x80\"", 2}, // above U+10FFFF
           {"\"\xe2\x82\"", 3},         // truncated sequence
           {"\"\x80\"", 1},             // a lone continuation byte
           {"\"\xff\"", 1},
       })
    EXPECT_EQ(errorOf(bad), "JSON at byte " + std::to_string(at) +
                                ": invalid UTF-8 in a string");
  EXPECT_EQ(errorOf("{\"\xff\":1}"),
            "JSON at byte 2: invalid UTF-8 in a string");
  EXPECT_EQ(errorOf("[\xc3\xa9]"),
            "JSON at byte 1: expected a value, found byte 0xC3");
  EXPECT_EQ(json::parse("\"caf\xc3\xa9\"")->get<std::string>(), "caf\xc3\xa9");
  EXPECT_EQ(errorOf(R"(["ab\udc00"])"),
            "JSON at byte 9: invalid string: surrogate U+DC00..U+DFFF must "
            "follow U+D800..U+DBFF");
}

TEST(Json, SyntaxErrorsSayWhatWasExpectedWhere) {
  EXPECT_EQ(errorOf(""),
            "JSON at byte 0: expected a value, found the end of the text");
  EXPECT_EQ(errorOf("   "),
            "JSON at byte 3: expected a value, found the end of the text");
  EXPECT_EQ(errorOf("{\"a\":"),
            "JSON at byte 5: expected a value, found the end of the text");
  EXPECT_EQ(errorOf("{\"a\" 123}"),
            "JSON at byte 5: expected ':' after a key, found '1'");
  EXPECT_EQ(errorOf("{1:2}"),
            "JSON at byte 1: expected a string key, found '1'");
  EXPECT_EQ(errorOf("{\"a\":1,}"),
            "JSON at byte 7: expected a string key, found '}'");
  EXPECT_EQ(errorOf("[1 2]"), "JSON at byte 3: expected ',' or ']', found '2'");
  EXPECT_EQ(errorOf("{\"a\":1 \"b\"}"),
            "JSON at byte 7: expected ',' or '}', found '\"'");
  EXPECT_EQ(errorOf("[1,]"), "JSON at byte 3: expected a value, found ']'");
  EXPECT_EQ(errorOf("nul"),
            "JSON at byte 3: expected a value, found the end of the text");
  // The lexer's own complaints, on one line even for a raw newline.
  EXPECT_EQ(errorOf("\"a\nb\""),
            "JSON at byte 2: invalid string: control character U+000A (LF) "
            "must be escaped to \\u000A or \\n");
  EXPECT_EQ(errorOf("\"abc"),
            "JSON at byte 4: invalid string: missing closing quote");
  EXPECT_EQ(errorOf("-"),
            "JSON at byte 1: invalid number; expected digit after '-'");
}

TEST(Json, DescribeNamesEveryKind) {
  auto v = json::parse(R"([null, true, 1, 1.5, "s", [], {}])");
  ASSERT_TRUE(v);
  std::vector<std::string> names;
  for (const json::Value &item : *v)
    names.emplace_back(json::describe(item));
  EXPECT_EQ(names, (std::vector<std::string>{"null", "a boolean", "an integer",
                                             "a number", "a string", "an array",
                                             "an object"}));
  EXPECT_EQ(json::describe(Type::Integer), "an integer");
  EXPECT_EQ(json::describe(Type::Object), "an object");
}

/// The error of checkObject on `text` with the fields of a small
/// descriptor, at path "model".
std::string checkError(std::string_view text) {
  auto v = json::parse(text);
  EXPECT_TRUE(v) << v.getStatus().message();
  Status s = json::checkObject(*v, "model",
                               {{"max_seq", Type::Integer},
                                {"scale", Type::Number, false},
                                {"name", Type::String, false}});
  return s ? "" : s.message();
}

TEST(Json, CheckObjectNamesTheKey) {
  EXPECT_EQ(checkError(R"({"max_seq": 8})"), "");
  EXPECT_EQ(checkError(R"({"max_seq": 8, "scale": 2, "name": "x"})"), "");
  EXPECT_EQ(checkError(R"({"max_seq": "8"})"),
            "key 'model.max_seq': expected an integer, found a string");
  EXPECT_EQ(checkError(R"({"max_seq": 8.0})"),
            "key 'model.max_seq': expected an integer, found a number");
  EXPECT_EQ(checkError(R"({"max_seq": 8, "scale": null})"),
            "key 'model.scale': expected a number, found null");
  EXPECT_EQ(checkError(R"({"max_seq": 8, "max_sequence": 9})"),
            "unknown key 'model.max_sequence' (expected one of: max_seq, "
            "scale, name)");
  EXPECT_EQ(checkError(R"({"name": "x"})"), "missing key 'model.max_seq'");
  EXPECT_EQ(checkError("[]"), "key 'model': expected an object, found an "
                              "array");
  Status root = json::checkObject(*json::parse("1"), "", {});
  EXPECT_EQ(root.message(), "expected an object, found an integer");
}

TEST(Json, CheckArrayNamesTheElement) {
  auto v = json::parse(R"({"shape": [2, -1, 3.5]})");
  ASSERT_TRUE(v);
  EXPECT_TRUE(json::checkArray(v->at("shape"), "shape", Type::Number));
  EXPECT_EQ(json::checkArray(v->at("shape"), "shape", Type::Integer).message(),
            "key 'shape[2]': expected an integer, found a number");
  EXPECT_EQ(json::checkArray(*v, "x", Type::Integer).message(),
            "key 'x': expected an array, found an object");
  EXPECT_EQ(json::memberPath("", "entries"), "entries");
  EXPECT_EQ(json::memberPath(json::elementPath("entries", 0), "name"),
            "entries[0].name");
}

} // namespace
