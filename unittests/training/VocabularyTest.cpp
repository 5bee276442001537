//===- VocabularyTest.cpp - Text <-> verbal ids ---------------------------===//

#include "training/Vocabulary.h"

#include <gtest/gtest.h>

using namespace ponder;

namespace {

TEST(Vocabulary, BytesRoundTripUtf8) {
  Vocabulary v = Vocabulary::bytes();
  std::vector<int32_t> ids;
  std::string error;
  ASSERT_TRUE(v.encode("h\xc3\xa9!", ids, error)); // "hé!"
  EXPECT_EQ(ids, (std::vector<int32_t>{'h', 0xc3, 0xa9, '!'}));
  EXPECT_EQ(v.decode(ids, 300, false), "h\xc3\xa9!");
  EXPECT_EQ(v.size(), 258);
  EXPECT_EQ(v.bos(), 256);
  EXPECT_EQ(v.eos(), 257);
}

TEST(Vocabulary, AdditionTaskLongestMatch) {
  Vocabulary v = *Vocabulary::task("addition");
  std::vector<int32_t> ids;
  std::string error;
  ASSERT_TRUE(v.encode("<bos>12+34=46<eos>", ids, error)) << error;
  EXPECT_EQ(ids, (std::vector<int32_t>{12, 1, 2, 10, 3, 4, 11, 4, 6, 13}));
  EXPECT_EQ(v.decode(ids, 16, false), "<bos>12+34=46<eos>");
  EXPECT_EQ(v.bos(), 12);
  EXPECT_EQ(v.eos(), 13);
}

TEST(Vocabulary, UnknownCharacterIsOneClearError) {
  Vocabulary v = *Vocabulary::task("parity");
  std::vector<int32_t> ids;
  std::string error;
  EXPECT_FALSE(v.encode("01x1", ids, error));
  EXPECT_EQ(error, "byte 2: 'x' is not in the vocabulary");
}

TEST(Vocabulary, ThinkTokensShownOnlyWhenAsked) {
  Vocabulary v = *Vocabulary::task("addition");
  std::vector<int32_t> ids = {1, 16, 19, 2}; // '1', think 0, think 3, '2'
  EXPECT_EQ(v.decode(ids, 16, /*showThoughts=*/false), "12");
  EXPECT_EQ(v.decode(ids, 16, /*showThoughts=*/true), "1<t0><t3>2");
}

// Checkpoints and examples/models/*.toml depend on these ids: they never
// change.
TEST(Vocabulary, TaskVocabulariesKeepTheirIds) {
  auto symbolsOf = [](std::string_view name) {
    Vocabulary v = *Vocabulary::task(name);
    std::vector<std::string> symbols;
    for (int32_t id = 0; id < v.size(); ++id)
      symbols.push_back(v.decode({id}, v.size(), false));
    return symbols;
  };
  using Symbols = std::vector<std::string>;
  EXPECT_EQ(symbolsOf("parity"),
            (Symbols{"0", "1", "<bos>", "<eos>", "|", "<pad>"}));
  EXPECT_EQ(symbolsOf("addition"),
            (Symbols{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "=",
                     "<bos>", "<eos>", "<pad>", "|"}));
  EXPECT_EQ(symbolsOf("reverse"),
            (Symbols{"a", "b", "c", "d", "e", "f", "g", "h", "<bos>", "<eos>",
                     "|", "<pad>"}));
  EXPECT_EQ(symbolsOf("oracle-mix"),
            (Symbols{"0", "1", "<bos>", "<eos>", "<pad>"}));
  EXPECT_EQ(symbolsOf("multiplication"),
            (Symbols{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "=",
                     "<bos>", "<eos>", "<pad>"}));
  EXPECT_EQ(
      symbolsOf("permutations"),
      (Symbols{"0", "1", "2", "3", "a", "b", "c", "d",     "e",     "f",    "g",
               "h", "i", "j", "k", "l", "m", "n", "o",     "p",     "q",    "r",
               "s", "t", "u", "v", "w", "x", "=", "<bos>", "<eos>", "<pad>"}));
  Vocabulary permutations = *Vocabulary::task("permutations");
  EXPECT_EQ(permutations.bos(), 29);
  EXPECT_EQ(permutations.eos(), 30);
  Vocabulary parity = *Vocabulary::task("parity");
  EXPECT_EQ(parity.bos(), 2);
  EXPECT_EQ(parity.eos(), 3);
}

// S_5's elements are two letters each, aa (01234) .. ep (43210), ids 5..124;
// no symbol is one letter, so printed text reads back in pairs.
TEST(Vocabulary, Permutations5NamesTheElementsOfS5) {
  Vocabulary v = *Vocabulary::task("permutations5");
  std::vector<std::string> symbols = {"0", "1", "2", "3", "4"};
  for (char first = 'a'; first <= 'e'; ++first)
    for (char second = 'a'; second <= 'z' && symbols.size() < 125; ++second)
      symbols.push_back(std::string{first, second});
  for (const char *s : {"=", "<bos>", "<eos>", "<pad>"})
    symbols.push_back(s);
  ASSERT_EQ(v.size(), 129);
  for (int32_t id = 0; id < v.size(); ++id) {
    EXPECT_EQ(v.decode({id}, v.size(), false), symbols[size_t(id)]);
    std::vector<int32_t> ids;
    std::string error;
    ASSERT_TRUE(v.encode(symbols[size_t(id)], ids, error)) << error;
    EXPECT_EQ(ids, (std::vector<int32_t>{id}));
  }
  EXPECT_EQ(symbols[5], "aa");
  EXPECT_EQ(symbols[124], "ep");
  EXPECT_EQ(v.bos(), 126);
  EXPECT_EQ(v.eos(), 127);
  std::vector<int32_t> ids;
  std::string error;
  ASSERT_TRUE(v.encode("<bos>aaepbz=01234<eos>", ids, error)) << error;
  EXPECT_EQ(ids,
            (std::vector<int32_t>{126, 5, 124, 56, 125, 0, 1, 2, 3, 4, 127}));
  EXPECT_EQ(v.decode(ids, 129, false), "<bos>aaepbz=01234<eos>");
  // Half an element, or one past ep, is not a symbol.
  ids.clear();
  EXPECT_FALSE(v.encode("aab=", ids, error));
  EXPECT_EQ(error, "byte 2: 'b' is not in the vocabulary");
  EXPECT_FALSE(v.encode("eq", ids, error));
  EXPECT_EQ(error, "byte 0: 'e' is not in the vocabulary");
  EXPECT_FALSE(v.encode("5", ids, error));
}

TEST(Vocabulary, UnknownTaskIsNullopt) {
  EXPECT_FALSE(Vocabulary::task("sorting").has_value());
}

} // namespace
