//===- TasksTest.cpp - Built-in training tasks ----------------------------===//

#include "runtime/Tasks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

using namespace ponder;

namespace {

std::unique_ptr<Task> make(const std::string &spec, int64_t vocab = 258,
                           int64_t maxSeq = 128) {
  auto task = Task::create(spec, vocab, maxSeq);
  EXPECT_TRUE(task) << task.getStatus().message();
  return task ? std::move(*task) : nullptr;
}

std::string symbols(const Task &task, const Example &e) {
  return task.vocabulary().decode(e.ids, 1000, false);
}

TEST(Tasks, ParityExamplesAreCorrect) {
  auto task = make("parity:8");
  for (uint64_t i = 0; i < 200; ++i) {
    Example e = task->example(Split::Train, 3, i);
    ASSERT_EQ(e.ids.size(), 12u);
    std::string text = symbols(*task, e);
    ASSERT_EQ(text.substr(0, 5), "<bos>");
    int parity = 0;
    for (int b = 0; b < 8; ++b)
      parity ^= text[5 + b] - '0';
    EXPECT_EQ(text.substr(13), "|" + std::to_string(parity) + "<eos>");
    // Only the answer and <eos> are targets; only they are scored.
    for (size_t p = 0; p < e.ids.size(); ++p) {
      EXPECT_EQ(e.targetWeight[p], p >= 10 ? 1.0f : 0.0f);
      EXPECT_EQ(e.scored[p], p >= 10 ? 1 : 0);
    }
  }
}

TEST(Tasks, AdditionAndReverseExamplesAreCorrect) {
  auto add = make("addition:3");
  for (uint64_t i = 0; i < 100; ++i) {
    std::string t = symbols(*add, add->example(Split::Train, 1, i));
    int a = std::stoi(t.substr(5, 3)), b = std::stoi(t.substr(9, 3));
    EXPECT_EQ(t.substr(8, 1), "+");
    EXPECT_EQ(t.substr(12, 1), "=");
    EXPECT_EQ(std::stoi(t.substr(13, 4)), a + b) << t;
    EXPECT_EQ(t.substr(17), "<eos>");
  }
  auto rev = make("reverse:5");
  for (uint64_t i = 0; i < 100; ++i) {
    std::string t = symbols(*rev, rev->example(Split::HeldOut, 1, i));
    std::string s = t.substr(5, 5);
    EXPECT_EQ(t.substr(10), "|" + std::string(s.rbegin(), s.rend()) + "<eos>");
  }
}

TEST(Tasks, ExamplesAreDeterministicAndSplitsDisjoint) {
  for (const char *spec : {"parity:8", "addition:2", "reverse:4"}) {
    auto task = make(spec);
    EXPECT_EQ(task->example(Split::Train, 7, 42).ids,
              task->example(Split::Train, 7, 42).ids);
    std::set<std::string> train, held;
    for (uint64_t i = 0; i < 2000; ++i) {
      std::string t = symbols(*task, task->example(Split::Train, 7, i));
      train.insert(t.substr(0, t.find_first_of("|=")));
      t = symbols(*task, task->example(Split::HeldOut, 7, i));
      held.insert(t.substr(0, t.find_first_of("|=")));
    }
    EXPECT_GT(train.size(), 10u) << spec;
    EXPECT_GT(held.size(), 5u) << spec;
    for (const std::string &h : held)
      EXPECT_FALSE(train.count(h)) << spec << ": " << h << " in both splits";
  }
}

// Both parities appear among the held-out parity examples (a plain FNV-1a
// split would put only one of them there).
TEST(Tasks, HeldOutParityHasBothAnswers) {
  auto task = make("parity:8");
  std::set<int32_t> answers;
  for (uint64_t i = 0; i < 200; ++i)
    answers.insert(task->example(Split::HeldOut, 0, i).ids[10]);
  EXPECT_EQ(answers.size(), 2u);
}

TEST(Tasks, BatchesArePaddedAndFollowTheStep) {
  auto task = make("addition:2");
  TaskBatch a = trainBatch(*task, 5, 3, 4), b = trainBatch(*task, 5, 3, 4);
  TaskBatch c = trainBatch(*task, 5, 4, 4);
  ASSERT_EQ(a.ids.shape(), (std::vector<int64_t>{4, 11}));
  EXPECT_EQ(0, std::memcmp(a.ids.bytes(), b.ids.bytes(), a.ids.byteSize()));
  EXPECT_NE(0, std::memcmp(a.ids.bytes(), c.ids.bytes(), a.ids.byteSize()));
  for (int64_t r = 0; r < 4; ++r)
    EXPECT_EQ(a.lengths.data<int32_t>()[r], 11);
  TaskBatch text = heldOutBatch(*make("parity:4"), 0, 0, 3);
  EXPECT_EQ(text.scored.data<int32_t>()[6], 1);
}

TEST(Tasks, OracleMixKnowsItsOptimalLoss) {
  auto task = make("oracle-mix");
  ASSERT_TRUE(task->optimalLoss());
  // Monte Carlo: the Bayes predictor's CE over the generator's own draws.
  double total = 0;
  int64_t targets = 0;
  for (uint64_t i = 0; i < 4000; ++i) {
    Example e = task->example(Split::Train, 2, i);
    for (size_t p = 1; p < e.ids.size(); ++p) {
      if (e.targetWeight[p] == 0)
        continue;
      ++targets;
      if (!e.scored[p]) // a coin: -log P(observed)
        total -= std::log(e.ids[p] == 1 ? 0.75 : 0.25);
    }
  }
  EXPECT_NEAR(total / double(targets), *task->optimalLoss(), 0.01);
  EXPECT_GT(*task->optimalLoss(), 0.0);
}

TEST(Tasks, TextWindowsComeFromTheFile) {
  std::string path = ::testing::TempDir() + "/tasks_text.txt";
  std::string content;
  for (int i = 0; i < 400; ++i)
    content += "line " + std::to_string(i) + "\n";
  std::ofstream(path) << content;
  auto task = make("text:" + path, 258, 17);
  Example e = task->example(Split::Train, 0, 9);
  ASSERT_EQ(e.ids.size(), 17u);
  EXPECT_EQ(e.ids[0], 256);
  std::string window(e.ids.begin() + 1, e.ids.end());
  size_t at = content.find(window);
  ASSERT_NE(at, std::string::npos);
  EXPECT_LT(at + window.size(), content.size() - content.size() / 10 + 1);
  Example h = task->example(Split::HeldOut, 0, 9);
  std::string heldWindow(h.ids.begin() + 1, h.ids.end());
  EXPECT_GE(content.find(heldWindow), content.size() - content.size() / 10);
}

TEST(Tasks, BadSpecsAreOneLine) {
  auto error = [](const std::string &spec, int64_t vocab, int64_t maxSeq) {
    auto t = Task::create(spec, vocab, maxSeq);
    EXPECT_FALSE(t) << spec;
    return t ? std::string() : t.getStatus().message();
  };
  EXPECT_EQ(error("sorting", 258, 64),
            "unknown task 'sorting' (parity[:BITS], addition[:DIGITS], "
            "reverse[:LENGTH], oracle-mix, text:FILE)");
  EXPECT_EQ(error("parity:x", 258, 64),
            "task 'parity:x': expected an integer in [1, 64] after ':', got "
            "'x'");
  EXPECT_EQ(error("parity:0", 258, 64),
            "task 'parity:0': expected an integer in [1, 64] after ':', got "
            "'0'");
  EXPECT_EQ(error("addition:2", 10, 64),
            "task 'addition:2' needs 16 verbal ids, the model has "
            "verbal_vocab = 10");
  EXPECT_EQ(error("parity:40", 6, 32),
            "task 'parity:40': examples need 44 positions, the model has "
            "max_seq = 32");
  std::string missing = ::testing::TempDir() + "/no_such_text.txt";
  EXPECT_EQ(error("text:" + missing, 258, 64),
            missing + ": cannot read the text file");
  std::string small = ::testing::TempDir() + "/small_text.txt";
  std::ofstream(small) << "tiny";
  EXPECT_EQ(error("text:" + small, 258, 64),
            small + ": 4 bytes; text needs at least 10 windows of 63 bytes "
                    "(max_seq - 1) so that the held-out 10% holds one");
}

} // namespace
