//===- RolloutsTest.cpp - Thinking walks, rollouts and their loss ---------===//
//
// MODEL.md §5-6 through a compiled model: leave-one-out advantages on
// hand-computed cases; walks never exceed max_think think tokens in a row
// nor max_seq; rollouts are a pure function of the seed and their batch
// puts each span's advantage on its think tokens and closing verbal token;
// the cross-entropy term's gradient reaches no think-token logit; and a
// short `ponder train --think` run raises the mean reward.
//
//===----------------------------------------------------------------------===//

#include "training/Rollouts.h"
#include "runtime/Init.h"
#include "runtime/Safetensors.h"
#include "training/Evaluation.h"
#include "training/Tasks.h"
#include "training/ThoughtSlots.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

using namespace ponder;

namespace {

constexpr int64_t kVerbal = 6, kThink = 3, kMaxThink = 2, kMaxSeq = 16;

/// Compiles a small parity model with think tokens (`halting` depth, think
/// `channel`) once.
const Artifact &model(const std::string &halting = "act",
                      const std::string &channel = "token") {
  static std::map<std::string, std::unique_ptr<Artifact>> compiled;
  std::unique_ptr<Artifact> &slot = compiled[halting + "_" + channel];
  if (!slot) {
    std::string dir = ::testing::TempDir() + "/rollouts_" + halting +
                      (channel == "token" ? "" : "_" + channel);
    EXPECT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
    std::ofstream(dir + "/model.toml")
        << "[model]\nverbal_vocab = " << kVerbal << "\nthink_vocab = " << kThink
        << "\nd_model = 16\nn_heads = 2\nd_ff = 32\nmax_seq = " << kMaxSeq
        << "\n[depth]\nhalting = \"" << halting
        << "\"\nmax_steps = 3\n[think]\nmax_think = " << kMaxThink
        << "\nrollouts = 3\nchannel = \"" << channel << "\"\n";
    std::string command = std::string(PONDERC_PATH) + " " + dir +
                          "/model.toml --emit=artifact -o " + dir + "/model.so";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    auto a = Artifact::load(dir + "/model.so");
    EXPECT_TRUE(a) << a.getStatus().message();
    slot = std::move(*a);
  }
  return *slot;
}

/// Contract-initialised weights, with the think logits raised so that
/// sampling at temperature 1 thinks often.
struct Weights {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, const Tensor *> view;

