//===- CompiledModelTest.cpp - Properties of compiled models --------------===//
//
// Runs @forward and @loss compiled through the CPU pipeline and checks the
// invariants of MODEL.md §1, §4 and §5 that hold for any weights: causality,
// padding that influences nothing, halting ranges, the loss composition.
//
//===----------------------------------------------------------------------===//

#include "unittests/compiler/JitModel.h"

#include "frontend/BuildModel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

using namespace ponder;
using namespace ponder::testing;

namespace {

ModelDescription tinyModel(Halting halting) {
  ModelDescription desc;
  desc.model.verbalVocab = 7;
  desc.model.thinkVocab = 3;
  desc.model.dModel = 8;
  desc.model.nHeads = 2;
  desc.model.dFF = 16;
  desc.model.maxSeq = 12;
  desc.depth.halting = halting;
  desc.depth.maxSteps = 4;
  desc.depth.actEpsilon = 0.05;
  desc.loss.smoothing = 0.1;
  return desc;
}

/// Weights large enough that halting varies across positions.
WeightMap randomWeights(const ModelDescription &desc, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  WeightMap weights;
  for (const ParameterSpec &p : getParameters(desc)) {
    size_t count = 1;
    for (int64_t d : p.shape)
      count *= d;
    std::vector<float> w(count);
    for (float &x : w)
      x = normal(rng);
    if (p.name.find("norm") != std::string::npos)
      for (float &x : w)
        x = 1.0f + 0.1f * x;
    weights[p.name] = std::move(w);
  }
  return weights;
}

BatchInput randomBatch(const ModelDescription &desc, unsigned seed) {
  std::mt19937 rng(seed);
  BatchInput batch;
  batch.batch = 3;
  batch.length = 7;
  batch.lengths = {7, 4, 1};
  std::uniform_int_distribution<int32_t> id(0, desc.model.vocabSize() - 1);
  for (int64_t i = 0; i < batch.batch * batch.length; ++i)
    batch.ids.push_back(id(rng));
  batch.targetWeight.assign(batch.ids.size(), 1.0f);
  std::uniform_real_distribution<float> adv(-1.0f, 1.0f);
  for (size_t i = 0; i < batch.ids.size(); ++i)
    batch.advantage.push_back(adv(rng));
  return batch;
}

class CompiledModel : public ::testing::TestWithParam<Halting> {
protected:
  void SetUp() override {
    desc = tinyModel(GetParam());
    std::string error;
    model = JitModel::compile(desc, error);
    ASSERT_TRUE(model) << error;
    weights = randomWeights(desc, 7);
    batch = randomBatch(desc, 11);
  }
  int64_t vocab() const { return desc.model.vocabSize(); }

  ModelDescription desc;
  std::unique_ptr<JitModel> model;
  WeightMap weights;
  BatchInput batch;
};

// Every position depends only on positions <= t (MODEL.md §4).
TEST_P(CompiledModel, IsCausal) {
  ModelOutputs before = model->forward(weights, batch);
  const int64_t changed = 4; // row 0, position 4
  batch.ids[changed] = (batch.ids[changed] + 1) % vocab();
  ModelOutputs after = model->forward(weights, batch);
  for (int64_t t = 0; t < changed; ++t) {
    EXPECT_EQ(before.steps[t], after.steps[t]) << "position " << t;
    EXPECT_NEAR(before.remainder[t], after.remainder[t], 1e-6);
    for (int64_t v = 0; v < vocab(); ++v)
      EXPECT_NEAR(before.logits[t * vocab() + v], after.logits[t * vocab() + v],
                  1e-5)
          << "position " << t << " id " << v;
  }
}

// Positions t >= lengths[b] influence nothing and report N = R = 0.
TEST_P(CompiledModel, PaddingInfluencesNothing) {
  ModelOutputs before = model->loss(weights, batch);
  BatchInput padded = batch;
  for (int64_t b = 0; b < batch.batch; ++b)
    for (int64_t t = batch.lengths[b]; t < batch.length; ++t) {
      int64_t i = b * batch.length + t;
      padded.ids[i] = (padded.ids[i] + 3) % vocab();
      padded.advantage[i] = 5.0f;
      EXPECT_EQ(before.steps[i], 0) << "padding " << i;
      EXPECT_EQ(before.remainder[i], 0.0f) << "padding " << i;
    }
  ModelOutputs after = model->loss(weights, padded);
  EXPECT_NEAR(before.loss, after.loss, 1e-5);
  EXPECT_NEAR(before.policy, after.policy, 1e-5);
  for (int64_t b = 0; b < batch.batch; ++b)
    for (int64_t t = 0; t < batch.lengths[b]; ++t) {
      int64_t i = b * batch.length + t;
      EXPECT_EQ(before.steps[i], after.steps[i]);
      for (int64_t v = 0; v < vocab(); ++v)
        EXPECT_NEAR(before.logits[i * vocab() + v],
                    after.logits[i * vocab() + v], 1e-5);
    }
}

// 1 <= N <= N_max and 0 <= R <= 1 at valid positions (MODEL.md §4).
TEST_P(CompiledModel, HaltingIsInRange) {
  ModelOutputs out = model->forward(weights, batch);
  std::set<int32_t> depths;
  for (int64_t b = 0; b < batch.batch; ++b)
    for (int64_t t = 0; t < batch.lengths[b]; ++t) {
      int64_t i = b * batch.length + t;
      depths.insert(out.steps[i]);
      EXPECT_GE(out.steps[i], 1);
      EXPECT_LE(out.steps[i], desc.depth.maxSteps);
      EXPECT_GE(out.remainder[i], 0.0f);
      EXPECT_LE(out.remainder[i], 1.0f);
      if (GetParam() == Halting::Fixed)
        EXPECT_EQ(out.steps[i], desc.depth.maxSteps);
    }
  // These weights make adaptive depth differ between positions, so the
  // checks above see more than one depth.
  if (GetParam() != Halting::Fixed)
    EXPECT_GT(depths.size(), 1u);
}

// L = L_ce + w L_ponder + lambda_pg L_pg; @loss's logits are @forward's.
TEST_P(CompiledModel, LossComposesItsTerms) {
  ModelOutputs forward = model->forward(weights, batch);
  ModelOutputs loss = model->loss(weights, batch);
  EXPECT_TRUE(std::isfinite(loss.loss));
  EXPECT_GT(loss.ce, 0.0f);
  EXPECT_NEAR(loss.loss,
              loss.ce + desc.ponderWeight() * loss.ponder +
                  desc.loss.policyWeight * loss.policy,
              1e-5);
  if (GetParam() == Halting::Fixed)
    EXPECT_EQ(loss.ponder, 0.0f);
  else
    EXPECT_GT(loss.ponder, 0.0f);
  ASSERT_EQ(forward.logits.size(), loss.logits.size());
  for (size_t i = 0; i < forward.logits.size(); ++i)
    EXPECT_EQ(forward.logits[i], loss.logits[i]);
  EXPECT_EQ(forward.steps, loss.steps);
}

INSTANTIATE_TEST_SUITE_P(AllModes, CompiledModel,
                         ::testing::Values(Halting::Fixed, Halting::Act,
                                           Halting::PonderNet),
                         [](const ::testing::TestParamInfo<Halting> &info) {
                           return stringifyHalting(info.param).str();
                         });

} // namespace
