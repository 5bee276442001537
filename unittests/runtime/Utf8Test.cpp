//===- Utf8Test.cpp - UTF-8 validity --------------------------------------===//

#include "runtime/Utf8.h"

#include <gtest/gtest.h>

using namespace ponder;

namespace {

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain ascii\n"));
  // 2-, 3- and 4-byte sequences at the edges of the table's ranges.
  EXPECT_TRUE(isValidUtf8("\xc2\x80 \xc3\xa9 \xdf\xbf"));
  EXPECT_TRUE(
      isValidUtf8("\xe0\xa0\x80 \xe2\x82\xac \xed\x9f\xbf \xef\xbf\xbf"));
  EXPECT_TRUE(isValidUtf8("\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"));
  EXPECT_TRUE(isValidUtf8(std::string_view("a\0b", 3)));
}

TEST(Utf8, RefusesIllFormedText) {
  for (const char *bad : {
           "\xc0\xaf",         // overlong '/'
           "\xc1\xbf",         // overlong
           "\xe0\x80\x80",     // overlong 3-byte
           "\xf0\x80\x80\x80", // overlong 4-byte
           "\xed\xa0\x80",     // a UTF-16 surrogate
           "\xf4\x90\x80\x80", // above U+10FFFF
           "\xf5\x80\x80\x80", // no such lead byte
           "\xe2\x82",         // truncated
           "\xc3",             // truncated at the end
           "\x80",             // a lone continuation byte
           "\xe2\x28\xa1",     // a bad second byte
           "\xe2\x82\x28",     // a bad third byte
           "\xff",
       })
    EXPECT_FALSE(isValidUtf8(std::string("ok ") + bad)) << bad;
}

} // namespace