  explicit Weights(const Artifact &a, uint64_t seed = 1) {
    for (const ValueSpec &p : a.parameters()) {
      Tensor t(DType::F32, p.shape);
      initParameter(p.name, seed, t.data<float>(), t.numel());
      view[p.name] = &tensors.emplace(p.name, std::move(t)).first->second;
    }
    // out_norm makes |y| ~ sqrt(d); a shared direction in the think rows
    // of unembed lifts every think logit together.
    Tensor &unembed = tensors.at("unembed.weight");
    int64_t d = unembed.shape()[1];
    for (int64_t v = kVerbal; v < kVerbal + kThink; ++v)
      for (int64_t i = 0; i < d; ++i)
        unembed.data<float>()[v * d + i] += 0.3f;
  }
};

TaskBatch parityBatch(int64_t count) {
  auto task = Task::create("parity:6", kVerbal, kMaxSeq);
  EXPECT_TRUE(task) << task.getStatus().message();
  return trainBatch(**task, 7, 0, count);
}

TEST(Rollouts, LeaveOneOutAdvantagesByHand) {
  // G = 3 rollouts of 2 spans: rows are rollouts.
  std::vector<double> rewards = {1.0, -2.0, //
                                 4.0, 0.0,  //
                                 7.0, 2.0};
  std::vector<double> a = leaveOneOutAdvantages(rewards, 3);
  std::vector<double> expected = {1.0 - 5.5, -2.0 - 1.0, //
                                  4.0 - 4.0, 0.0 - 0.0,  //
                                  7.0 - 2.5, 2.0 + 1.0};
  ASSERT_EQ(a.size(), expected.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_DOUBLE_EQ(a[i], expected[i]) << i;
  // G = 2: each is the difference with the other; equal rewards give 0.
  EXPECT_EQ(leaveOneOutAdvantages({0.5, 0.25}, 2),
            (std::vector<double>{0.25, -0.25}));
  EXPECT_EQ(leaveOneOutAdvantages({3.0, 3.0}, 2),
            (std::vector<double>{0.0, 0.0}));
}

TEST(Rollouts, SamplerMasksThinkIdsAfterMaxThink) {
  // Think logits far above the verbal ones: below max_think they win.
  std::vector<float> z = {0, 1, 0, 0, 0, 0, 50, 60, 50};
  SamplingOptions greedy{kVerbal, 0.0, kMaxThink};
  Sampler s(3);
  EXPECT_EQ(s.sample(z.data(), int64_t(z.size()), greedy, 0), 7);
  EXPECT_EQ(s.sample(z.data(), int64_t(z.size()), greedy, kMaxThink - 1), 7);
  EXPECT_EQ(s.sample(z.data(), int64_t(z.size()), greedy, kMaxThink), 1);
  SamplingOptions sampled{kVerbal, 1.0, kMaxThink};
  for (int i = 0; i < 200; ++i)
    EXPECT_LT(s.sample(z.data(), int64_t(z.size()), sampled, kMaxThink),
              kVerbal);
}

TEST(Rollouts, WalkKeepsThinkRunsAndRowsWithinLimits) {
  const Artifact &a = model();
  Weights w(a);
  TaskBatch b = parityBatch(8);
  auto decoder = Decoder::create(a, w.view, 8 * 3, "test");
  ASSERT_TRUE(decoder) << decoder.getStatus().message();
  auto rows = walk(**decoder, b.ids, b.lengths, b.targetWeight,
                   {3, 1.0, kMaxThink, 11});
  ASSERT_TRUE(rows) << rows.getStatus().message();
  int64_t thinks = 0;
  for (size_t r = 0; r < rows->size(); ++r) {
    const WalkRow &row = (*rows)[r];
    int64_t e = int64_t(r) / 3, length = b.lengths.data<int32_t>()[e];
    EXPECT_LE(int64_t(row.ids.size()), kMaxSeq);
    // The copied tokens are the example, in order.
    std::vector<int32_t> copied;
    int64_t run = 0;
    for (size_t p = 0; p < row.ids.size(); ++p) {
      if (row.source[p] < 0) {
        EXPECT_GE(row.ids[p], kVerbal);
        EXPECT_LE(++run, kMaxThink);
        ++thinks;
        continue;
      }
      run = 0;
      EXPECT_EQ(row.source[p], int32_t(copied.size()));
      copied.push_back(row.ids[p]);
      EXPECT_GE(row.depth[p], 1);
    }
    EXPECT_EQ(copied,
              std::vector<int32_t>(b.ids.data<int32_t>() + e * b.ids.shape()[1],
                                   b.ids.data<int32_t>() +
                                       e * b.ids.shape()[1] + length));
    // One span per answer token (the parity bit and <eos>).
    ASSERT_EQ(row.spans.size(), 2u);
    EXPECT_EQ(row.spans[1].position, length - 1);
    for (const Span &s : row.spans) {
      EXPECT_LE(s.logProb, 0.0);
      EXPECT_EQ(s.correct, s.chosen == copied[s.position]);
    }
  }
  EXPECT_GT(thinks, 0) << "the raised think logits should make rows think";
}

TEST(Rollouts, DeterministicForASeedAndAdvantagesOnSpans) {
  const Artifact &a = model();
  Weights w(a);
  TaskBatch b = parityBatch(4);
  RolloutOptions options{3, kMaxThink, ThinkReward::FirstVerbalLogprob, 5};
  auto run = [&](uint64_t seed) {
    auto decoder = Decoder::create(a, w.view, 4 * 3, "test");
    EXPECT_TRUE(decoder);
    RolloutOptions o = options;
    o.seed = seed;
    auto r = rollout(**decoder, b.ids, b.lengths, b.targetWeight, o);
    EXPECT_TRUE(r) << r.getStatus().message();
    return std::move(*r);
  };
  RolloutBatch first = run(5), again = run(5), other = run(6);
  auto same = [](const Tensor &x, const Tensor &y) {
    return x.shape() == y.shape() &&
           std::memcmp(x.bytes(), y.bytes(), x.byteSize()) == 0;
  };
  EXPECT_TRUE(same(first.ids, again.ids));
  EXPECT_TRUE(same(first.advantage, again.advantage));
  EXPECT_FALSE(same(first.ids, other.ids));

  // Recompute every advantage from a walk with the same seed.
  auto decoder = Decoder::create(a, w.view, 4 * 3, "test");
  auto rows =
      walk(**decoder, b.ids, b.lengths, b.targetWeight, {3, 1.0, kMaxThink, 5});
  ASSERT_TRUE(rows);
  int64_t width = first.ids.shape()[1], thinkingSpans = 0;
  double thinkingAdvantage = 0;
  for (int64_t e = 0; e < 4; ++e) {
    std::vector<double> rewards;
    for (int64_t g = 0; g < 3; ++g)
      for (const Span &s : (*rows)[e * 3 + g].spans)
        rewards.push_back(s.logProb);
    std::vector<double> adv = leaveOneOutAdvantages(rewards, 3);
    for (int64_t g = 0; g < 3; ++g) {
      const WalkRow &row = (*rows)[e * 3 + g];
      int64_t r = e * 3 + g;
      for (size_t k = 0; k < row.spans.size(); ++k)
        if (row.spans[k].thinkTokens > 0) {
          ++thinkingSpans;
          thinkingAdvantage += adv[size_t(g) * 2 + k];
        }
      ASSERT_EQ(first.lengths.data<int32_t>()[r], int32_t(row.ids.size()));
      size_t span = 0;
      for (size_t p = 0; p < row.ids.size(); ++p) {
        float got = first.advantage.data<float>()[r * width + int64_t(p)];
        float weight = first.targetWeight.data<float>()[r * width + int64_t(p)];
        bool inSpan =
            row.source[p] < 0 || (span < row.spans.size() &&
                                  row.source[p] == row.spans[span].position);
        if (inSpan) {
          EXPECT_FLOAT_EQ(got, float(adv[size_t(g) * 2 + span]));
          span += row.source[p] >= 0;
        } else {
          EXPECT_EQ(got, 0.0f);
        }
        if (row.source[p] < 0)
          EXPECT_EQ(weight, 0.0f);
        else
          EXPECT_EQ(weight,
                    b.targetWeight
                        .data<float>()[e * b.ids.shape()[1] + row.source[p]]);
      }
      EXPECT_EQ(span, row.spans.size());
    }
  }
  EXPECT_GT(first.stats.thinkTokens, 0);
  EXPECT_EQ(first.stats.spans, 4 * 3 * 2);
  ASSERT_GT(thinkingSpans, 0);
  EXPECT_EQ(first.stats.thinkingSpans, thinkingSpans);
  EXPECT_NEAR(first.stats.thinkingAdvantage,
              thinkingAdvantage / double(thinkingSpans), 1e-12);
}

TEST(Rollouts, GreedyEvaluationWithoutThinkingIsTeacherForcedArgmax) {
  const Artifact &a = model();
  Weights w(a, 4);
  TaskBatch b = parityBatch(16);
  EvaluateOptions options;
  options.chunk = 5; // several decoders, one of a different size
  auto e = evaluate(a, w.view, b.ids, b.lengths, b.targetWeight, b.scored,
                    options, "test");
  ASSERT_TRUE(e) << e.getStatus().message();
  EXPECT_EQ(e->thinkTokens, 0);
  EXPECT_EQ(e->examples, 16);
  // The same count from @forward's logits.
  std::map<std::string, const Tensor *> values = w.view;
  values["ids"] = &b.ids;
  values["lengths"] = &b.lengths;
  auto out = a.call(*a.entry("forward"), values);
  ASSERT_TRUE(out);
  int64_t t = b.ids.shape()[1], v = a.vocabSize(), exact = 0;
  for (int64_t r = 0; r < 16; ++r) {
    bool right = true;
    for (int64_t p = 1; p < b.lengths.data<int32_t>()[r]; ++p) {
      if (!b.scored.data<int32_t>()[r * t + p])
        continue;
      const float *z = out->at("logits").data<float>() + (r * t + p - 1) * v;
      right &= std::max_element(z, z + kVerbal) - z ==
               b.ids.data<int32_t>()[r * t + p];
    }
    exact += right;
  }
  EXPECT_EQ(e->exact, exact);
  options.maxThink = kMaxThink;
  auto thinking = evaluate(a, w.view, b.ids, b.lengths, b.targetWeight,
                           b.scored, options, "test");
  ASSERT_TRUE(thinking);
  EXPECT_GT(thinking->thinkTokens, 0);
}

TEST(Rollouts, CrossEntropyGradientNeverReachesThinkLogits) {
  // Fixed depth: L = L_ce exactly (no ponder term; advantage 0), so the
  // unembedding rows of think ids get gradient only through their logits.
  const Artifact &a = model("fixed");
  Weights w(a);
  Tensor ids(DType::I32, {2, 6}), lengths(DType::I32, {2}),
      weight(DType::F32, {2, 6}), advantage(DType::F32, {2, 6});
  int32_t rows[2][6] = {{2, 1, 6, 0, 7, 3}, {2, 8, 6, 1, 1, 3}};
  std::copy(&rows[0][0], &rows[0][0] + 12, ids.data<int32_t>());
  lengths.data<int32_t>()[0] = 6;
  lengths.data<int32_t>()[1] = 5;
  std::fill(weight.data<float>(), weight.data<float>() + 12, 1.0f);
  std::map<std::string, const Tensor *> values = w.view;
  values["ids"] = &ids;
  values["lengths"] = &lengths;
  values["target_weight"] = &weight;
  values["advantage"] = &advantage;
  auto out = a.call(*a.entry("grad"), values);
  ASSERT_TRUE(out) << out.getStatus().message();
  const Tensor &g = out->at("grad.unembed.weight");
  int64_t d = g.shape()[1];
  double verbalNorm = 0;
  for (int64_t v = 0; v < kVerbal + kThink; ++v)
    for (int64_t i = 0; i < d; ++i) {
      float x = g.data<float>()[v * d + i];
      if (v >= kVerbal)
        EXPECT_EQ(x, 0.0f) << "think id " << v;
      else
        verbalNorm += double(x) * x;
    }
  EXPECT_GT(verbalNorm, 0.0);
}

/// Teacher-forced exact matches of (ids, lengths, scored) from @forward.
int64_t forwardExact(const Artifact &a, const Weights &w, const Tensor &ids,
                     const Tensor &lengths, const Tensor &scored) {
  std::map<std::string, const Tensor *> values = w.view;
  values["ids"] = &ids;
  values["lengths"] = &lengths;
  auto out = a.call(*a.entry("forward"), values);
  EXPECT_TRUE(out) << out.getStatus().message();
  int64_t b = ids.shape()[0], t = ids.shape()[1], v = a.vocabSize();
  int64_t exact = 0;
  for (int64_t r = 0; r < b; ++r) {
    bool right = true;
    for (int64_t p = 1; p < lengths.data<int32_t>()[r]; ++p) {
      if (!scored.data<int32_t>()[r * t + p])
        continue;
      const float *z = out->at("logits").data<float>() + (r * t + p - 1) * v;
      right &= std::max_element(z, z + kVerbal) - z ==
               ids.data<int32_t>()[r * t + p];
    }
    exact += right;
  }
  return exact;
}

TEST(Rollouts, ThinkingBeforeEveryTokenScoresOnlyTheTargets) {
  const Artifact &a = model();
  Weights w(a, 4);
  TaskBatch b = parityBatch(12);
  EvaluateOptions answer, all;
  all.at = ThinkAt::All;
  auto plain = evaluate(a, w.view, b.ids, b.lengths, b.targetWeight, b.scored,
                        answer, "test");
  auto everywhere = evaluate(a, w.view, b.ids, b.lengths, b.targetWeight,
                             b.scored, all, "test");
  ASSERT_TRUE(plain && everywhere);
  // No thinking: spans before prompt tokens change no score (the decode
  // calls append fewer tokens at a time: rounding differs).
  EXPECT_EQ(everywhere->exact, plain->exact);
  EXPECT_EQ(everywhere->targets, plain->targets);
  EXPECT_NEAR(everywhere->nll, plain->nll, 1e-6 * plain->nll);
  EXPECT_EQ(everywhere->tokens, plain->tokens);
  ASSERT_EQ(everywhere->lengths.size(), 1u);
  EXPECT_EQ(everywhere->lengths[0].targetDepth, plain->lengths[0].targetDepth);
  EXPECT_GT(plain->flops, 0.0);
  EXPECT_DOUBLE_EQ(everywhere->flops, plain->flops);
  // Thinking: thoughts before prompt tokens too, counted per position.
  all.maxThink = kMaxThink;
  auto thinking = evaluate(a, w.view, b.ids, b.lengths, b.targetWeight,
                           b.scored, all, "test");
  ASSERT_TRUE(thinking);
  int64_t prompt = 0, total = 0;
  for (size_t p = 0; p < thinking->positions.size(); ++p) {
    total += thinking->positions[p].thinkTokens;
    if (p >= 1 && p < 8) // parity:6's bits and `|`
      prompt += thinking->positions[p].thinkTokens;
  }
  EXPECT_GT(prompt, 0);
  EXPECT_EQ(total, thinking->thinkTokens);
  EXPECT_EQ(thinking->targets, plain->targets);
  EXPECT_EQ(thinking->tokens, plain->tokens + thinking->thinkTokens);
  EXPECT_GT(thinking->flops, plain->flops);
  EXPECT_DOUBLE_EQ(thinking->thoughtsPerExample(),
                   double(thinking->thinkTokens) / 12);
}

// Thinking only while the prompt is read: the answer is still decided,
// scored and rewarded, with no thought before it.
TEST(Rollouts, ThinkingInThePromptStillDecidesTheAnswer) {
  const Artifact &a = model();
  Weights w(a, 4);
  TaskBatch b = parityBatch(12);
  EvaluateOptions answer, prompt;
  prompt.at = ThinkAt::Prompt;
  auto plain = evaluate(a, w.view, b.ids, b.lengths, b.targetWeight, b.scored,
                        answer, "test");
  auto reading = evaluate(a, w.view, b.ids, b.lengths, b.targetWeight, b.scored,
                          prompt, "test");
  ASSERT_TRUE(plain && reading);
  ASSERT_LT(plain->exact, 12) << "a test that every answer passes";
  EXPECT_EQ(reading->exact, plain->exact);
  EXPECT_EQ(reading->targets, plain->targets);
  prompt.maxThink = kMaxThink;
  auto thinking = evaluate(a, w.view, b.ids, b.lengths, b.targetWeight,
                           b.scored, prompt, "test");
  ASSERT_TRUE(thinking);
  EXPECT_GT(thinking->thinkTokens, 0);
  for (int64_t p : {8, 9}) { // parity:6: the bit and <eos>
    EXPECT_EQ(thinking->positions[p].spans, 12) << p;
    EXPECT_EQ(thinking->positions[p].scored, 12) << p;
    EXPECT_EQ(thinking->positions[p].thinkTokens, 0) << p;
  }

  RolloutOptions options{3, kMaxThink, ThinkReward::InformationGain, 4};
  options.at = ThinkAt::Prompt;
  options.returnToGo = true;
  auto decoder = Decoder::create(a, w.view, 12 * 3, "test");
  auto r = rollout(**decoder, b.ids, b.lengths, b.targetWeight, options);
  ASSERT_TRUE(r) << r.getStatus().message();
  EXPECT_EQ(r->stats.spans, 12 * 3 * 9); // before each of positions 1..9
  EXPECT_GT(r->stats.thinkTokens, 0);
}

class ForcedSlots : public ::testing::TestWithParam<const char *> {};

// Under channel "hidden" the walk's decoder carries each thought's input
// between calls: forced thoughts must still equal @forward's chain.
INSTANTIATE_TEST_SUITE_P(Channels, ForcedSlots,
                         ::testing::Values("token", "hidden"));

TEST_P(ForcedSlots, AreTeacherForcingOnThePlacedBatch) {
  const Artifact &a = model("fixed", GetParam());
  ASSERT_EQ(a.hiddenThoughts(), std::string(GetParam()) == "hidden");
  Weights w(a, 2);
  auto task = Task::create("parity:4", kVerbal, kMaxSeq);
  ASSERT_TRUE(task);
  TaskBatch b = heldOutBatch(**task, 1, 0, 24);
  ThoughtSlots slots{SlotPlace::AfterPrompt, 2};
  auto placed = placeThoughtSlots(b, slots, int32_t(kVerbal), kMaxSeq);
  ASSERT_TRUE(placed) << placed.getStatus().message();
  // The forced walk decodes exactly the placed rows.
  Tensor counts = thoughtCounts(b.targetWeight, b.lengths, slots);
  auto decoder = Decoder::create(a, w.view, 24, "test");
  ASSERT_TRUE(decoder);
  WalkOptions forced{1, 0.0, 0, 0};
  forced.forced = &counts;
  auto rows = walk(**decoder, b.ids, b.lengths, b.targetWeight, forced);
  ASSERT_TRUE(rows) << rows.getStatus().message();
  int64_t width = placed->ids.shape()[1];
  for (int64_t r = 0; r < 24; ++r) {
    const int32_t *row = placed->ids.data<int32_t>() + r * width;
    EXPECT_EQ(
        (*rows)[r].ids,
        std::vector<int32_t>(row, row + placed->lengths.data<int32_t>()[r]));
  }
  EvaluateOptions options;
  options.forcedSlots = slots;
  auto e = evaluate(a, w.view, b.ids, b.lengths, b.targetWeight, b.scored,
                    options, "test");
  ASSERT_TRUE(e) << e.getStatus().message();
  EXPECT_EQ(e->thinkTokens, placed->thoughts);
  EXPECT_EQ(e->thinkTokens, 24 * 4 * 2); // after each of the 4 bits
  EXPECT_EQ(e->exact,
            forwardExact(a, w, placed->ids, placed->lengths, placed->scored));
  EXPECT_EQ(e->positions[2].thinkTokens, 24 * 2);
  EXPECT_EQ(e->positions[1].thinkTokens, 0);
  // Slots that overflow max_seq are one line.
  options.forcedSlots = ThoughtSlots{SlotPlace::AfterPrompt, 3};
  auto over = evaluate(a, w.view, b.ids, b.lengths, b.targetWeight, b.scored,
                       options, "test");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.getStatus().message(),
            "thought slots after-prompt:3 make an example of 8 tokens 20 long, "
            "more than max_seq = 16");
}

TEST(Rollouts, GroupedWalksWriteTheFirstThinkId) {
  const Artifact &a = model();
  Weights w(a);
  TaskBatch b = parityBatch(8);
  auto decoder = Decoder::create(a, w.view, 8 * 3, "test");
  ASSERT_TRUE(decoder);
  WalkOptions grouped{3, 1.0, kMaxThink, 11};
  grouped.grouped = true;
  Tensor opens = spanOpenings(b.targetWeight, b.lengths, ThinkAt::All);
  auto rows = walk(**decoder, b.ids, b.lengths, opens, grouped);
  ASSERT_TRUE(rows) << rows.getStatus().message();
  int64_t thoughts = 0;
  for (const WalkRow &row : *rows) {
    for (size_t p = 0; p < row.ids.size(); ++p)
      if (row.source[p] < 0) {
        EXPECT_EQ(row.ids[p], kVerbal);
        ++thoughts;
      }
    // A span before every position but <bos>.
    EXPECT_EQ(row.spans.size(),
              size_t(row.source.size() - 1) -
                  std::count(row.source.begin(), row.source.end(), -1));
  }
  EXPECT_GT(thoughts, 0);
}

TEST(Rollouts, InformationGainCostsAndReturnsToGo) {
  const Artifact &a = model();
  Weights w(a);
  TaskBatch b = parityBatch(4);
  RolloutOptions options{3, kMaxThink, ThinkReward::InformationGain, 9};
  options.at = ThinkAt::All;
  options.thinkCost = 0.125;
  for (bool toGo : {false, true}) {
    options.returnToGo = toGo;
    options.clampAdvantages = toGo;
    auto decoder = Decoder::create(a, w.view, 4 * 3, "test");
    auto r = rollout(**decoder, b.ids, b.lengths, b.targetWeight, options);
    ASSERT_TRUE(r) << r.getStatus().message();
    (*decoder)->reset();
    Tensor opens = spanOpenings(b.targetWeight, b.lengths, ThinkAt::All);
    auto rows =
        walk(**decoder, b.ids, b.lengths, opens, {3, 1.0, kMaxThink, 9});
    ASSERT_TRUE(rows);
    int64_t t = b.ids.shape()[1], width = r->ids.shape()[1];
    int64_t thinkingSpans = 0;
    for (int64_t e = 0; e < 4; ++e) {
      std::vector<double> rewards;
      for (int64_t g = 0; g < 3; ++g)
        for (const Span &s : (*rows)[e * 3 + g].spans) {
          if (s.thinkTokens == 0) // the same logits: exactly 0
            EXPECT_EQ(s.startLogProb, s.logProb);
          else
            ++thinkingSpans;
          float weight = b.targetWeight.data<float>()[e * t + s.position];
          double gain = weight > 0 ? s.logProb - s.startLogProb : 0.0;
          rewards.push_back(gain - 0.125 * s.thinkTokens);
        }
      std::vector<double> adv =
          leaveOneOutAdvantages(toGo ? returnsToGo(rewards, 3) : rewards, 3);
      if (toGo)
        adv = clampAdvantages(adv);
      size_t spans = rewards.size() / 3;
      for (int64_t g = 0; g < 3; ++g) {
        const WalkRow &row = (*rows)[e * 3 + g];
        size_t k = 0;
        for (size_t p = 0; p < row.ids.size(); ++p) {
          bool inSpan = row.source[p] < 0 ||
                        (k < spans && row.source[p] == row.spans[k].position);
          float got = r->advantage.data<float>()[(e * 3 + g) * width + p];
          EXPECT_FLOAT_EQ(got, inSpan ? float(adv[g * spans + k]) : 0.0f);
          k += inSpan && row.source[p] >= 0;
        }
      }
    }
    EXPECT_GT(thinkingSpans, 0);
  }
}

std::string slurp(const std::string &path);

TEST(Rollouts, GenerateShowsThoughtsOnlyWhenAsked) {
  // With the raised think logits greedy decoding thinks now and then;
  // --show-thoughts prints each think token as <tK>, in its place.
  const Artifact &a = model();
  Weights w(a);
  std::string dir = ::testing::TempDir() + "/rollouts_act";
  std::vector<std::pair<std::string, const Tensor *>> named;
  for (const auto &[name, t] : w.tensors)
    named.emplace_back(name, &t);
  ASSERT_TRUE(writeSafetensors(dir + "/w.safetensors", named, {}));
  auto generate = [&](const std::string &flags) {
    std::string command = std::string(PONDER_PATH) + " generate " + dir +
                          "/model.toml --weights " + dir +
                          "/w.safetensors --vocab parity --prompt 01 "
                          "--max-new 9 " +
                          flags + " > " + dir + "/out.txt 2>/dev/null";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return slurp(dir + "/out.txt");
  };
  std::string shown = generate("--show-thoughts");
  std::string hidden = generate("");
  std::stringstream ids(generate("--print-ids"));
  int thoughts = 0;
  for (int id; ids >> id;)
    thoughts += id >= kVerbal;
  ASSERT_GT(thoughts, 0) << "the raised think logits should make it think";
  // Shown: every think token as <tK> in its place; hidden: none of them.
  std::string stripped;
  int marks = 0;
  for (size_t at = 0; at < shown.size(); ++at) {
    if (shown.compare(at, 2, "<t") == 0 && at + 3 < shown.size() &&
        shown[at + 3] == '>') {
      EXPECT_LT(shown[at + 2] - '0', kThink) << shown;
      ++marks;
      at += 3;
      continue;
    }
    stripped += shown[at];
  }
  EXPECT_EQ(marks, thoughts) << shown;
  EXPECT_EQ(stripped, hidden) << shown;
}

std::string slurp(const std::string &path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Rollouts, ThinkTrainingRaisesTheMeanReward) {
  std::string dir = ::testing::TempDir() + "/rollouts_train";
  ASSERT_EQ(std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()), 0);
  std::ofstream(dir + "/model.toml")
      << "[model]\nverbal_vocab = 6\nthink_vocab = 4\nd_model = 32\n"
         "n_heads = 2\nd_ff = 64\nmax_seq = 24\n[depth]\nhalting = \"act\"\n"
         "max_steps = 2\n[think]\nmax_think = 4\nrollouts = 4\n";
  std::string train = std::string(PONDER_PATH) + " train " + dir +
                      "/model.toml --task parity:3 --think --steps 80 "
                      "--batch 16 --lr 0.01 --out " +
                      dir + "/ckpt.safetensors > " + dir + "/train.txt 2>&1";
  ASSERT_EQ(std::system(train.c_str()), 0) << slurp(dir + "/train.txt");
  std::ifstream csv(dir + "/ckpt.csv");
  std::string line;
  std::getline(csv, line);
  ASSERT_NE(line.find(",reward,"), std::string::npos) << line;
  std::vector<double> rewards;
  while (std::getline(csv, line)) {
    std::vector<std::string> fields;
    std::stringstream s(line);
    std::string f;
    while (std::getline(s, f, ','))
      fields.push_back(f);
    ASSERT_GE(fields.size(), 11u) << line;
    rewards.push_back(std::stod(fields[10]));
  }
  ASSERT_EQ(rewards.size(), 80u);
  auto mean = [&](size_t first) {
    double sum = 0;
    for (size_t i = first; i < first + 10; ++i)
      sum += rewards[i];
    return sum / 10;
  };
  EXPECT_GT(mean(70), mean(0) + 0.1)
      << "first steps " << mean(0) << ", last steps " << mean(70);

