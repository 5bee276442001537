//===- CorpusTest.cpp - Tokenizers, token caches and corpus windows -------===//
//
// A SentencePiece tokenizer trained by ponder gives text back exactly; a
// corpus is tokenized once into a cache that is rebuilt when the corpus or
// the tokenizer changes; training windows lie inside the training ids, are
// the same for the same seed, and never overlap the held-out ids.
//
//===----------------------------------------------------------------------===//

#include "training/Corpus.h"
#include "training/SentencePiece.h"
#include "unittests/EnglishLike.h"
#include "unittests/TempDirTest.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

using namespace ponder;

namespace {

class CorpusTest : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::ofstream(path("corpus.txt")) << englishLike(1500);
    TokenizerTraining t;
    t.corpus = path("corpus.txt");
    t.output = path("tok.model");
    t.vocabSize = 300;
    Status s = trainSentencePiece(t);
    ASSERT_TRUE(s) << s.message();
    StatusOr<Vocabulary> v = Vocabulary::sentencePiece(path("tok.model"));
    ASSERT_TRUE(v) << v.getStatus().message();
    vocab = *v;
  }
  std::optional<Vocabulary> vocab;
};

TEST_F(CorpusTest, TokenizerGivesTextBack) {
  EXPECT_EQ(vocab->size(), 300);
  EXPECT_EQ(vocab->bos(), 1);
  EXPECT_EQ(vocab->eos(), 2);
  for (std::string text :
       {std::string("A banker lends  the umbrella.\n\t-- Mark Twain\n"),
        std::string("caf\xc3\xa9 \xf0\x9f\x99\x82 unseen W0rds 12345\r\n"),
        std::string("  leading and trailing  ")}) {
    std::vector<int32_t> ids;
    std::string error;
    ASSERT_TRUE(vocab->encode(text, ids, error)) << error;
    EXPECT_EQ(vocab->decode(ids, 300, false), text);
    int64_t bytes = 0;
    for (int32_t id : ids) {
      EXPECT_GE(id, 0);
      EXPECT_LT(id, 300);
      bytes += vocab->byteLength(id);
    }
    EXPECT_EQ(bytes, int64_t(text.size())) << text;
  }
  // Pieces are longer than bytes: the tokenizer compresses its corpus,
  // though 300 pieces leave only 41 beyond the bytes and specials.
  std::vector<int32_t> ids;
  std::string error, sample = englishLike(50);
  vocab->encode(sample, ids, error);
  EXPECT_LT(ids.size() * 10, sample.size() * 9);
}

TEST_F(CorpusTest, ThoughtsAndTheSameTokenizerElsewhere) {
  std::vector<int32_t> ids;
  std::string error;
  vocab->encode("The cat", ids, error);
  ids.insert(ids.begin() + 1, 300 + 3); // think id 3 of a model with Vv 300
  EXPECT_EQ(vocab->decode(ids, 300, true).find("<t3>"),
            vocab->decode({ids[0]}, 300, false).size());
  EXPECT_EQ(vocab->decode(ids, 300, false), "The cat");
  std::filesystem::copy_file(path("tok.model"), path("copy.model"));
  EXPECT_EQ(*Vocabulary::sentencePiece(path("copy.model")), *vocab);
  EXPECT_NE(Vocabulary::bytes(), *vocab);
}

TEST_F(CorpusTest, BadTokenizerFilesAreOneLine) {
  std::ofstream(path("junk.model")) << "not a model";
  EXPECT_EQ(Vocabulary::sentencePiece(path("junk.model")).getStatus().message(),
            path("junk.model") + ": not a SentencePiece model file");
  EXPECT_EQ(Vocabulary::sentencePiece(path("none.model")).getStatus().message(),
            path("none.model") + ": no such tokenizer file");
  TokenizerTraining t;
  t.corpus = path("corpus.txt");
  t.output = path("big.model");
  t.vocabSize = 100000;
  Status s = trainSentencePiece(t);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("Vocabulary size too high"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path("big.model")));
}

TEST_F(CorpusTest, CacheIsBuiltOnceAndRebuiltOnChange) {
  auto first = TokenFile::open(path("corpus.txt"), *vocab);
  ASSERT_TRUE(first) << first.getStatus().message();
  EXPECT_TRUE((*first)->built());
  EXPECT_EQ((*first)->cachePath(), path("corpus.txt.ids"));
  std::vector<int32_t> expected;
  std::string error;
  vocab->encode(englishLike(1500), expected, error);
  ASSERT_EQ((*first)->size(), int64_t(expected.size()));
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), (*first)->ids()));

  auto again = TokenFile::open(path("corpus.txt"), *vocab);
  ASSERT_TRUE(again);
  EXPECT_FALSE((*again)->built());

  auto bytes = TokenFile::open(path("corpus.txt"), Vocabulary::bytes());
  ASSERT_TRUE(bytes);
  EXPECT_TRUE((*bytes)->built()); // another tokenizer
  EXPECT_EQ((*bytes)->size(), int64_t(englishLike(1500).size()));

  std::ofstream(path("corpus.txt"), std::ios::app) << "One more line.\n";
  auto changed = TokenFile::open(path("corpus.txt"), Vocabulary::bytes());
  ASSERT_TRUE(changed);
  EXPECT_TRUE((*changed)->built());
  EXPECT_EQ((*changed)->size(), (*bytes)->size() + 15);
}

