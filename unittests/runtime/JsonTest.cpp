//===- JsonTest.cpp - The runtime's JSON reader and writer ----------------===//

#include "runtime/Json.h"

#include <gtest/gtest.h>

using namespace ponder;

namespace {

TEST(Json, ParsesAndKeepsOrder) {
  auto v =
      json::parse(R"( {"b": [1, -2, 3.5e1], "a": {"x": null, "y": true}} )");
  ASSERT_TRUE(v) << v.getStatus().message();
  ASSERT_EQ(v->members().size(), 2u);
  EXPECT_EQ(v->members()[0].first, "b");
  const json::Value *b = v->find("b");
  ASSERT_TRUE(b && b->isArray());
  EXPECT_EQ(b->items()[1].asInteger(), -2);
  EXPECT_FALSE(b->items()[2].isInteger());
  EXPECT_EQ(b->items()[2].asNumber(), 35.0);
  EXPECT_TRUE(v->find("a")->find("y")->asBool());
}

TEST(Json, StringEscapesAndUnicode) {
  auto v = json::parse(R"("a\"b\\c\n\u00e9\ud83d\ude00")");
  ASSERT_TRUE(v) << v.getStatus().message();
  EXPECT_EQ(v->asString(), "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(Json, WriterRoundTrips) {
  std::string text = R"({"k":"line\nquote\"","n":[1,2],"o":{}})";
  auto v = json::parse(text);
  ASSERT_TRUE(v);
  EXPECT_EQ(json::write(*v), text);
}

TEST(Json, ErrorsNameTheByteOffset) {
  auto check = [](std::string_view text, const std::string &expected) {
    auto v = json::parse(text);
    ASSERT_FALSE(v) << text;
    EXPECT_EQ(v.getStatus().message(), expected) << text;
  };
  check("{\"a\": 1,}", "JSON at byte 8: expected a string key in an object");
  check("[1 2]", "JSON at byte 3: expected ',' or ']' in an array");
  check("{} x", "JSON at byte 3: trailing characters after the JSON value");
  check("\"abc", "JSON at byte 4: unterminated string");
  check("99999999999999999999",
        "JSON at byte 0: integer 99999999999999999999 does not fit in 64 "
        "bits");
  check("{\"a\":1,\"a\":2}", "JSON at byte 10: duplicate key \"a\"");
  check("\"\\ud800\"", "JSON at byte 7: unpaired surrogate in \\u escape");
}

TEST(Json, NestingIsLimited) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  auto v = json::parse(deep);
  ASSERT_FALSE(v);
  EXPECT_NE(v.getStatus().message().find("nesting deeper than 64"),
            std::string::npos);
  std::string ok(60, '[');
  ok += std::string(60, ']');
  EXPECT_TRUE(json::parse(ok));
}

} // namespace
