//===- ThoughtSlotsTest.cpp - Thoughts at placed positions ----------------===//
//
// Placed thoughts on a permutations and a parity example: where the slots
// go, the weights, scores and advantages of the placed batch, its padding,
// and the one-line errors for a bad spec and an example that no longer
// fits max_seq.
//
//===----------------------------------------------------------------------===//

#include "training/ThoughtSlots.h"

#include <gtest/gtest.h>

using namespace ponder;

namespace {

constexpr int32_t kThink = 32; // Vv of a 32-id verbal vocabulary

std::unique_ptr<Task> make(const std::string &spec) {
  auto task = Task::create(spec, 32, 64);
  EXPECT_TRUE(task) << task.getStatus().message();
  return task ? std::move(*task) : nullptr;
}

ThoughtSlots parse(const std::string &spec) {
  StatusOr<ThoughtSlots> s = ThoughtSlots::parse(spec);
  EXPECT_TRUE(s) << s.getStatus().message();
  return s ? *s : ThoughtSlots();
}

/// The example's text with thoughts as `T`.
std::string text(const Task &task, const Example &e) {
  std::string out;
  for (int32_t id : e.ids)
    out += id == kThink ? "T" : task.vocabulary().decode({id}, 32, false);
  return out;
}

/// The example's target weights as 0/1 digits.
std::string weights(const Example &e) {
  std::string out;
  for (float w : e.targetWeight)
    out += w > 0 ? '1' : '0';
  return out;
}

TEST(ThoughtSlots, ParsesTheTwoPlacesAndRefusesTheRest) {
  EXPECT_EQ(parse("after-prompt:1").spec(), "after-prompt:1");
  EXPECT_EQ(parse("before-answer:03").spec(), "before-answer:3");
  EXPECT_EQ(parse("before-answer:2").place, SlotPlace::BeforeAnswer);
  for (const char *bad : {"after-prompt", "after-prompt:0", "after-prompt:x",
                          "after-prompt:65", "before:1", "", "after-prompt:1x"})
    EXPECT_FALSE(ThoughtSlots::parse(bad)) << bad;
  EXPECT_EQ(ThoughtSlots::parse("middle:2").getStatus().message(),
            "thought slots 'middle:2': expected after-prompt:K or "
            "before-answer:K with K from 1 to 64");
}

TEST(ThoughtSlots, AfterEveryPromptLetterOfAPermutationsExample) {
  auto task = make("permutations:3:6");
  Example e = task->example(Split::Train, 0, 0);
  ASSERT_EQ(text(*task, e), "<bos>efaeed=210<eos>"); // docs/tasks.md
  Example placed = placeThoughtSlots(e, parse("after-prompt:1"), kThink);
  // One slot after each letter; none after <bos>, `=` or the answer.
  EXPECT_EQ(text(*task, placed), "<bos>eTfTaTeTeTdT=210<eos>");
  EXPECT_EQ(weights(placed), "00000000000000"
                             "1111");
  for (size_t p = 0; p < placed.ids.size(); ++p)
    EXPECT_EQ(placed.scored[p], placed.targetWeight[p] > 0 ? 1 : 0) << p;
  std::vector<int32_t> before = thoughtsBefore(
      e.targetWeight.data(), int64_t(e.ids.size()), parse("after-prompt:2"));
  EXPECT_EQ(before, (std::vector<int32_t>{0, 0, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0}));
}

TEST(ThoughtSlots, BeforeEveryAnswerTokenButEos) {
  auto task = make("permutations:3:6");
  Example e = task->example(Split::Train, 0, 0);
  Example placed = placeThoughtSlots(e, parse("before-answer:2"), kThink);
  EXPECT_EQ(text(*task, placed), "<bos>efaeed=TT2TT1TT0<eos>");
  EXPECT_EQ(weights(placed), "00000000"
                             "001001001"
                             "1");
  auto parity = make("parity:4");
  Example bits = parity->example(Split::Train, 0, 0);
  ASSERT_EQ(bits.ids.size(), 8u); // <bos> 4 bits | answer <eos>
  std::string expected = text(*parity, bits);
  expected.replace(expected.find('|'), 1, "|T"); // one answer bit, then <eos>
  EXPECT_EQ(
      text(*parity, placeThoughtSlots(bits, parse("before-answer:1"), kThink)),
      expected);
}

TEST(ThoughtSlots, ThePlacedBatchTrainsTheDecisionEverywhere) {
  auto task = make("permutations:3:1");
  std::vector<Example> examples = {task->example(Split::Train, 0, 0)};
  auto longer = make("permutations:3:4");
  examples.push_back(longer->example(Split::Train, 0, 1));
  TaskBatch batch = makeTaskBatch(*task, examples);
  StatusOr<PlacedBatch> placed =
      placeThoughtSlots(batch, parse("after-prompt:1"), kThink, 64);
  ASSERT_TRUE(placed) << placed.getStatus().message();
  // One slot after each letter: 1 and 4 of them.
  EXPECT_EQ(placed->lengths.data<int32_t>()[0], 7 + 1);
  EXPECT_EQ(placed->lengths.data<int32_t>()[1], 10 + 4);
  EXPECT_EQ(placed->thoughts, 5);
  int64_t t = placed->ids.shape()[1];
  ASSERT_EQ(t, 14);
  for (int64_t r = 0; r < 2; ++r) {
    int64_t length = placed->lengths.data<int32_t>()[r];
    for (int64_t p = 0; p < t; ++p) {
      int64_t at = r * t + p;
      float advantage = placed->advantage.data<float>()[at];
      EXPECT_EQ(advantage, p >= 1 && p < length ? 1.0f : 0.0f) << r << p;
      bool slot = p < length && placed->ids.data<int32_t>()[at] == kThink;
      if (slot || p >= length) {
        EXPECT_EQ(placed->targetWeight.data<float>()[at], 0.0f);
        EXPECT_EQ(placed->scored.data<int32_t>()[at], 0);
      }
      if (p >= length) // the batch's own <pad>
        EXPECT_EQ(placed->ids.data<int32_t>()[at], 31);
    }
  }
}

TEST(ThoughtSlots, CountsForABatchMatchThePlacement) {
  auto task = make("permutations:3:5");
  TaskBatch batch = trainBatch(*task, 3, 0, 4);
  ThoughtSlots slots = parse("before-answer:3");
  Tensor counts = thoughtCounts(batch.targetWeight, batch.lengths, slots);
  StatusOr<PlacedBatch> placed = placeThoughtSlots(batch, slots, kThink, 64);
  ASSERT_TRUE(placed);
  int64_t t = batch.ids.shape()[1];
  for (int64_t r = 0; r < 4; ++r) {
    int64_t sum = 0;
    for (int64_t p = 0; p < t; ++p)
      sum += counts.data<int32_t>()[r * t + p];
    EXPECT_EQ(sum, 3 * 3); // before each of the 3 digits, not <eos>
    EXPECT_EQ(placed->lengths.data<int32_t>()[r],
              batch.lengths.data<int32_t>()[r] + sum);
  }
}

TEST(ThoughtSlots, AnExampleThatNoLongerFitsIsOneLine) {
  auto task = make("permutations:3:6");
  TaskBatch batch = trainBatch(*task, 0, 0, 2);
  StatusOr<PlacedBatch> placed =
      placeThoughtSlots(batch, parse("after-prompt:2"), kThink, 20);
  ASSERT_FALSE(placed);
  EXPECT_EQ(placed.getStatus().message(),
            "thought slots after-prompt:2 make an example of 12 tokens 24 "
            "long, more than max_seq = 20");
  EXPECT_TRUE(placeThoughtSlots(batch, parse("after-prompt:2"), kThink, 24));
}

} // namespace
