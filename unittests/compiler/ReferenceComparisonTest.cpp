//===- ReferenceComparisonTest.cpp - Compiled model vs the reference ------===//
//
// The compiled @forward and @loss (float32) against the independent
// double-precision reference of the contract (test/reference/), for every
// halting mode, with think tokens, padding, varied lengths, label smoothing
// and reference-model soft targets; compiled by the CPU pipeline (with
// either attention lowering) and by the CUDA pipeline's mapping with its
// launches run on the host (the numerics of the GPU path, checked without a
// GPU).
// Tolerances: 1e-4 of the largest magnitude for logits and losses; `steps`
// exactly.
//
//===----------------------------------------------------------------------===//

#include "unittests/compiler/JitModel.h"

#include "test/reference/ContractReference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

using namespace ponder;
using namespace ponder::testing;

namespace {

struct Case {
  Halting halting;
  double smoothing, referenceMix;
  const char *name;
};

reference::Halting toReference(Halting h) {
  switch (h) {
  case Halting::Fixed:
    return reference::Halting::Fixed;
  case Halting::Act:
    return reference::Halting::Act;
  case Halting::PonderNet:
    return reference::Halting::PonderNet;
  }
  return reference::Halting::Fixed;
}

class ReferenceComparison : public ::testing::TestWithParam<Case> {};

TEST_P(ReferenceComparison, ForwardAndLossMatch) {
  const Case &c = GetParam();
  ModelDescription desc;
  desc.model = {
      /*verbalVocab=*/9, /*thinkVocab=*/4, /*dModel=*/16,
      /*nHeads=*/4,      /*dFF=*/24,       /*maxSeq=*/10,
      /*normEps=*/1e-5};
  desc.depth.halting = c.halting;
  desc.depth.maxSteps = 5;
  desc.depth.actEpsilon = 0.05;
  desc.depth.ponderCost = 0.03;
  desc.depth.priorLambda = 0.3;
  desc.depth.klBeta = 0.02;
  desc.loss.smoothing = c.smoothing;
  desc.loss.referenceMix = c.referenceMix;
  desc.loss.referenceTemperature = 1.5;
  desc.loss.policyWeight = 0.7;

  reference::Config config;
  config.verbalVocab = desc.model.verbalVocab;
  config.thinkVocab = desc.model.thinkVocab;
  config.dModel = desc.model.dModel;
  config.nHeads = desc.model.nHeads;
  config.dFF = desc.model.dFF;
  config.maxSeq = desc.model.maxSeq;
  config.normEps = desc.model.normEps;
  config.halting = toReference(c.halting);
  config.maxSteps = desc.depth.maxSteps;
  config.actEpsilon = desc.depth.actEpsilon;
  config.ponderCost = desc.depth.ponderCost;
  config.priorLambda = desc.depth.priorLambda;
  config.klBeta = desc.depth.klBeta;
  config.smoothing = desc.loss.smoothing;
  config.referenceMix = desc.loss.referenceMix;
  config.referenceTemperature = desc.loss.referenceTemperature;
  config.policyWeight = desc.loss.policyWeight;

  // Weights large enough for varied halting; both sides see the same
  // float32 values.
  reference::Weights refWeights =
      reference::randomWeights(config, /*seed=*/1234, /*scale=*/0.4,
                               /*haltBias=*/0.0);
  WeightMap weights;
  for (auto &[name, tensor] : refWeights.tensors) {
    std::vector<float> w(tensor.begin(), tensor.end());
    for (size_t i = 0; i < w.size(); ++i)
      tensor[i] = w[i];
    weights[name] = std::move(w);
  }

  // Three rows of lengths 8, 5 and 1 over T = 8, ids of both kinds.
  const int64_t b = 3, t = 8, v = desc.model.vocabSize();
  std::mt19937 rng(99);
  std::uniform_int_distribution<int32_t> id(0, v - 1);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  BatchInput batch;
  batch.batch = b;
  batch.length = t;
  batch.lengths = {8, 5, 1};
  for (int64_t i = 0; i < b * t; ++i) {
    batch.ids.push_back(id(rng));
    batch.targetWeight.push_back(i % 5 == 3 ? 0.0f : 1.0f);
    batch.advantage.push_back(uniform(rng));
  }
  if (c.referenceMix > 0)
    for (int64_t i = 0; i < b * t * v; ++i)
      batch.referenceLogits.push_back(2.0f * uniform(rng));

  reference::Batch refBatch =
      reference::makeBatch(b, t, batch.ids, batch.lengths);
  refBatch.targetWeight.assign(batch.targetWeight.begin(),
                               batch.targetWeight.end());
  refBatch.advantage.assign(batch.advantage.begin(), batch.advantage.end());
  refBatch.referenceLogits.assign(batch.referenceLogits.begin(),
                                  batch.referenceLogits.end());
  reference::Outputs expected = reference::run(config, refWeights, refBatch);
  ASSERT_TRUE(expected.error.empty()) << expected.error;

  for (JitModel::Backend backend :
       {JitModel::Backend::Cpu, JitModel::Backend::CpuScoreMatrices,
        JitModel::Backend::EmulatedGpu}) {
    SCOPED_TRACE(backend == JitModel::Backend::Cpu ? "cpu"
                 : backend == JitModel::Backend::CpuScoreMatrices
                     ? "cpu, score matrices"
                     : "emulated gpu");
    std::string error;
    std::unique_ptr<JitModel> model = JitModel::compile(desc, error, backend);
    ASSERT_TRUE(model) << error;
    ModelOutputs forward = model->forward(weights, batch);
    ModelOutputs loss = model->loss(weights, batch);

    double largest = 0;
    for (double x : expected.logits)
      largest = std::max(largest, std::abs(x));
    double tolerance = 1e-4 * std::max(1.0, largest);
    std::set<int32_t> depths;
    for (int64_t row = 0; row < b; ++row)
      for (int64_t pos = 0; pos < batch.lengths[row]; ++pos) {
        int64_t i = row * t + pos;
        depths.insert(expected.steps[i]);
        EXPECT_EQ(forward.steps[i], expected.steps[i])
            << "row " << row << " position " << pos;
        EXPECT_NEAR(forward.remainder[i], expected.remainder[i], 1e-4);
        for (int64_t k = 0; k < v; ++k)
          EXPECT_NEAR(forward.logits[i * v + k], expected.logits[i * v + k],
                      tolerance)
              << "row " << row << " position " << pos << " id " << k;
      }
    if (c.halting != Halting::Fixed)
      EXPECT_GT(depths.size(), 1u) << "the case should exercise varied depth";

    auto near = [](double a, double b) {
      return std::abs(a - b) <= 1e-4 * std::max(1.0, std::abs(b));
    };
    EXPECT_PRED2(near, loss.ce, expected.lossCe);
    EXPECT_PRED2(near, loss.ponder, expected.lossPonder);
    EXPECT_PRED2(near, loss.policy, expected.lossPolicy);
    EXPECT_PRED2(near, loss.loss, expected.loss);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Contract, ReferenceComparison,
    ::testing::Values(Case{Halting::Fixed, 0.0, 0.0, "fixed"},
                      Case{Halting::Act, 0.0, 0.0, "act"},
                      Case{Halting::PonderNet, 0.0, 0.0, "pondernet"},
                      Case{Halting::Act, 0.1, 0.3, "act_soft_targets"},
                      Case{Halting::PonderNet, 0.2, 0.25,
                           "pondernet_soft_targets"}),
    [](const ::testing::TestParamInfo<Case> &info) {
      return std::string(info.param.name);
    });

} // namespace
