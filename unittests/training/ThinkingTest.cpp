//===- ThinkingTest.cpp - Think-or-speak decisions and span rewards -------===//
//
// The pieces of rollouts and evaluation that need no compiled model, on
// hand-made logits and spans: the grouped think-vs-speak decision (greedy
// and sampled, MODEL.md §9), the think floor, v1's draw kept exactly, the
// information-gain reward, clamped advantages, returns-to-go and where spans
// open.
//
//===----------------------------------------------------------------------===//

#include "training/Rollouts.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace ponder;

namespace {

constexpr int64_t kVerbal = 6, kVocab = 9;

// Verbal 2, 0 x5; think 1.5 x3. The top id is verbal (0), but the think
// ids together hold 3 e^1.5 / (e^2 + 5 + 3 e^1.5) = 0.5204 of the mass.
const std::vector<float> kCloseCall = {2, 0, 0, 0, 0, 0, 1.5f, 1.5f, 1.5f};

double closeCallThink() {
  double think = 3 * std::exp(1.5);
  return think / (std::exp(2.0) + 5 + think);
}

ThinkChoice choice(double temperature, bool grouped, double floor = 0) {
  return {kVerbal, kVocab, temperature, grouped, floor};
}

TEST(Thinking, GroupedThinkProbabilitySumsTheThinkIds) {
  EXPECT_NEAR(thinkProbability(kCloseCall.data(), kVerbal, kVocab),
              closeCallThink(), 1e-12);
  EXPECT_EQ(thinkProbability(kCloseCall.data(), kVerbal, kVerbal), 0.0);
  // At temperature 2: softmax(z / 2).
  double think = 3 * std::exp(0.75);
  EXPECT_NEAR(thinkProbability(kCloseCall.data(), kVerbal, kVocab, 2.0),
              think / (std::exp(1.0) + 5 + think), 1e-12);
}

TEST(Thinking, GreedyGroupedDecisionThinksAboveOneHalf) {
  Sampler s(1);
  // The full argmax speaks (id 0); the grouped decision thinks, writing Vv.
  EXPECT_EQ(chooseNext(s, kCloseCall.data(), choice(0, false), true), 0);
  EXPECT_EQ(chooseNext(s, kCloseCall.data(), choice(0, true), true), kVerbal);
  // Masked: the verbal argmax.
  EXPECT_EQ(chooseNext(s, kCloseCall.data(), choice(0, true), false), 0);
  // Just below one half: speak, the verbal argmax.
  std::vector<float> z = kCloseCall;
  z[1] = 1; // more verbal mass: 0.5204 -> 0.488
  ASSERT_LT(thinkProbability(z.data(), kVerbal, kVocab), 0.5);
  EXPECT_EQ(chooseNext(s, z.data(), choice(0, true), true), 0);
  // A think id on top of the full argmax but 3 verbal ids close behind:
  // v1 thinks with that id, grouped speaks.
  std::vector<float> top = {2, 2, 2, 0, 0, 0, 2.1f, -9, -9};
  EXPECT_EQ(chooseNext(s, top.data(), choice(0, false), true), 6);
  EXPECT_EQ(chooseNext(s, top.data(), choice(0, true), true), 0);
}

TEST(Thinking, GroupedSamplingDrawsThinkWithItsProbability) {
  Sampler s(7);
  const int draws = 40000;
  int thoughts = 0, zeros = 0;
  for (int i = 0; i < draws; ++i) {
    int32_t id = chooseNext(s, kCloseCall.data(), choice(1, true), true);
    ASSERT_TRUE(id == kVerbal || id < kVerbal) << id; // a thought is Vv
    thoughts += id == kVerbal;
    zeros += id == 0;
  }
  double p = closeCallThink();
  EXPECT_NEAR(double(thoughts) / draws, p, 0.01);
  // Speaking draws over the verbal ids alone: id 0 has e^2 / (e^2 + 5).
  double verbalZero = std::exp(2.0) / (std::exp(2.0) + 5);
  EXPECT_NEAR(double(zeros) / (draws - thoughts), verbalZero, 0.015);
}

TEST(Thinking, TheFloorKeepsThinkingAlive) {
  // Think ids far below: without the floor a thought is (almost) never
  // drawn; with floor 0.3, three draws in ten think.
  std::vector<float> z = {3, 1, 0, 0, 0, 0, -20, -20, -20};
  for (bool grouped : {true, false}) {
    Sampler s(11);
    const int draws = 20000;
    int floored = 0, plain = 0;
    for (int i = 0; i < draws; ++i) {
      int32_t id = chooseNext(s, z.data(), choice(1, grouped, 0.3), true);
      floored += id >= kVerbal;
      plain += chooseNext(s, z.data(), choice(1, grouped), true) >= kVerbal;
      // Masked (max_think reached): never.
      ASSERT_LT(chooseNext(s, z.data(), choice(1, grouped, 0.3), false),
                kVerbal);
    }
    EXPECT_NEAR(double(floored) / draws, 0.3, 0.015) << grouped;
    EXPECT_EQ(plain, 0) << grouped;
  }
  // Greedy decisions ignore the floor.
  Sampler s(2);
  EXPECT_EQ(chooseNext(s, z.data(), choice(0, true, 0.9), true), 0);
}

TEST(Thinking, TokenChannelWithoutFloorIsV1sDraw) {
  Sampler a(5), b(5);
  SamplingOptions v1{kVerbal, 1.0, 2};
  for (int i = 0; i < 500; ++i) {
    int64_t run = i % 3; // max_think 2: masked at 2
    EXPECT_EQ(chooseNext(a, kCloseCall.data(), choice(1, false), run < 2),
              b.sample(kCloseCall.data(), kVocab, v1, run))
        << i;
  }
}

TEST(Thinking, InformationGainIsTheChangeOfTheTrueTokensLogProb) {
  Span s;
  s.logProb = -0.25;
  s.startLogProb = -2.0;
  s.correct = true;
  s.thinkTokens = 3;
  EXPECT_DOUBLE_EQ(spanReward(s, ThinkReward::InformationGain), 1.75);
  EXPECT_DOUBLE_EQ(spanReward(s, ThinkReward::FirstVerbalLogprob), -0.25);
  EXPECT_DOUBLE_EQ(spanReward(s, ThinkReward::FirstVerbalCorrect), 1.0);
  s.thinkTokens = 0; // no thoughts: nothing gained, whatever was recorded
  EXPECT_EQ(spanReward(s, ThinkReward::InformationGain), 0.0);
  ASSERT_TRUE(parseThinkReward("information_gain"));
  EXPECT_EQ(*parseThinkReward("information_gain"),
            ThinkReward::InformationGain);
  EXPECT_EQ(parseThinkReward("gain").getStatus().message(),
            "unknown think reward 'gain'; expected first_verbal_logprob, "
            "first_verbal_correct or information_gain");
}

TEST(Thinking, ClampedAdvantagesAndReturnsToGo) {
  EXPECT_EQ(clampAdvantages({-1.5, 0.0, 2.0, -0.0}),
            (std::vector<double>{0.0, 0.0, 2.0, 0.0}));
  // G = 2 rollouts of 3 spans: each the sum of itself and the later ones.
  std::vector<double> rewards = {1, 2,  3, //
                                 0, -1, 4};
  EXPECT_EQ(returnsToGo(rewards, 2), (std::vector<double>{6, 5, 3, //
                                                          3, 3, 4}));
  // Leave-one-out then clamp: the loser of each span gets 0.
  std::vector<double> a =
      clampAdvantages(leaveOneOutAdvantages(returnsToGo(rewards, 2), 2));
  EXPECT_EQ(a, (std::vector<double>{3, 2, 0, 0, 0, 1}));
}

TEST(Thinking, SpansOpenWhereThinkAtSays) {
  // One row: <bos> a b = 1 <eos> <pad>: length 6, targets at 4 and 5.
  Tensor weight(DType::F32, {1, 7}), lengths(DType::I32, {1});
  float w[7] = {0, 0, 0, 0, 1, 1, 0};
  std::copy(w, w + 7, weight.data<float>());
  lengths.data<int32_t>()[0] = 6;
  auto row = [&](ThinkAt at) {
    Tensor opens = spanOpenings(weight, lengths, at);
    return std::vector<int32_t>(opens.data<int32_t>(),
                                opens.data<int32_t>() + 7);
  };
  EXPECT_EQ(row(ThinkAt::Answer), (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 0}));
  EXPECT_EQ(row(ThinkAt::Prompt), (std::vector<int32_t>{0, 1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(row(ThinkAt::All), (std::vector<int32_t>{0, 1, 1, 1, 1, 1, 0}));
  // Decisions: wherever thoughts may go and before every target.
  auto decisions = [&](ThinkAt at) {
    Tensor d = decisionPoints(weight, lengths, at);
    return std::vector<int32_t>(d.data<int32_t>(), d.data<int32_t>() + 7);
  };
  EXPECT_EQ(decisions(ThinkAt::Answer), row(ThinkAt::Answer));
  EXPECT_EQ(decisions(ThinkAt::Prompt), row(ThinkAt::All));
  EXPECT_EQ(decisions(ThinkAt::All), row(ThinkAt::All));
  for (ThinkAt at : {ThinkAt::Answer, ThinkAt::Prompt, ThinkAt::All})
    EXPECT_EQ(*parseThinkAt(thinkAtName(at)), at);
  EXPECT_EQ(parseThinkAt("everywhere").getStatus().message(),
            "unknown think-at 'everywhere'; expected answer, prompt or all");
}

} // namespace