TEST_F(CorpusTest, BadCorporaAreOneLine) {
  auto message = [&](const std::string &file) {
    return TokenFile::open(path(file), *vocab).getStatus().message();
  };
  EXPECT_EQ(message("none.txt"), path("none.txt") + ": no such text file");
  std::ofstream(path("empty.txt")).close();
  EXPECT_EQ(message("empty.txt"), path("empty.txt") + ": empty text file");
  std::ofstream(path("bad.txt")) << "fine\nalso fine\nbad \xff\xfe\n";
  EXPECT_EQ(message("bad.txt"), path("bad.txt") + ":3: not UTF-8 text");
  EXPECT_FALSE(std::filesystem::exists(path("bad.txt.ids")));
  std::filesystem::create_directory(path("dir"));
  EXPECT_EQ(message("dir"), path("dir") + ": not a regular file");
}

TEST_F(CorpusTest, WindowsStayInsideTheirSplits) {
  auto task = CorpusTask::create(path("corpus.txt"), "", *vocab, 300, 33);
  ASSERT_TRUE(task) << task.getStatus().message();
  const CorpusTask &t = **task;
  EXPECT_EQ(t.maxLength(), 33);
  int64_t total = t.trainIds() + t.heldOutIds();
  EXPECT_EQ(t.trainIds(), total - total / 10);
  std::set<int64_t> seen;
  for (uint64_t i = 0; i < 2000; ++i) {
    int64_t at = t.trainOffset(5, i);
    EXPECT_GE(at, 0);
    EXPECT_LE(at + 32, t.trainIds()); // inside, never into held-out ids
    EXPECT_EQ(at, t.trainOffset(5, i));
    seen.insert(at);
  }
  EXPECT_GT(seen.size(), 1000u); // spread over the corpus
  int differ = 0;
  for (uint64_t i = 0; i < 100; ++i)
    differ += t.trainOffset(5, i) != t.trainOffset(6, i);
  EXPECT_GT(differ, 90);
  for (int64_t i = 0; i < t.heldOutWindows(); ++i) {
    EXPECT_EQ(t.heldOutOffset(uint64_t(i)), t.trainIds() + 32 * i);
    Example e = t.example(Split::HeldOut, 0, uint64_t(i));
    ASSERT_EQ(e.ids.size(), 33u);
    EXPECT_EQ(e.ids[0], vocab->bos());
    EXPECT_EQ(e.targetWeight[0], 0.0f);
    EXPECT_EQ(e.targetWeight[1], 1.0f);
  }
  EXPECT_EQ(t.heldOutWindows(), t.heldOutIds() / 32);
  Example a = t.example(Split::Train, 3, 17),
          b = t.example(Split::Train, 3, 17);
  EXPECT_EQ(a.ids, b.ids);
}

TEST_F(CorpusTest, ValidationFileAndWindowChecks) {
  std::ofstream(path("val.txt")) << englishLike(40);
  auto task =
      CorpusTask::create(path("corpus.txt"), path("val.txt"), *vocab, 300, 17);
  ASSERT_TRUE(task) << task.getStatus().message();
  EXPECT_EQ((*task)->heldOutOffset(0), 0); // the validation file's ids
  auto whole = TokenFile::open(path("corpus.txt"), *vocab);
  EXPECT_EQ((*task)->trainIds(), (*whole)->size());

  auto message = [&](int64_t verbal, int64_t maxSeq, int64_t window,
                     const std::string &val = "") {
    return CorpusTask::create(path("corpus.txt"), val, *vocab, verbal, maxSeq,
                              window)
        .getStatus()
        .message();
  };
  EXPECT_EQ(message(300, 17, 17), "--window 17: longer than the model's "
                                  "max_seq = 17 less one for <bos>");
  EXPECT_NE(message(299, 17, 0).find("needs verbal_vocab >= 300"),
            std::string::npos);
  std::ofstream(path("tiny.txt")) << "The cat.\n";
  EXPECT_NE(message(300, 64, 0, path("tiny.txt"))
                .find("held-out ids, too few for one of the windows of 63"),
            std::string::npos);
}

} // namespace