  // ponder eval --think on the checkpoint: the report, the per-position
  // CSV and the plot, with the training curves from ckpt.csv (kept intact).
  std::string eval = std::string(PONDER_PATH) + " eval " + dir +
                     "/model.toml --weights " + dir +
                     "/ckpt.safetensors --task parity:3 --think --examples 64 "
                     "--plot " +
                     dir + "/eval.png > " + dir + "/eval.txt 2>&1";
  ASSERT_EQ(std::system(eval.c_str()), 0) << slurp(dir + "/eval.txt");
  std::string report = slurp(dir + "/eval.txt");
  EXPECT_NE(report.find("parity:3: held-out accuracy "), std::string::npos)
      << report;
  EXPECT_NE(report.find("(greedy, thinking)"), std::string::npos) << report;
  EXPECT_NE(report.find("think tokens per verbal token"), std::string::npos);
  std::string positions = slurp(dir + "/eval.positions.csv");
  EXPECT_EQ(positions.rfind("position,token,scored,count,think_tokens,depth,"
                            "think_depth,accuracy,nll\n0,<bos>,0,64,",
                            0),
            0u)
      << positions;
  EXPECT_EQ(slurp(dir + "/eval.png").rfind("\x89PNG", 0), 0u);
  EXPECT_EQ(slurp(dir + "/ckpt.csv").rfind("step,loss,", 0), 0u);
}

} // namespace
