//===- TasksTest.cpp - Built-in training tasks ----------------------------===//

#include "training/Tasks.h"

#include "unittests/TempDirTest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unistd.h>

using namespace ponder;

namespace {

std::unique_ptr<Task> make(const std::string &spec, int64_t vocab = 258,
                           int64_t maxSeq = 128) {
  auto task = Task::create(spec, vocab, maxSeq);
  EXPECT_TRUE(task) << task.getStatus().message();
  return task ? std::move(*task) : nullptr;
}

/// The error of creating `spec`, which must fail.
std::string errorOf(const std::string &spec, int64_t vocab = 258,
                    int64_t maxSeq = 128) {
  auto task = Task::create(spec, vocab, maxSeq);
  EXPECT_FALSE(task) << spec << " was accepted";
  return task ? std::string() : task.getStatus().message();
}

int32_t id(const Task &task, const std::string &symbol) {
  std::vector<int32_t> ids;
  std::string error;
  EXPECT_TRUE(task.vocabulary().encode(symbol, ids, error)) << error;
  EXPECT_EQ(ids.size(), 1u) << symbol;
  return ids.empty() ? -1 : ids[0];
}

/// The prompt of a symbol task's example as text: up to its separator.
std::string promptOf(const Task &task, const Example &e) {
  std::string text = task.vocabulary().decode(e.ids, 1000, false);
  return text.substr(0, text.find_first_of("|=") + 1);
}

/// Checks what every example of a symbol task shares: lengths agree, ids
/// are in the vocabulary, <bos> first and <eos> last, the first
/// `promptLength` tokens have weight 0 and are not scored, the rest have
/// weight 1 and are scored.
void expectWellFormed(const Task &task, const Example &e, size_t promptLength) {
  ASSERT_EQ(e.targetWeight.size(), e.ids.size());
  ASSERT_EQ(e.scored.size(), e.ids.size());
  ASSERT_GT(e.ids.size(), promptLength);
  for (int32_t i : e.ids) {
    EXPECT_GE(i, 0);
    EXPECT_LT(i, task.vocabulary().size());
  }
  EXPECT_EQ(e.ids.front(), task.vocabulary().bos());
  EXPECT_EQ(e.ids.back(), task.vocabulary().eos());
  for (size_t p = 0; p < e.ids.size(); ++p) {
    bool answer = p >= promptLength;
    EXPECT_EQ(e.targetWeight[p], answer ? 1.0f : 0.0f) << "position " << p;
    EXPECT_EQ(e.scored[p], answer ? 1 : 0) << "position " << p;
  }
}

TEST(Tasks, ParityExamplesAreCorrect) {
  auto task = make("parity:8");
  EXPECT_EQ(task->name(), "parity:8");
  EXPECT_EQ(task->maxLength(), 12);
  int32_t zero = id(*task, "0"), one = id(*task, "1"), bar = id(*task, "|");
  for (Split split : {Split::Train, Split::HeldOut}) {
    for (uint64_t i = 0; i < 300; ++i) {
      Example e = task->example(split, 3, i);
      ASSERT_EQ(e.ids.size(), 12u);
      expectWellFormed(*task, e, 10); // <bos> 8 bits |
      int parity = 0;
      for (size_t p = 1; p <= 8; ++p) {
        ASSERT_TRUE(e.ids[p] == zero || e.ids[p] == one);
        parity ^= e.ids[p] == one;
      }
      EXPECT_EQ(e.ids[9], bar);
      EXPECT_EQ(e.ids[10], parity ? one : zero);
    }
  }
}

TEST(Tasks, ParityCurriculumVariesTheLength) {
  auto task = make("parity:2-5");
  EXPECT_EQ(task->name(), "parity:2-5");
  EXPECT_EQ(task->maxLength(), 9);
  int32_t one = id(*task, "1");
  std::set<size_t> lengths;
  for (uint64_t i = 0; i < 300; ++i) {
    Example e = task->example(Split::Train, 0, i);
    size_t bits = e.ids.size() - 4;
    lengths.insert(bits);
    expectWellFormed(*task, e, bits + 2);
    int parity = 0;
    for (size_t p = 1; p <= bits; ++p)
      parity ^= e.ids[p] == one;
    EXPECT_EQ(e.ids[bits + 2] == one, parity == 1);
  }
  EXPECT_EQ(lengths, (std::set<size_t>{2, 3, 4, 5}));
}

/// The number written by digits ids[from, from + count), digits being ids
/// 0..9 (the addition and multiplication vocabularies).
int64_t number(const Example &e, size_t from, size_t count) {
  int64_t n = 0;
  for (size_t p = from; p < from + count; ++p) {
    EXPECT_LT(e.ids[p], 10) << "position " << p;
    n = n * 10 + e.ids[p];
  }
  return n;
}

TEST(Tasks, AdditionExamplesAreCorrect) {
  auto task = make("addition:3");
  EXPECT_EQ(task->maxLength(), 14);
  int32_t plus = id(*task, "+"), equals = id(*task, "=");
  // Digits are ids 0..9 (Vocabulary::task("addition")).
  std::set<int64_t> firstOperands;
  for (Split split : {Split::Train, Split::HeldOut}) {
    for (uint64_t i = 0; i < 300; ++i) {
      Example e = task->example(split, 1, i);
      ASSERT_EQ(e.ids.size(), 14u);  // <bos> aaa + bbb = cccc <eos>
      expectWellFormed(*task, e, 9); // the prompt ends with '='
      EXPECT_EQ(e.ids[4], plus);
      EXPECT_EQ(e.ids[8], equals);
      int64_t a = number(e, 1, 3), b = number(e, 5, 3);
      EXPECT_EQ(number(e, 9, 4), a + b);
      firstOperands.insert(a);
    }
  }
  EXPECT_GT(firstOperands.size(), 200u); // leading zeros included
  EXPECT_LT(*firstOperands.begin(), 100);
}

TEST(Tasks, ReverseExamplesAreCorrect) {
  auto task = make("reverse:5");
  EXPECT_EQ(task->maxLength(), 13);
  int32_t bar = id(*task, "|");
  for (Split split : {Split::Train, Split::HeldOut}) {
    for (uint64_t i = 0; i < 300; ++i) {
      Example e = task->example(split, 1, i);
      ASSERT_EQ(e.ids.size(), 13u);
      expectWellFormed(*task, e, 7); // <bos> 5 letters |
      EXPECT_EQ(e.ids[6], bar);
      for (size_t k = 0; k < 5; ++k) {
        EXPECT_LT(e.ids[1 + k], 8); // letters a..h are ids 0..7
        EXPECT_EQ(e.ids[7 + k], e.ids[5 - k]);
      }
    }
  }
}

TEST(Tasks, MultiplicationExamplesAreCorrect) {
  auto task = make("multiplication:3");
  EXPECT_EQ(task->name(), "multiplication:3");
  EXPECT_EQ(task->maxLength(), 16);
  EXPECT_EQ(task->vocabulary().size(), 15);
  int32_t times = id(*task, "*"), equals = id(*task, "=");
  // Digits are ids 0..9 (Vocabulary::task("multiplication")).
  std::set<int64_t> firstOperands;
  bool shortProduct = false;
  for (Split split : {Split::Train, Split::HeldOut}) {
    for (uint64_t i = 0; i < 300; ++i) {
      Example e = task->example(split, 1, i);
      ASSERT_EQ(e.ids.size(), 16u);  // <bos> aaa * bbb = cccccc <eos>
      expectWellFormed(*task, e, 9); // the prompt ends with '='
      EXPECT_EQ(e.ids[4], times);
      EXPECT_EQ(e.ids[8], equals);
      int64_t a = number(e, 1, 3), b = number(e, 5, 3);
      EXPECT_EQ(number(e, 9, 6), a * b);
      firstOperands.insert(a);
      shortProduct = shortProduct || a * b < 100000;
    }
  }
  EXPECT_GT(firstOperands.size(), 200u); // leading zeros included
  EXPECT_LT(*firstOperands.begin(), 100);
  EXPECT_TRUE(shortProduct); // the product too has leading zeros
  // The default has two digits; four is the most, with 8-digit products.
  EXPECT_EQ(make("multiplication")->name(), "multiplication:2");
  EXPECT_EQ(make("multiplication")->maxLength(), 12);
  auto four = make("multiplication:4");
  EXPECT_EQ(four->maxLength(), 20);
  for (uint64_t i = 0; i < 50; ++i) {
    Example e = four->example(Split::Train, 2, i);
    ASSERT_EQ(e.ids.size(), 20u);
    expectWellFormed(*four, e, 11);
    EXPECT_EQ(number(e, 11, 8), number(e, 1, 4) * number(e, 6, 4));
  }
}

/// The composition of permutations in one-line notation, applying the
/// first one first: result[i] = pK(...p2(p1(i))).
std::string compose(const std::vector<std::string> &ps, size_t n) {
  std::string result;
  for (size_t i = 0; i < n; ++i) {
    size_t x = i;
    for (const std::string &p : ps)
      x = size_t(p[x] - '0');
    result += char('0' + x);
  }
  return result;
}

TEST(Tasks, PermutationsComposeInOrder) {
  // b = 021 then d = 120: 0 -> 0 -> 1, 1 -> 2 -> 0, 2 -> 1 -> 2.
  EXPECT_EQ(compose({"021", "120"}, 3), "102");
  // The other order would give 0 -> 1 -> 2, 1 -> 2 -> 1, 2 -> 0 -> 0.
  EXPECT_EQ(compose({"120", "021"}, 3), "210");
}

TEST(Tasks, PermutationsExamplesAreCorrect) {
  // The letters of S_3 in lexicographic order of the one-line notation.
  const std::vector<std::string> s3 = {"012", "021", "102",
                                       "120", "201", "210"};
  auto task = make("permutations:3:5");
  EXPECT_EQ(task->name(), "permutations:3:5");
  EXPECT_EQ(task->maxLength(), 11);
  EXPECT_EQ(task->vocabulary().size(), 32);
  int32_t equals = id(*task, "=");
  std::set<int32_t> letters;
  std::set<std::string> answers;
  for (Split split : {Split::Train, Split::HeldOut}) {
    for (uint64_t i = 0; i < 300; ++i) {
      Example e = task->example(split, 1, i);
      ASSERT_EQ(e.ids.size(), 11u); // <bos> 5 letters = 3 digits <eos>
      expectWellFormed(*task, e, 7);
      EXPECT_EQ(e.ids[6], equals);
      std::string text = task->vocabulary().decode(e.ids, 1000, false);
      ASSERT_EQ(text.substr(0, 5), "<bos>");
      std::vector<std::string> ps;
      for (size_t p = 1; p <= 5; ++p) {
        ASSERT_GE(e.ids[p], id(*task, "a"));
        ASSERT_LE(e.ids[p], id(*task, "f")); // 6 letters for S_3
        letters.insert(e.ids[p]);
        ps.push_back(s3[size_t(text[4 + p] - 'a')]);
      }
      std::string answer = text.substr(11, 3);
      EXPECT_EQ(answer, compose(ps, 3)) << text;
      for (size_t p = 7; p < 10; ++p)
        EXPECT_LT(e.ids[p], 3); // digits 0..2 are ids 0..2
      answers.insert(answer);
    }
  }
  EXPECT_EQ(letters.size(), 6u);
  EXPECT_EQ(answers.size(), 6u);

  // S_4: 24 letters a..x, in lexicographic order of the one-line notation.
  std::vector<std::string> s4;
  std::string p = "0123";
  do
    s4.push_back(p);
  while (std::next_permutation(p.begin(), p.end()));
  ASSERT_EQ(s4.size(), 24u);
  auto four = make("permutations:4:64", 32, 71);
  EXPECT_EQ(four->maxLength(), 71);
  std::set<char> seen;
  for (uint64_t i = 0; i < 40; ++i) {
    Example e = four->example(Split::HeldOut, 3, i);
    ASSERT_EQ(e.ids.size(), 71u);
    expectWellFormed(*four, e, 66);
    std::string text = four->vocabulary().decode(e.ids, 1000, false);
    std::vector<std::string> ps;
    for (size_t k = 0; k < 64; ++k) {
      char c = text[5 + k];
      ASSERT_TRUE(c >= 'a' && c <= 'x') << text;
      seen.insert(c);
      ps.push_back(s4[size_t(c - 'a')]);
    }
    EXPECT_EQ(text.substr(5 + 64), "=" + compose(ps, 4) + "<eos>");
  }
  EXPECT_EQ(seen.size(), 24u);
  EXPECT_EQ(make("permutations")->name(), "permutations:3:6");
  EXPECT_EQ(make("permutations:2")->name(), "permutations:2:6");
}

/// The elements of S_n in lexicographic order of their one-line notation.
std::vector<std::string> symmetricGroup(int n) {
  std::vector<std::string> elements;
  std::string p = std::string("01234").substr(0, size_t(n));
  do
    elements.push_back(p);
  while (std::next_permutation(p.begin(), p.end()));
  return elements;
}

/// Checks a permutations example of S_n (n <= 4: one letter an element)
/// against an independent composition and returns its number of elements.
size_t checkPermutations(const Task &task, const Example &e, int n) {
  static const std::vector<std::string> elements[5] = {
      {}, {}, symmetricGroup(2), symmetricGroup(3), symmetricGroup(4)};
  std::string text = task.vocabulary().decode(e.ids, 1000, false);
  size_t equals = text.find('=');
  EXPECT_EQ(text.substr(0, 5), "<bos>");
  EXPECT_NE(equals, std::string::npos) << text;
  if (equals == std::string::npos)
    return 0;
  size_t count = equals - 5;
  expectWellFormed(task, e, count + 2); // <bos> K letters =
  EXPECT_EQ(e.ids.size(), count + size_t(n) + 3) << text;
  std::vector<std::string> ps;
  for (size_t k = 0; k < count; ++k) {
    size_t g = size_t(text[5 + k] - 'a');
    EXPECT_LT(g, elements[n].size()) << text;
    ps.push_back(elements[n][std::min(g, elements[n].size() - 1)]);
  }
  EXPECT_EQ(text.substr(equals), "=" + compose(ps, size_t(n)) + "<eos>");
  return count;
}

TEST(Tasks, PermutationsLengthMixtureCoversItsLengths) {
  auto task = make("permutations:3:1-8", 32, 14);
  ASSERT_TRUE(task);
  EXPECT_EQ(task->name(), "permutations:3:1-8");
  EXPECT_EQ(task->maxLength(), 14); // 8 + 3 + 3
  EXPECT_EQ(task->vocabulary(), *Vocabulary::task("permutations"));
  // The length is uniform in [1, 8] in both splits.
  for (Split split : {Split::Train, Split::HeldOut}) {
    std::map<size_t, int> lengths;
    for (uint64_t i = 0; i < 4000; ++i)
      ++lengths[checkPermutations(*task, task->example(split, 2, i), 3)];
    ASSERT_EQ(lengths.size(), 8u);
    EXPECT_EQ(lengths.begin()->first, 1u);
    EXPECT_EQ(lengths.rbegin()->first, 8u);
    for (auto [length, n] : lengths) // 500 expected, sd 21
      EXPECT_NEAR(n, 500, 100) << "length " << length;
  }
  // Another range, other lengths only; the name keeps the M-K form,
  // written canonically.
  auto longer = make("permutations:04:5-07");
  EXPECT_EQ(longer->name(), "permutations:4:5-7");
  EXPECT_EQ(longer->maxLength(), 14);
  std::set<size_t> lengths;
  for (uint64_t i = 0; i < 300; ++i)
    lengths.insert(
        checkPermutations(*longer, longer->example(Split::Train, 0, i), 4));
  EXPECT_EQ(lengths, (std::set<size_t>{5, 6, 7}));
  // The train split holds every length from 1 to 64 for every N (docs).
  for (int n = 2; n <= 4; ++n) {
    auto all = make("permutations:" + std::to_string(n) + ":1-64", 32, 71);
    std::set<size_t> seen;
    for (uint64_t i = 0; i < 2000; ++i)
      seen.insert(checkPermutations(*all, all->example(Split::Train, 0, i), n));
    EXPECT_EQ(seen.size(), 64u) << n;
  }
}

// permutations:N:K draws its examples as before length mixtures (the
// examples of docs/tasks.md), and K-K draws the same.
TEST(Tasks, PermutationsSingleLengthKeepsItsExamples) {
  auto six = make("permutations:3:6");
  auto sixToSix = make("permutations:3:6-6");
  EXPECT_EQ(sixToSix->name(), "permutations:3:6-6");
  EXPECT_EQ(sixToSix->maxLength(), six->maxLength());
  auto text = [](const Task &task, Split split, uint64_t i) {
    return task.vocabulary().decode(task.example(split, 0, i).ids, 1000, false);
  };
  EXPECT_EQ(text(*six, Split::Train, 0), "<bos>efaeed=210<eos>");
  for (Split split : {Split::Train, Split::HeldOut})
    for (uint64_t i = 0; i < 100; ++i)
      EXPECT_EQ(text(*sixToSix, split, i), text(*six, split, i));
  EXPECT_EQ(text(*make("permutations:3:1-8"), Split::Train, 0),
            "<bos>fae=102<eos>");
  EXPECT_EQ(text(*make("permutations:5"), Split::Train, 0),
            "<bos>ecdxccbucgaj=40213<eos>");
}

// A prompt is held out or not whatever the range that drew it, so the
// mixture's held-out problems of length L are those of permutations:N:L,
// short lengths included.
TEST(Tasks, PermutationsMixtureHoldsOutWhatItsLengthsHoldOut) {
  auto mixture = make("permutations:3:1-8");
  std::map<size_t, std::set<std::string>> train, held;
  for (uint64_t i = 0; i < 4000; ++i) {
    std::string t = promptOf(*mixture, mixture->example(Split::Train, 1, i));
    std::string h = promptOf(*mixture, mixture->example(Split::HeldOut, 1, i));
    train[t.size() - 6].insert(t); // <bos> .. =
    held[h.size() - 6].insert(h);
  }
  // S_3 with one element: 6 problems, two of them held out.
  EXPECT_EQ(train[1].size() + held[1].size(), 6u);
  EXPECT_EQ(held[1].size(), 2u);
  EXPECT_EQ(train[2].size() + held[2].size(), 36u);
  for (size_t length : {1, 2, 6}) {
    auto fixed = make("permutations:3:" + std::to_string(length));
    std::set<std::string> fixedTrain, fixedHeld;
    for (uint64_t i = 0; i < 2000; ++i) {
      fixedTrain.insert(promptOf(*fixed, fixed->example(Split::Train, 4, i)));
      fixedHeld.insert(promptOf(*fixed, fixed->example(Split::HeldOut, 4, i)));
    }
    for (const std::string &h : held[length])
      EXPECT_FALSE(fixedTrain.count(h)) << h;
    for (const std::string &t : train[length])
      EXPECT_FALSE(fixedHeld.count(t)) << t;
    if (length <= 2) { // small enough to have drawn every problem
      EXPECT_EQ(held[length], fixedHeld) << length;
      EXPECT_EQ(train[length], fixedTrain) << length;
    }
  }
  // S_2's 8 problems of 3 elements and 16 of 4 are all train: held-out
  // examples of permutations:2:1-8 have the other lengths, uniformly.
  auto s2 = make("permutations:2:1-8");
  std::map<size_t, int> heldLengths;
  for (uint64_t i = 0; i < 3000; ++i)
    ++heldLengths[checkPermutations(*s2, s2->example(Split::HeldOut, 0, i), 2)];
  EXPECT_EQ(heldLengths.size(), 6u);
  EXPECT_FALSE(heldLengths.count(3) || heldLengths.count(4));
  for (auto [length, n] : heldLengths) // 500 expected, sd 20
    EXPECT_NEAR(n, 500, 100) << "length " << length;
}

/// The index in S_5 of a permutations5 element symbol ("aa" = 0, "ep" =
/// 119), or -1.
int s5Index(const std::string &symbol) {
  if (symbol.size() != 2 || symbol[0] < 'a' || symbol[0] > 'e' ||
      symbol[1] < 'a' || symbol[1] > 'z')
    return -1;
  int index = (symbol[0] - 'a') * 26 + (symbol[1] - 'a');
  return index < 120 ? index : -1;
}

TEST(Tasks, Permutations5ExamplesAreCorrect) {
  const std::vector<std::string> s5 = symmetricGroup(5);
  ASSERT_EQ(s5.size(), 120u);
  auto task = make("permutations:5", 129, 14);
  ASSERT_TRUE(task);
  EXPECT_EQ(task->name(), "permutations:5:6");
  EXPECT_EQ(task->maxLength(), 14); // <bos> 6 elements = 5 digits <eos>
  const Vocabulary &v = task->vocabulary();
  EXPECT_EQ(v, *Vocabulary::task("permutations5"));
  EXPECT_EQ(v.size(), 129);
  std::set<int> seen;
  std::set<std::string> answers;
  for (Split split : {Split::Train, Split::HeldOut}) {
    for (uint64_t i = 0; i < 400; ++i) {
      Example e = task->example(split, 1, i);
      ASSERT_EQ(e.ids.size(), 14u);
      expectWellFormed(*task, e, 8);
      EXPECT_EQ(e.ids[7], id(*task, "="));
      std::vector<std::string> ps;
      for (size_t p = 1; p <= 6; ++p) {
        std::string symbol = v.decode({e.ids[p]}, 1000, false);
        int g = s5Index(symbol);
        ASSERT_GE(g, 0) << symbol;
        EXPECT_EQ(e.ids[p], 5 + g); // elements are ids 5..124, in order
        seen.insert(g);
        ps.push_back(s5[size_t(g)]);
      }
      std::string answer;
      for (size_t p = 8; p < 13; ++p) {
        EXPECT_LT(e.ids[p], 5); // digits 0..4 are ids 0..4
        answer += v.decode({e.ids[p]}, 1000, false);
      }
      EXPECT_EQ(answer, compose(ps, 5));
      answers.insert(answer);
      // The printed example reads back as the same ids.
      std::vector<int32_t> again;
      std::string error;
      ASSERT_TRUE(v.encode(v.decode(e.ids, 1000, false), again, error))
          << error;
      EXPECT_EQ(again, e.ids);
    }
  }
  EXPECT_EQ(seen.size(), 120u);
  EXPECT_EQ(answers.size(), 120u);

  // A mixture of S_5: lengths 1 to 12, answers correct.
  auto mixture = make("permutations:5:1-12", 129, 20);
  ASSERT_TRUE(mixture);
  EXPECT_EQ(mixture->name(), "permutations:5:1-12");
  EXPECT_EQ(mixture->maxLength(), 20);
  std::set<size_t> lengths;
  for (uint64_t i = 0; i < 600; ++i) {
    Example e = mixture->example(Split::Train, 3, i);
    size_t count = e.ids.size() - 8;
    lengths.insert(count);
    expectWellFormed(*mixture, e, count + 2);
    std::vector<std::string> ps;
    for (size_t p = 1; p <= count; ++p) {
      ASSERT_GE(e.ids[p], 5);
      ASSERT_LT(e.ids[p], 125);
      ps.push_back(s5[size_t(e.ids[p] - 5)]);
    }
    std::string text = mixture->vocabulary().decode(e.ids, 1000, false);
    EXPECT_EQ(text.substr(text.size() - 11), "=" + compose(ps, 5) + "<eos>");
  }
  EXPECT_EQ(lengths.size(), 12u);
  EXPECT_EQ(*lengths.begin(), 1u);
  EXPECT_EQ(*lengths.rbegin(), 12u);
  // The train split of S_5 holds every length from 1 to 64 (docs).
  auto all = make("permutations:5:1-64", 129, 72);
  std::set<size_t> allLengths;
  for (uint64_t i = 0; i < 2000; ++i)
    allLengths.insert(all->example(Split::Train, 0, i).ids.size() - 8);
  EXPECT_EQ(allLengths.size(), 64u);
}

TEST(Tasks, VocabularyOfASpec) {
  EXPECT_EQ(Task::vocabularyOf("addition:2"), Vocabulary::task("addition"));
  EXPECT_EQ(Task::vocabularyOf("parity:1-8"), Vocabulary::task("parity"));
  EXPECT_EQ(Task::vocabularyOf("permutations"),
            Vocabulary::task("permutations"));
  EXPECT_EQ(Task::vocabularyOf("permutations:4:1-8"),
            Vocabulary::task("permutations"));
  EXPECT_EQ(Task::vocabularyOf("permutations:5"),
            Vocabulary::task("permutations5"));
  EXPECT_EQ(Task::vocabularyOf("permutations:5:1-8"),
            Vocabulary::task("permutations5"));
  EXPECT_EQ(Task::vocabularyOf("text:x.txt"), Vocabulary::bytes());
  EXPECT_EQ(Task::vocabularyOf("oracle-mix"), Vocabulary::task("oracle-mix"));
  EXPECT_FALSE(Task::vocabularyOf("sorting"));
  EXPECT_FALSE(Task::vocabularyOf("permutations5")); // a vocabulary, no task
  // The vocabulary of every task is its vocabularyOf.
  for (const char *spec :
       {"parity", "addition:3", "multiplication", "reverse:2",
        "permutations:2:1-8", "permutations:5", "oracle-mix"})
    EXPECT_EQ(Task::vocabularyOf(spec), make(spec)->vocabulary()) << spec;
}

TEST(Tasks, ExamplesAreAPureFunctionOfSeedSplitIndex) {
  for (const char *spec :
       {"parity:8", "parity:1-8", "addition:2", "reverse:4", "oracle-mix",
        "multiplication:2", "permutations:3:6", "permutations:3:1-8",
        "permutations:5", "permutations:5:2-9"}) {
    auto task = make(spec);
    auto again = make(spec);
    std::set<std::vector<int32_t>> distinct;
    for (uint64_t i = 0; i < 100; ++i) {
      Example e = task->example(Split::Train, 7, i);
      Example f = again->example(Split::Train, 7, i);
      EXPECT_EQ(e.ids, f.ids) << spec;
      EXPECT_EQ(e.targetWeight, f.targetWeight) << spec;
      EXPECT_EQ(e.scored, f.scored) << spec;
      distinct.insert(e.ids);
    }
    EXPECT_GT(distinct.size(), 60u) << spec;
    // Another seed, another split: other examples.
    int same = 0;
    for (uint64_t i = 0; i < 100; ++i)
      same += task->example(Split::Train, 8, i).ids ==
              task->example(Split::Train, 7, i).ids;
    EXPECT_LT(same, 30) << spec;
  }
}

TEST(Tasks, TrainAndHeldOutProblemsAreDisjoint) {
  for (const char *spec :
       {"parity:8", "parity:1-8", "addition:2", "reverse:4", "multiplication:2",
        "permutations:3:6", "permutations:3:1-8", "permutations:2:1-8",
        "permutations:5", "permutations:5:1-8"}) {
    auto task = make(spec);
    std::set<std::string> train, held;
    for (uint64_t i = 0; i < 3000; ++i) {
      train.insert(promptOf(*task, task->example(Split::Train, 7, i)));
      held.insert(promptOf(*task, task->example(Split::HeldOut, 7, i)));
    }
    EXPECT_GT(train.size(), 200u) << spec;
    EXPECT_GT(held.size(), 20u) << spec;
    for (const std::string &h : held)
      EXPECT_FALSE(train.count(h)) << spec << ": " << h << " in both splits";
  }
}

// Both answers appear among held-out parity examples (a plain FNV-1a split
// would put only one of them there).
TEST(Tasks, HeldOutParityHasBothAnswers) {
  auto task = make("parity:8");
  std::set<int32_t> answers;
  for (uint64_t i = 0; i < 200; ++i)
    answers.insert(task->example(Split::HeldOut, 0, i).ids[10]);
  EXPECT_EQ(answers.size(), 2u);
}

// Tiny problem spaces may leave a split empty, where drawing by rejection
// would never end; create() says so instead.
TEST(Tasks, TinyProblemSpacesWithAnEmptySplitAreErrors) {
  EXPECT_EQ(errorOf("parity:2"),
            "task 'parity:2': its 4 problems all fall in the train split, "
            "none is left to hold out; use longer ones");
  EXPECT_EQ(errorOf("reverse:1"),
            "task 'reverse:1': its 8 problems all fall in the train split, "
            "none is left to hold out; use longer ones");
  // parity:3 holds one of its 8 strings out, and draws it.
  auto task = make("parity:3");
  EXPECT_EQ(task->example(Split::HeldOut, 0, 0).ids,
            task->example(Split::HeldOut, 5, 9).ids);
  EXPECT_EQ(errorOf("parity:1-2"),
            "task 'parity:1-2': its 6 problems all fall in the train split, "
            "none is left to hold out; use longer ones");
  EXPECT_TRUE(make("parity:1-3")); // 14 problems, one held out
  EXPECT_TRUE(make("addition:1"));
  // Two elements of S_2 (letters a, b) three times over: 8 prompts.
  EXPECT_EQ(errorOf("permutations:2:3"),
            "task 'permutations:2:3': its 8 problems all fall in the train "
            "split, none is left to hold out; use longer ones");
  EXPECT_TRUE(make("permutations:2:5"));
  EXPECT_TRUE(make("permutations:3:1")); // 6 problems, two held out
  // A mixture of such lengths: 8 + 16 problems, all train.
  EXPECT_EQ(errorOf("permutations:2:3-4"),
            "task 'permutations:2:3-4': its 24 problems all fall in the train "
            "split, none is left to hold out; use longer ones");
  EXPECT_TRUE(make("permutations:2:1-4")); // b= and one of 2 held out
}

TEST(Tasks, TrainBatchesFollowTheStep) {
  auto task = make("addition:2");
  TaskBatch a = trainBatch(*task, 5, 3, 4), b = trainBatch(*task, 5, 3, 4);
  TaskBatch c = trainBatch(*task, 5, 4, 4), d = trainBatch(*task, 6, 3, 4);
  ASSERT_EQ(a.ids.shape(), (std::vector<int64_t>{4, 11}));
  ASSERT_EQ(a.lengths.shape(), (std::vector<int64_t>{4}));
  ASSERT_EQ(a.targetWeight.shape(), (std::vector<int64_t>{4, 11}));
  ASSERT_EQ(a.scored.shape(), (std::vector<int64_t>{4, 11}));
  EXPECT_EQ(a.targetWeight.dtype(), DType::F32);
  EXPECT_EQ(a.scored.dtype(), DType::I32);
  EXPECT_EQ(0, std::memcmp(a.ids.bytes(), b.ids.bytes(), a.ids.byteSize()));
  EXPECT_NE(0, std::memcmp(a.ids.bytes(), c.ids.bytes(), a.ids.byteSize()));
  EXPECT_NE(0, std::memcmp(a.ids.bytes(), d.ids.bytes(), a.ids.byteSize()));
  // Row i of step 3 is train example 3 * 4 + i.
  for (int64_t r = 0; r < 4; ++r) {
    Example e = task->example(Split::Train, 5, uint64_t(12 + r));
    EXPECT_EQ(a.lengths.data<int32_t>()[r], 11);
    for (int64_t p = 0; p < 11; ++p) {
      EXPECT_EQ(a.ids.data<int32_t>()[r * 11 + p], e.ids[size_t(p)]);
      EXPECT_EQ(a.targetWeight.data<float>()[r * 11 + p],
                e.targetWeight[size_t(p)]);
      EXPECT_EQ(a.scored.data<int32_t>()[r * 11 + p], e.scored[size_t(p)]);
    }
  }
  TaskBatch held = heldOutBatch(*task, 5, 2, 3);
  ASSERT_EQ(held.ids.shape(), (std::vector<int64_t>{3, 11}));
  for (int64_t r = 0; r < 3; ++r) {
    Example e = task->example(Split::HeldOut, 5, uint64_t(2 + r));
    EXPECT_EQ(0, std::memcmp(held.ids.data<int32_t>() + r * 11, e.ids.data(),
                             11 * sizeof(int32_t)));
  }
}

TEST(Tasks, BatchesArePaddedToTheLongestExample) {
  auto task = make("parity:1-6");
  std::vector<Example> examples;
  for (uint64_t i = 0; i < 20; ++i)
    examples.push_back(task->example(Split::Train, 0, i));
  size_t longest = 0;
  for (const Example &e : examples)
    longest = std::max(longest, e.ids.size());
  TaskBatch batch = makeTaskBatch(*task, examples);
  int64_t b = int64_t(examples.size()), t = int64_t(longest);
  ASSERT_EQ(batch.ids.shape(), (std::vector<int64_t>{b, t}));
  int32_t pad = id(*task, "<pad>");
  bool padded = false;
  for (int64_t r = 0; r < b; ++r) {
    const Example &e = examples[size_t(r)];
    EXPECT_EQ(batch.lengths.data<int32_t>()[r], int32_t(e.ids.size()));
    for (int64_t p = int64_t(e.ids.size()); p < t; ++p) {
      padded = true;
      EXPECT_EQ(batch.ids.data<int32_t>()[r * t + p], pad);
      EXPECT_EQ(batch.targetWeight.data<float>()[r * t + p], 0.0f);
      EXPECT_EQ(batch.scored.data<int32_t>()[r * t + p], 0);
    }
  }
  EXPECT_TRUE(padded);
}

TEST(Tasks, OracleMixExamplesFollowTheGenerator) {
  auto task = make("oracle-mix");
  EXPECT_EQ(task->vocabulary().size(), 5);
  EXPECT_EQ(task->maxLength(), 26);
  for (uint64_t i = 0; i < 200; ++i) {
    Example e = task->example(Split::HeldOut, 4, i);
    ASSERT_EQ(e.ids.size(), 26u);
    EXPECT_EQ(e.ids.front(), task->vocabulary().bos());
    EXPECT_EQ(e.ids.back(), task->vocabulary().eos());
    EXPECT_EQ(e.targetWeight[0], 0.0f);
    for (size_t p = 1; p < 26; ++p)
      EXPECT_EQ(e.targetWeight[p], 1.0f);
    // Blocks f c x y: the coins are not scored; x = f XOR c and y = f are.
    for (size_t block = 0; block < 6; ++block) {
      const int32_t *t = &e.ids[1 + 4 * block];
      const uint8_t *s = &e.scored[1 + 4 * block];
      ASSERT_TRUE((t[0] == 0 || t[0] == 1) && (t[1] == 0 || t[1] == 1));
      EXPECT_EQ(t[2], t[0] ^ t[1]);
      EXPECT_EQ(t[3], t[0]);
      EXPECT_EQ(std::vector<uint8_t>(s, s + 4),
                (std::vector<uint8_t>{0, 0, 1, 1}));
    }
    EXPECT_EQ(e.scored.back(), 1);
  }
}

TEST(Tasks, OracleMixKnowsItsOptimalLoss) {
  auto task = make("oracle-mix");
  ASSERT_TRUE(task->optimalLoss());
  // By hand: 6 blocks of ln 2 + H(3/4) nats over 25 targets.
  double h = -(0.75 * std::log(0.75) + 0.25 * std::log(0.25));
  EXPECT_NEAR(*task->optimalLoss(), 6 * (std::log(2.0) + h) / 25, 1e-12);
  EXPECT_NEAR(*task->optimalLoss(), 0.301316, 1e-6);
  // Monte Carlo: the generator's own probabilities on its draws.
  double total = 0;
  int64_t targets = 0, ones = 0;
  for (uint64_t i = 0; i < 5000; ++i) {
    Example e = task->example(Split::Train, 2, i);
    for (size_t p = 1; p < e.ids.size(); ++p) {
      targets += e.targetWeight[p] != 0;
      if (p == e.ids.size() - 1)
        continue;           // <eos> always comes after 6 blocks
      if ((p - 1) % 4 == 0) // the fair coin
        total -= std::log(0.5);
      if ((p - 1) % 4 == 1) { // the biased coin
        total -= std::log(e.ids[p] == 1 ? 0.75 : 0.25);
        ones += e.ids[p] == 1;
      }
    }
  }
  EXPECT_NEAR(double(ones) / (5000 * 6), 0.75, 0.01);
  EXPECT_NEAR(total / double(targets), *task->optimalLoss(), 0.003);
  EXPECT_GT(*task->optimalLoss(), 0.0);
}

TEST(Tasks, OnlyOracleMixKnowsItsOptimalLoss) {
  for (const char *spec : {"parity", "addition", "reverse", "multiplication",
                           "permutations", "permutations:5"})
    EXPECT_FALSE(make(spec)->optimalLoss()) << spec;
}

TEST(Tasks, BadSpecsAreOneLine) {
  EXPECT_EQ(errorOf("sorting"),
            "unknown task 'sorting' (parity[:BITS], addition[:DIGITS], "
            "multiplication[:DIGITS], reverse[:LENGTH], permutations[:N[:K]], "
            "oracle-mix, text:FILE)");
  EXPECT_EQ(errorOf("parity:x"),
            "task 'parity:x': expected an integer in [1, 1024] after ':', "
            "got 'x'");
  EXPECT_EQ(errorOf("parity:0"),
            "task 'parity:0': expected an integer in [1, 1024] after ':', "
            "got '0'");
  EXPECT_EQ(errorOf("parity:"),
            "task 'parity:': expected an integer in [1, 1024] after ':', "
            "got ''");
  EXPECT_EQ(errorOf("reverse:+6"),
            "task 'reverse:+6': expected an integer in [1, 1024] after ':', "
            "got '+6'");
  EXPECT_EQ(errorOf("addition:10"),
            "task 'addition:10': expected an integer in [1, 9] after ':', "
            "got '10'");
  EXPECT_EQ(errorOf("parity:5-2"),
            "task 'parity:5-2': expected parity:M-N with 1 <= M <= N <= 1024");
  EXPECT_EQ(errorOf("oracle-mix:3"),
            "task 'oracle-mix:3': oracle-mix takes no option");
  EXPECT_EQ(errorOf("text"), "task 'text': expected text:FILE");
  EXPECT_EQ(errorOf("text:"), "task 'text:': expected text:FILE");
  EXPECT_EQ(errorOf("addition:2", 10, 64),
            "task 'addition:2' needs 16 verbal ids, the model has "
            "verbal_vocab = 10");
  EXPECT_EQ(errorOf("addition", 6, 64),
            "task 'addition' needs 16 verbal ids, the model has "
            "verbal_vocab = 6");
  EXPECT_EQ(errorOf("parity:40", 6, 32),
            "task 'parity:40': examples need 44 positions, the model has "
            "max_seq = 32");
  EXPECT_EQ(errorOf("oracle-mix", 5, 20),
            "task 'oracle-mix': examples need 26 positions, the model has "
            "max_seq = 20");
}

TEST(Tasks, BadMultiplicationAndPermutationsSpecsAreOneLine) {
  EXPECT_EQ(errorOf("multiplication:0"),
            "task 'multiplication:0': expected an integer in [1, 4] after "
            "':', got '0'");
  EXPECT_EQ(errorOf("multiplication:5"),
            "task 'multiplication:5': expected an integer in [1, 4] after "
            "':', got '5'");
  EXPECT_EQ(errorOf("permutations:6"),
            "task 'permutations:6': expected an integer in [2, 5] for N "
            "(permutations:N:K), got '6'");
  EXPECT_EQ(errorOf("permutations:6:1-8"),
            "task 'permutations:6:1-8': expected an integer in [2, 5] for N "
            "(permutations:N:K), got '6'");
  EXPECT_EQ(errorOf("permutations:1"),
            "task 'permutations:1': expected an integer in [2, 5] for N "
            "(permutations:N:K), got '1'");
  EXPECT_EQ(errorOf("permutations:x"),
            "task 'permutations:x': expected an integer in [2, 5] for N "
            "(permutations:N:K), got 'x'");
  EXPECT_EQ(errorOf("permutations:3:0"),
            "task 'permutations:3:0': expected an integer in [1, 64] for K "
            "(permutations:N:K), got '0'");
  EXPECT_EQ(errorOf("permutations:3:65"),
            "task 'permutations:3:65': expected an integer in [1, 64] for K "
            "(permutations:N:K), got '65'");
  EXPECT_EQ(errorOf("permutations:3:"),
            "task 'permutations:3:': expected an integer in [1, 64] for K "
            "(permutations:N:K), got ''");
  EXPECT_EQ(errorOf("permutations:3:4:5"),
            "task 'permutations:3:4:5': expected an integer in [1, 64] for K "
            "(permutations:N:K), got '4:5'");
  // Length mixtures: 1 <= M <= K <= 64, both integers.
  for (const char *spec :
       {"permutations:3:5-2", "permutations:3:0-4", "permutations:3:1-65",
        "permutations:3:1-", "permutations:3:-4", "permutations:3:-",
        "permutations:3:1-2-3", "permutations:3:a-b", "permutations:3:1-4:5",
        "permutations:5:+1-4"})
    EXPECT_EQ(errorOf(spec), "task '" + std::string(spec) +
                                 "': expected permutations:N:M-K with 1 <= M "
                                 "<= K <= 64");
  // The vocabularies and the longest examples must fit the model.
  EXPECT_EQ(errorOf("multiplication", 14, 64),
            "task 'multiplication' needs 15 verbal ids, the model has "
            "verbal_vocab = 14");
  EXPECT_EQ(errorOf("multiplication:4", 15, 19),
            "task 'multiplication:4': examples need 20 positions, the model "
            "has max_seq = 19");
  EXPECT_TRUE(make("multiplication:4", 15, 20));
  EXPECT_EQ(errorOf("permutations", 31, 64),
            "task 'permutations' needs 32 verbal ids, the model has "
            "verbal_vocab = 31");
  EXPECT_EQ(errorOf("permutations:4:64", 32, 70),
            "task 'permutations:4:64': examples need 71 positions, the model "
            "has max_seq = 70");
  EXPECT_TRUE(make("permutations", 32, 12)); // 6 + 3 + 3
  // S_5 has its own vocabulary of 129 ids.
  EXPECT_EQ(errorOf("permutations:5", 128, 64),
            "task 'permutations:5' needs 129 verbal ids, the model has "
            "verbal_vocab = 128");
  EXPECT_EQ(errorOf("permutations:5:1-64", 129, 71),
            "task 'permutations:5:1-64': examples need 72 positions, the "
            "model has max_seq = 71");
  EXPECT_TRUE(make("permutations:5:1-64", 129, 72));
  EXPECT_EQ(errorOf("permutations:3:1-64", 32, 69),
            "task 'permutations:3:1-64': examples need 70 positions, the "
            "model has max_seq = 69");
  EXPECT_TRUE(make("multiplication:1")); // 100 problems, both splits
}

/// Text tasks, each test with a fresh directory for its files.
class TaskText : public TempDirTest {
protected:
  /// Writes `content` to the file `name` and returns its path.
  std::string write(const std::string &name, const std::string &content) {
    std::ofstream(path(name), std::ios::binary) << content;
    return path(name);
  }
};

TEST_F(TaskText, WindowsComeFromTheirPartOfTheFile) {
  std::string content;
  for (int i = 0; content.size() < 1000; ++i)
    content += "line " + std::to_string(i) + " \xc3\xa9\n"; // "é"
  std::string path = write("text.txt", content);
  auto task = make("text:" + path, 258, 17);
  ASSERT_TRUE(task);
  EXPECT_EQ(task->name(), "text:" + path);
  EXPECT_EQ(task->vocabulary().size(), 258);
  EXPECT_EQ(task->maxLength(), 17);
  size_t split = content.size() - content.size() / 10;
  std::set<size_t> trainOffsets;
  for (uint64_t i = 0; i < 200; ++i) {
    Example e = task->example(Split::Train, 0, i);
    ASSERT_EQ(e.ids.size(), 17u);
    EXPECT_EQ(e.ids[0], 256); // <bos>; no <eos>: windows cut the text
    EXPECT_EQ(e.targetWeight[0], 0.0f);
    EXPECT_EQ(e.scored[0], 0);
    for (size_t p = 1; p < 17; ++p) {
      EXPECT_EQ(e.targetWeight[p], 1.0f);
      EXPECT_EQ(e.scored[p], 1);
    }
    std::string window(e.ids.begin() + 1, e.ids.end());
    size_t at = content.find(window);
    ASSERT_NE(at, std::string::npos);
    EXPECT_LE(at + 16, split) << "a train window crosses the split";
    trainOffsets.insert(at);
  }
  EXPECT_GT(trainOffsets.size(), 100u);
  // Held-out windows tile the last 10%: 100 bytes hold 6 windows of 16.
  size_t heldOutBytes = content.size() - split;
  ASSERT_EQ(heldOutBytes / 16, 6u);
  for (uint64_t i = 0; i < 12; ++i) {
    Example e = task->example(Split::HeldOut, 3, i);
    std::string window(e.ids.begin() + 1, e.ids.end());
    EXPECT_EQ(window, content.substr(split + (i % 6) * 16, 16)) << i;
  }
}

TEST_F(TaskText, BadFilesAreOneLine) {
  std::string missing = dir + "/missing.txt";
  EXPECT_EQ(errorOf("text:" + missing), missing + ": no such text file");
  EXPECT_EQ(errorOf("text:" + dir), dir + ": cannot read the text file");
  std::string empty = write("empty.txt", "");
  EXPECT_EQ(errorOf("text:" + empty), empty + ": empty text file");
  std::string latin1 = write("latin1.txt", "caf\xc3\xa9\nna\xefve\n");
  EXPECT_EQ(errorOf("text:" + latin1), latin1 + ":2: not UTF-8 text");
  std::string tiny = write("tiny.txt", "tiny");
  EXPECT_EQ(errorOf("text:" + tiny, 258, 64),
            tiny + ": 4 bytes is too short; windows of 63 bytes (max_seq - 1) "
                   "need at least 630 so that the held-out last 10% holds one");
  std::string text = write("text.txt", std::string(700, 'a'));
  EXPECT_EQ(errorOf("text:" + text, 16, 64),
            "task 'text:" + text +
                "' needs 258 verbal ids, the model has verbal_vocab = 16");
  EXPECT_TRUE(make("text:" + text, 258, 64));
}

} // namespace
