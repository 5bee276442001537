//===- ContractReferenceTest.cpp - Tests of the contract reference --------===//
//
// The reference is the oracle for every backend, so it is itself checked
// against values worked out by hand from MODEL.md and against the invariants
// the contract states (causality, padding, halting distributions, losses).
//
//===----------------------------------------------------------------------===//

#include "test/reference/ContractReference.h"
#include "test/reference/ReferenceGradients.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace ponder::reference;

namespace {

constexpr double kTol = 1e-12;

double logit(double p) { return std::log(p / (1.0 - p)); }

double logSumExp(const double *z, int64_t begin, int64_t end) {
  double maxZ = z[begin], sum = 0;
  for (int64_t i = begin; i < end; ++i)
    maxZ = std::max(maxZ, z[i]);
  for (int64_t i = begin; i < end; ++i)
    sum += std::exp(z[i] - maxZ);
  return maxZ + std::log(sum);
}

/// Vv = 5, Vt = 3, d = 8, h = 2, N_max = 4: small, yet every path is taken.
Config tinyConfig(Halting halting) {
  Config config;
  config.verbalVocab = 5;
  config.thinkVocab = 3;
  config.dModel = 8;
  config.nHeads = 2;
  config.dFF = 12;
  config.maxSeq = 8;
  config.maxSteps = 4;
  config.halting = halting;
  return config;
}

/// Two rows, the first padded; verbal (< 5) and think (>= 5) ids mixed.
Batch tinyBatch() {
  Batch batch =
      makeBatch(2, 7, {1, 5, 6, 2, 0, 3, 7, 4, 2, 7, 5, 1, 0, 3}, {5, 7});
  batch.advantage = {0, 0.5,  -1.0, 2.0, 0.25, 9,    9,
                     0, -0.5, 1.5,  0,   0.75, -2.0, 1.0};
  batch.targetWeight = {1, 1, 1, 0.5, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1};
  return batch;
}

/// Logits of position t in row b, [V].
const double *logitsAt(const Config &config, const Outputs &out,
                       const Batch &batch, int64_t b, int64_t t) {
  return &out.logits[(b * batch.T + t) * config.vocab()];
}

/// The CE term of target t (predicted at t - 1) for a function of the
/// predicting logits: pondernet mixes the steps' CEs with p (MODEL.md §5).
template <typename CeFn>
double targetCe(const Config &config, const Outputs &out, const Batch &batch,
                int64_t b, int64_t t, CeFn ce) {
  if (config.halting != Halting::PonderNet)
    return ce(logitsAt(config, out, batch, b, t - 1));
  const int64_t B = batch.B, T = batch.T, V = config.vocab();
  double sum = 0;
  for (int64_t n = 0; n < config.maxSteps; ++n)
    sum += out.haltProbs[(n * B + b) * T + t - 1] *
           ce(&out.stepLogits[((n * B + b) * T + t - 1) * V]);
  return sum;
}

/// L_ce recomputed from the outputs for a per-target CE function.
template <typename CeFn>
double expectedLossCe(const Config &config, const Outputs &out,
                      const Batch &batch, CeFn ce) {
  double sum = 0, mask = 0;
  for (int64_t b = 0; b < batch.B; ++b)
    for (int64_t t = 1; t < batch.lengths[b]; ++t) {
      int32_t token = batch.ids[b * batch.T + t];
      if (token >= config.verbalVocab)
        continue;
      double m = batch.targetWeight[b * batch.T + t];
      sum += m * targetCe(config, out, batch, b, t,
                          [&](const double *z) { return ce(z, token); });
      mask += m;
    }
  return sum / std::max(1.0, mask);
}

/// -l_x, the unsmoothed verbal CE.
double verbalNll(const Config &config, const double *z, int32_t token) {
  return -(z[token] - logSumExp(z, 0, config.verbalVocab));
}

void expectSameValidPositions(const Config &config, const Outputs &a,
                              const Outputs &b, int64_t T, int64_t row,
                              int64_t upTo, int64_t aT = -1) {
  if (aT < 0)
    aT = T;
  ASSERT_EQ(a.error, "");
  ASSERT_EQ(b.error, "");
  const int64_t V = config.vocab();
  for (int64_t t = 0; t < upTo; ++t) {
    EXPECT_EQ(a.steps[row * aT + t], b.steps[row * T + t]) << "t = " << t;
    EXPECT_NEAR(a.remainder[row * aT + t], b.remainder[row * T + t], kTol);
    for (int64_t v = 0; v < V; ++v)
      EXPECT_NEAR(a.logits[(row * aT + t) * V + v],
                  b.logits[(row * T + t) * V + v], kTol)
          << "t = " << t << ", v = " << v;
  }
}

//===----------------------------------------------------------------------===//
// Building blocks by hand (MODEL.md §4)
//===----------------------------------------------------------------------===//

TEST(ContractReferenceBlocks, GeluIsTheTanhForm) {
  // Values of 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), computed apart.
  EXPECT_EQ(gelu(0.0), 0.0);
  EXPECT_NEAR(gelu(1.0), 0.8411919906082768, kTol);
  EXPECT_NEAR(gelu(-1.0), -0.15880800939172324, kTol);
  EXPECT_NEAR(gelu(2.0), 1.954597694087775, kTol);
  EXPECT_NEAR(gelu(-3.0), -0.0036373920817729943, kTol);
}

TEST(ContractReferenceBlocks, RmsNormByHand) {
  // mean(x^2) = (9 + 16) / 2 = 12.5.
  Tensor y = rmsNorm({3, 4}, {1, 2}, 0.0);
  EXPECT_NEAR(y[0], 3 / std::sqrt(12.5), kTol);
  EXPECT_NEAR(y[1], 8 / std::sqrt(12.5), kTol);
  // eps sits inside the square root.
  y = rmsNorm({3, 4}, {1, 1}, 0.5);
  EXPECT_NEAR(y[0], 3 / std::sqrt(13.0), kTol);
}

/// d = 2, V = 3 (Vv = 2, Vt = 1), T = 2: identity attention projections.
Config handConfig(int64_t nHeads) {
  Config config;
  config.verbalVocab = 2;
  config.thinkVocab = 1;
  config.dModel = 2;
  config.nHeads = nHeads;
  config.dFF = 1;
  config.maxSeq = 2;
  config.maxSteps = 1;
  config.normEps = 0.01;
  config.halting = Halting::Fixed;
  return config;
}

Weights handWeights(const Config &config) {
  Weights w = randomWeights(config, 1, 0.0); // zeros, norms exactly 1
  w.tensors["embed.token"] = {1, 0, 0, 1, 1, 1};
  w.tensors["embed.position"] = {0, 0, 0.5, 0};
  w.tensors["embed.step"] = {0.1, -0.2};
  for (const char *name : {"block.attn.q.weight", "block.attn.k.weight",
                           "block.attn.v.weight", "block.attn.o.weight"})
    w.tensors[name] = {1, 0, 0, 1};
  w.tensors["block.ffn.up.weight"] = {1, 0};
  w.tensors["block.ffn.down.weight"] = {0.5, -1};
  w.tensors["out_norm.weight"] = {1, 2};
  w.tensors["unembed.weight"] = {1, 0, 0, 1, 1, 1};
  return w;
}

TEST(ContractReferenceBlocks, SingleHeadAttentionByHand) {
  Config config = handConfig(1);
  Weights w = handWeights(config);
  Tensor out = attention(config, w, {1, 0, 0, 2}, 2);
  // Position 0 sees only key 0: the output is v_0.
  EXPECT_NEAR(out[0], 1, kTol);
  EXPECT_NEAR(out[1], 0, kTol);
  // Position 1: scores (q_1 . k_j) / sqrt(2) = (0, 4 / sqrt(2)).
  double w1 = 1 / (1 + std::exp(-4 / std::sqrt(2.0)));
  EXPECT_NEAR(out[2], 1 - w1, kTol);
  EXPECT_NEAR(out[3], 2 * w1, kTol);
  // With length 1, key 1 is padding: position 1 sees only key 0.
  out = attention(config, w, {1, 0, 0, 2}, 1);
  EXPECT_NEAR(out[2], 1, kTol);
  EXPECT_NEAR(out[3], 0, kTol);
}

TEST(ContractReferenceBlocks, HeadsSplitTheModelDimension) {
  Config config = handConfig(2); // two heads of width 1, scale 1/sqrt(1)
  Weights w = handWeights(config);
  Tensor out = attention(config, w, {1, 2, 3, -1}, 2);
  // Head 0 reads column 0: scores of position 1 are (3 * 1, 3 * 3).
  double w0 = 1 / (1 + std::exp(9.0 - 3.0));
  EXPECT_NEAR(out[2], w0 * 1 + (1 - w0) * 3, kTol);
  // Head 1 reads column 1: scores (-1 * 2, -1 * -1).
  double w1 = 1 / (1 + std::exp(1.0 + 2.0));
  EXPECT_NEAR(out[3], w1 * 2 + (1 - w1) * -1, kTol);
}

TEST(ContractReferenceBlocks, TinyForwardAndLossesByHand) {
  Config config = handConfig(1);
  Weights w = handWeights(config);
  const double eps = config.normEps;
  auto inv = [&](double a, double b) {
    return 1 / std::sqrt((a * a + b * b) / 2 + eps);
  };
  auto geluByHand = [](double x) {
    return 0.5 * x *
           (1 + std::tanh(std::sqrt(2 / std::acos(-1.0)) *
                          (x + 0.044715 * x * x * x)));
  };

  // u = token + position + step[0]; ids = (0, 1).
  double u[2][2] = {{1.1, -0.2}, {0.6, 0.8}};
  double nrm[2][2];
  for (int i = 0; i < 2; ++i)
    for (int c = 0; c < 2; ++c)
      nrm[i][c] = u[i][c] * inv(u[i][0], u[i][1]);
  // Attention with identity projections: q = k = v = RMSNorm(u).
  double s1 = (nrm[1][0] * nrm[0][0] + nrm[1][1] * nrm[0][1]) / std::sqrt(2.0);
  double s2 = (nrm[1][0] * nrm[1][0] + nrm[1][1] * nrm[1][1]) / std::sqrt(2.0);
  double p0 = 1 / (1 + std::exp(s2 - s1));
  double a[2][2] = {{u[0][0] + nrm[0][0], u[0][1] + nrm[0][1]},
                    {u[1][0] + p0 * nrm[0][0] + (1 - p0) * nrm[1][0],
                     u[1][1] + p0 * nrm[0][1] + (1 - p0) * nrm[1][1]}};
  // FFN: up = [1, 0], down = [0.5, -1]^T.
  double z[2][3];
  for (int i = 0; i < 2; ++i) {
    double g = geluByHand(a[i][0] * inv(a[i][0], a[i][1]));
    double f0 = a[i][0] + 0.5 * g, f1 = a[i][1] - g;
    double o0 = f0 * inv(f0, f1), o1 = 2 * f1 * inv(f0, f1);
    z[i][0] = o0;
    z[i][1] = o1;
    z[i][2] = o0 + o1;
  }

  Batch batch = makeBatch(1, 2, {0, 1}, {2});
  batch.advantage = {0, 0.5};
  Outputs out = run(config, w, batch);
  ASSERT_EQ(out.error, "");
  for (int i = 0; i < 2; ++i)
    for (int v = 0; v < 3; ++v)
      EXPECT_NEAR(out.logits[i * 3 + v], z[i][v], kTol) << i << ", " << v;
  EXPECT_EQ(out.steps[0], 1);
  EXPECT_EQ(out.remainder[1], 0.0);

  // One target, token 1 predicted at position 0, verbal over {0, 1}.
  double lseVerbal = std::log(std::exp(z[0][0]) + std::exp(z[0][1]));
  double lseAll =
      std::log(std::exp(z[0][0]) + std::exp(z[0][1]) + std::exp(z[0][2]));
  EXPECT_NEAR(out.lossCe, lseVerbal - z[0][1], kTol);
  // Verbal token: logpi = the probability of speaking now; one target.
  EXPECT_NEAR(out.lossPolicy, -0.5 * (lseVerbal - lseAll), kTol);
  EXPECT_GT(out.lossPolicy, 0.0);
  EXPECT_EQ(out.lossPonder, 0.0);
  EXPECT_NEAR(out.loss, out.lossCe + out.lossPolicy, kTol);
}

//===----------------------------------------------------------------------===//
// Invariants in every halting mode
//===----------------------------------------------------------------------===//

class ContractReferenceModes : public ::testing::TestWithParam<Halting> {
protected:
  Config config = tinyConfig(GetParam());
  // Scale 0.5 and these biases make N vary across positions (ACT: 2, 3 and 4
  // steps; PonderNet: 1, 2 and 4), so halting bugs show.
  Weights weights =
      randomWeights(config, 7, 0.5, GetParam() == Halting::Act ? 1.0 : 0.5);
};

TEST_P(ContractReferenceModes, LaterTokensNeverChangeEarlierPositions) {
  Batch batch = makeBatch(1, 7, {1, 5, 6, 2, 0, 3, 7}, {7});
  Outputs base = run(config, weights, batch);
  ASSERT_EQ(base.error, "");
  for (int64_t changed = 1; changed < 7; ++changed) {
    Batch other = batch;
    other.ids[changed] = (other.ids[changed] + 3) % 8;
    Outputs out = run(config, weights, other);
    expectSameValidPositions(config, base, out, 7, 0, changed);
    // The test has power: the changed position's logits do move.
    EXPECT_NE(base.logits[changed * 8], out.logits[changed * 8]);
  }
}

TEST_P(ContractReferenceModes, PrefixesMatchTheFullRow) {
  // What incremental decoding must reproduce (MODEL.md §4).
  std::vector<int32_t> ids = {4, 2, 7, 5, 1, 0, 3};
  Outputs full = runRow(config, weights, ids);
  for (int64_t k = 1; k < 7; ++k) {
    Outputs prefix = runRow(config, weights,
                            std::vector<int32_t>(ids.begin(), ids.begin() + k));
    expectSameValidPositions(config, prefix, full, 7, 0, k, k);
  }
}

TEST_P(ContractReferenceModes, PaddingInfluencesNothing) {
  config.referenceMix = 0.2;
  Batch batch = tinyBatch();
  batch.referenceLogits.assign(2 * 7 * 8, 0.0);
  for (size_t i = 0; i < batch.referenceLogits.size(); ++i)
    batch.referenceLogits[i] = std::sin(static_cast<double>(i));
  Outputs base = run(config, weights, batch);
  ASSERT_EQ(base.error, "");

  // Row 0 has length 5: change everything at its positions 5 and 6.
  Batch other = batch;
  for (int64_t t = 5; t < 7; ++t) {
    other.ids[t] = 4 - other.ids[t] % 4;
    other.targetWeight[t] = 3;
    other.advantage[t] = -7;
    for (int64_t v = 0; v < 8; ++v)
      other.referenceLogits[t * 8 + v] += 5 * v;
  }
  Outputs out = run(config, weights, other);
  expectSameValidPositions(config, base, out, 7, 0, 5);
  expectSameValidPositions(config, base, out, 7, 1, 7);
  EXPECT_NEAR(out.lossCe, base.lossCe, kTol);
  EXPECT_NEAR(out.lossPonder, base.lossPonder, kTol);
  EXPECT_NEAR(out.lossPolicy, base.lossPolicy, kTol);
  EXPECT_NEAR(out.loss, base.loss, kTol);
  for (int64_t t = 5; t < 7; ++t) {
    EXPECT_EQ(out.steps[t], 0); // docs/contract-notes.md 2
    EXPECT_EQ(out.remainder[t], 0.0);
  }

  // A padded row computes what the same row alone computes.
  config.referenceMix = 0.0;
  Outputs alone = runRow(config, weights, {1, 5, 6, 2, 0});
  expectSameValidPositions(config, alone, base, 7, 0, 5, 5);
}

TEST_P(ContractReferenceModes, HaltingDistributionIsNormalised) {
  Batch batch = tinyBatch();
  Outputs out = run(config, weights, batch);
  ASSERT_EQ(out.error, "");
  const int64_t nMax = config.maxSteps;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 7; ++t) {
      const int64_t i = b * 7 + t;
      double sum = 0;
      for (int64_t n = 0; n < nMax; ++n) {
        double p = out.haltProbs[n * 14 + i];
        EXPECT_GE(p, 0.0);
        sum += p;
      }
      if (t >= batch.lengths[b]) {
        EXPECT_EQ(sum, 0.0);
        EXPECT_EQ(out.steps[i], 0);
        EXPECT_EQ(out.remainder[i], 0.0);
        continue;
      }
      EXPECT_NEAR(sum, 1.0, kTol);
      EXPECT_GE(out.steps[i], 1);
      EXPECT_LE(out.steps[i], nMax);
      EXPECT_GE(out.remainder[i], 0.0);
      EXPECT_LE(out.remainder[i], 1.0);
      if (GetParam() == Halting::Act) {
        // R is the last step's p, and nothing runs after step N.
        EXPECT_NEAR(out.haltProbs[(out.steps[i] - 1) * 14 + i],
                    out.remainder[i], kTol);
        for (int64_t n = out.steps[i]; n < nMax; ++n)
          EXPECT_EQ(out.haltProbs[n * 14 + i], 0.0);
      } else {
        EXPECT_EQ(out.remainder[i], 0.0);
      }
    }
}

TEST_P(ContractReferenceModes, LossIsTheWeightedSum) {
  config.ponderCost = 0.3;
  config.klBeta = 0.7;
  config.policyWeight = 0.4;
  Outputs out = run(config, weights, tinyBatch());
  ASSERT_EQ(out.error, "");
  double w = GetParam() == Halting::Act         ? 0.3
             : GetParam() == Halting::PonderNet ? 0.7
                                                : 0.0;
  EXPECT_NEAR(out.loss, out.lossCe + w * out.lossPonder + 0.4 * out.lossPolicy,
              kTol);
  if (GetParam() == Halting::Fixed)
    EXPECT_EQ(out.lossPonder, 0.0);
  else
    EXPECT_GT(out.lossPonder, 0.0);
}

TEST_P(ContractReferenceModes, ThinkTargetsAreMaskedOut) {
  Batch batch = tinyBatch();
  Outputs out = run(config, weights, batch);
  ASSERT_EQ(out.error, "");
  // Only verbal targets, weighted by target_weight (one at 0.5, one at 0).
  EXPECT_NEAR(out.lossCe,
              expectedLossCe(config, out, batch,
                             [&](const double *z, int32_t token) {
                               return verbalNll(config, z, token);
                             }),
              kTol);

  // Only think targets: the mask is empty and L_ce = 0 / max(1, 0).
  batch = makeBatch(1, 4, {0, 5, 6, 7}, {4});
  out = run(config, weights, batch);
  EXPECT_EQ(out.lossCe, 0.0);
}

TEST_P(ContractReferenceModes, ThinkLogitsNeverChangeCrossEntropy) {
  Batch batch = tinyBatch();
  Outputs base = run(config, weights, batch);
  // Rewrite the unembedding of the think ids: their logits change freely.
  Weights other = weights;
  Tensor &unembedW = other.tensors["unembed.weight"];
  for (int64_t i = 5 * 8; i < 8 * 8; ++i)
    unembedW[i] = 3 * std::cos(static_cast<double>(i));
  Outputs out = run(config, other, batch);
  ASSERT_EQ(out.error, "");
  EXPECT_NE(out.logits[5], base.logits[5]);
  EXPECT_NEAR(out.lossCe, base.lossCe, kTol);
  // The policy term does see them.
  EXPECT_GT(std::abs(out.lossPolicy - base.lossPolicy), 1e-6);
}

TEST_P(ContractReferenceModes, FullSmoothingIsUniformVerbalCrossEntropy) {
  config.smoothing = 1.0;
  Batch batch = tinyBatch();
  Outputs out = run(config, weights, batch);
  ASSERT_EQ(out.error, "");
  auto uniformCe = [&](const double *z, int32_t) {
    double lse = logSumExp(z, 0, 5), ce = 0;
    for (int v = 0; v < 5; ++v)
      ce -= (z[v] - lse) / 5;
    return ce;
  };
  EXPECT_NEAR(out.lossCe, expectedLossCe(config, out, batch, uniformCe), kTol);
}

TEST_P(ContractReferenceModes, SoftTargetsMixSmoothingAndReference) {
  config.smoothing = 0.1;
  config.referenceMix = 0.3;
  config.referenceTemperature = 2.0;
  Batch batch = tinyBatch();
  batch.referenceLogits.assign(2 * 7 * 8, 0.0);
  for (size_t i = 0; i < batch.referenceLogits.size(); ++i)
    batch.referenceLogits[i] = 2 * std::sin(1.7 * static_cast<double>(i));
  Outputs out = run(config, weights, batch);
  ASSERT_EQ(out.error, "");

  double sum = 0, mask = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 1; t < batch.lengths[b]; ++t) {
      int32_t token = batch.ids[b * 7 + t];
      if (token >= 5)
        continue;
      // q = 0.6 onehot + 0.1 / 5 + 0.3 softmax_verbal(z_ref / 2), z_ref of
      // the predicting position t - 1.
      const double *zRef = &batch.referenceLogits[(b * 7 + t - 1) * 8];
      double refScaled[5];
      for (int v = 0; v < 5; ++v)
        refScaled[v] = zRef[v] / 2;
      double refLse = logSumExp(refScaled, 0, 5);
      auto ce = [&](const double *z) {
        double lse = logSumExp(z, 0, 5), value = 0;
        for (int v = 0; v < 5; ++v) {
          double q = (v == token ? 0.6 : 0.0) + 0.02 +
                     0.3 * std::exp(refScaled[v] - refLse);
          value -= q * (z[v] - lse);
        }
        return value;
      };
      double m = batch.targetWeight[b * 7 + t];
      sum += m * targetCe(config, out, batch, b, t, ce);
      mask += m;
    }
  EXPECT_NEAR(out.lossCe, sum / mask, kTol);
}

TEST_P(ContractReferenceModes, PolicyTermSignAndNormalisation) {
  Batch batch = tinyBatch();
  Outputs out = run(config, weights, batch);
  ASSERT_EQ(out.error, "");
  // From the reported logits (docs/contract-notes.md 1), over 1 <= t < length,
  // normalised by sum_b (lengths[b] - 1) = 4 + 6, not by the nonzero A.
  double sum = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 1; t < batch.lengths[b]; ++t) {
      const double *z = logitsAt(config, out, batch, b, t - 1);
      int32_t token = batch.ids[b * 7 + t];
      double logpi = token >= 5 ? z[token] - logSumExp(z, 0, 8)
                                : logSumExp(z, 0, 5) - logSumExp(z, 0, 8);
      sum += batch.advantage[b * 7 + t] * logpi;
    }
  EXPECT_NEAR(out.lossPolicy, -sum / 10, kTol);

  // One positive advantage on a think token: logpi < 0, so L_pg > 0.
  batch.advantage.assign(14, 0.0);
  batch.advantage[1] = 1.0;
  out = run(config, weights, batch);
  const double *z0 = logitsAt(config, out, batch, 0, 0);
  EXPECT_NEAR(out.lossPolicy, -(z0[5] - logSumExp(z0, 0, 8)) / 10, kTol);
  EXPECT_GT(out.lossPolicy, 0.0);
}

std::string haltingName(const ::testing::TestParamInfo<Halting> &info) {
  switch (info.param) {
  case Halting::Fixed:
    return "Fixed";
  case Halting::Act:
    return "Act";
  case Halting::PonderNet:
    return "PonderNet";
  }
  return "Unknown";
}

INSTANTIATE_TEST_SUITE_P(AllHalting, ContractReferenceModes,
                         ::testing::Values(Halting::Fixed, Halting::Act,
                                           Halting::PonderNet),
                         haltingName);

//===----------------------------------------------------------------------===//
// Mode-specific behaviour
//===----------------------------------------------------------------------===//

/// The states of the fixed loop after steps 0 .. N_max-1: s_n = Block(s_{n-1}).
std::vector<Tensor> fixedStates(const Config &config, const Weights &weights,
                                const std::vector<int32_t> &ids) {
  std::vector<Tensor> states;
  Tensor s = embed(config, weights, ids);
  for (int64_t n = 0; n < config.maxSteps; ++n) {
    s = block(config, weights, s, n, static_cast<int64_t>(ids.size()));
    states.push_back(s);
  }
  return states;
}

const std::vector<int32_t> kRow = {1, 5, 6, 2, 0, 3};

TEST(ContractReferenceFixed, EqualsTheBlockAppliedNMaxTimes) {
  Config config = tinyConfig(Halting::Fixed);
  Weights weights = randomWeights(config, 3, 0.5);
  Tensor expected =
      unembed(config, weights, fixedStates(config, weights, kRow).back());
  Outputs out = runRow(config, weights, kRow);
  ASSERT_EQ(out.error, "");
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(out.logits[i], expected[i], kTol);
  for (int64_t t = 0; t < 6; ++t) {
    EXPECT_EQ(out.steps[t], 4);
    EXPECT_EQ(out.remainder[t], 0.0);
    EXPECT_EQ(out.haltProbs[3 * 6 + t], 1.0); // docs/contract-notes.md 3
  }
}

TEST(ContractReferenceFixed, StepEmbeddingsAccumulate) {
  // With Wo = 0 and down = 0, Block(s, n) = s + step[n]: after N_max steps
  // y = token[ids] + position[t] + step[0] + ... + step[N_max - 1].
  Config config = tinyConfig(Halting::Fixed);
  Weights weights = randomWeights(config, 3, 0.5);
  weights.tensors["block.attn.o.weight"].assign(64, 0.0);
  weights.tensors["block.ffn.down.weight"].assign(8 * 12, 0.0);
  const Tensor &token = weights.get("embed.token");
  const Tensor &position = weights.get("embed.position");
  const Tensor &step = weights.get("embed.step");
  Tensor y(6 * 8);
  for (int64_t t = 0; t < 6; ++t)
    for (int64_t i = 0; i < 8; ++i) {
      y[t * 8 + i] = token[kRow[t] * 8 + i] + position[t * 8 + i];
      for (int64_t n = 0; n < 4; ++n)
        y[t * 8 + i] += step[n * 8 + i];
    }
  Tensor expected = unembed(config, weights, y);
  Outputs out = runRow(config, weights, kRow);
  ASSERT_EQ(out.error, "");
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(out.logits[i], expected[i], kTol);
}

TEST(ContractReferenceAct, LargeHaltBiasHaltsAtTheFirstStep) {
  Config config = tinyConfig(Halting::Act);
  Weights weights = randomWeights(config, 3, 0.5, /*haltBias=*/50.0);
  Outputs out = runRow(config, weights, kRow);
  ASSERT_EQ(out.error, "");
  // Step 0: h ~ 1 >= 1 - eps, so last; p = 1 - acc = 1 = R; N = 1.
  Tensor expected =
      unembed(config, weights, fixedStates(config, weights, kRow).front());
  for (int64_t t = 0; t < 6; ++t) {
    EXPECT_EQ(out.steps[t], 1);
    EXPECT_EQ(out.remainder[t], 1.0);
  }
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(out.logits[i], expected[i], kTol);
  EXPECT_NEAR(out.lossPonder, 2.0, kTol); // mean N + R
}

TEST(ContractReferenceAct, LargeNegativeHaltBiasRunsEveryStep) {
  // h stays far below 1 - eps: every position runs N_max steps (so the
  // states are the fixed loop's), and R = 1 - h_0 - h_1 - h_2.
  Config config = tinyConfig(Halting::Act);
  Weights weights = randomWeights(config, 3, 0.5, /*haltBias=*/-20.0);
  Outputs out = runRow(config, weights, kRow);
  ASSERT_EQ(out.error, "");
  std::vector<Tensor> s = fixedStates(config, weights, kRow);
  double meanNR = 0;
  for (int64_t t = 0; t < 6; ++t) {
    double r = 1.0;
    for (int64_t n = 0; n < 3; ++n)
      r -= haltProbability(config, weights, s[n])[t];
    EXPECT_EQ(out.steps[t], 4);
    EXPECT_NEAR(out.remainder[t], r, kTol);
    EXPECT_LT(out.remainder[t], 1.0);
    EXPECT_GT(out.remainder[t], 0.99);
    meanNR += (4 + r) / 6;
  }
  EXPECT_NEAR(out.lossPonder, meanNR, kTol);
}

TEST(ContractReferenceAct, ConstantHaltProbabilityByHand) {
  // h = 0.4 everywhere: acc = 0.4, 0.8, then 0.8 + 0.4 >= 0.99 halts at
  // step 2 with p = (0.4, 0.4, 0.2), N = 3, R = 0.2. Every position halts
  // together, so the states are the fixed loop's.
  Config config = tinyConfig(Halting::Act);
  Weights weights = randomWeights(config, 3, 0.5, logit(0.4));
  weights.tensors["halt.weight"].assign(8, 0.0);
  Outputs out = runRow(config, weights, kRow);
  ASSERT_EQ(out.error, "");
  std::vector<Tensor> s = fixedStates(config, weights, kRow);
  Tensor y(s[0].size());
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = 0.4 * s[0][i] + 0.4 * s[1][i] + 0.2 * s[2][i];
  Tensor expected = unembed(config, weights, y);
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(out.logits[i], expected[i], 1e-10);
  for (int64_t t = 0; t < 6; ++t) {
    EXPECT_EQ(out.steps[t], 3);
    EXPECT_NEAR(out.remainder[t], 0.2, 1e-12);
    EXPECT_NEAR(out.haltProbs[0 * 6 + t], 0.4, 1e-12);
    EXPECT_NEAR(out.haltProbs[2 * 6 + t], 0.2, 1e-12);
    EXPECT_EQ(out.haltProbs[3 * 6 + t], 0.0);
  }
  EXPECT_NEAR(out.lossPonder, 3.2, 1e-12);
}

TEST(ContractReferenceAct, HaltedPositionsStillProvideKeysAndValues) {
  // Token 0 halts at step 0 and token 1 never halts early: halt.weight reads
  // dimension 0, where their embeddings are +20 and -20.
  Config config = tinyConfig(Halting::Act);
  config.maxSteps = 3;
  Weights weights = randomWeights(config, 5, 0.3, 0.0);
  weights.tensors["embed.token"][0 * 8] = 20;
  weights.tensors["embed.token"][1 * 8] = -20;
  weights.tensors["halt.weight"].assign(8, 0.0);
  weights.tensors["halt.weight"][0] = 1;
  const std::vector<int32_t> ids = {0, 1};
  Outputs out = runRow(config, weights, ids);
  ASSERT_EQ(out.error, "");
  ASSERT_EQ(out.steps[0], 1);
  ASSERT_EQ(out.steps[1], 3);

  // §4: position 0 keeps its state, yet at steps 1 and 2 its key and value
  // come from u = s + step[n] like everyone's.
  Tensor s = block(config, weights, embed(config, weights, ids), 0, 2);
  Tensor y(8, 0.0);
  double acc = 0;
  for (int64_t n = 0; n < 3; ++n) {
    if (n > 0) {
      Tensor f = block(config, weights, s, n, 2);
      std::copy(f.begin() + 8, f.end(), s.begin() + 8); // position 1 only
    }
    double h = haltProbability(config, weights, s)[1];
    double p = n < 2 ? h : 1 - acc;
    acc += n < 2 ? h : 0;
    for (int64_t i = 0; i < 8; ++i)
      y[i] += p * s[8 + i];
  }
  Tensor expected = unembed(config, weights, y);
  for (int64_t v = 0; v < 8; ++v)
    EXPECT_NEAR(out.logits[8 + v], expected[v], 1e-10);
  EXPECT_NEAR(out.remainder[1], 1 - acc, kTol);
}

TEST(ContractReferencePonderNet, StepsFollowTheLargestProbability) {
  Config config = tinyConfig(Halting::PonderNet);
  config.maxSteps = 3;
  Weights weights = randomWeights(config, 3, 0.5);
  weights.tensors["halt.weight"].assign(8, 0.0);
  std::vector<Tensor> s = fixedStates(config, weights, kRow);

  // lambda = 0.5: p = (0.5, 0.25, 0.25); lambda = 0.2: p = (0.2, 0.16, 0.64).
  for (auto [lambda, step] : {std::pair{0.5, 1}, std::pair{0.2, 3}}) {
    weights.tensors["halt.bias"] = {logit(lambda)};
    Outputs out = runRow(config, weights, kRow);
    ASSERT_EQ(out.error, "");
    for (int64_t t = 0; t < 6; ++t) {
      EXPECT_NEAR(out.haltProbs[0 * 6 + t], lambda, 1e-12);
      EXPECT_NEAR(out.haltProbs[1 * 6 + t], lambda * (1 - lambda), 1e-12);
      EXPECT_NEAR(out.haltProbs[2 * 6 + t], (1 - lambda) * (1 - lambda), 1e-12);
      EXPECT_EQ(out.steps[t], step);
      EXPECT_EQ(out.remainder[t], 0.0);
    }
    // No freezing: step n's logits come from the fixed loop's s_n.
    for (int64_t n = 0; n < 3; ++n) {
      Tensor expected = unembed(config, weights, s[n]);
      for (size_t i = 0; i < expected.size(); ++i)
        EXPECT_NEAR(out.stepLogits[n * 48 + i], expected[i], kTol);
    }
    for (size_t i = 0; i < 48; ++i)
      EXPECT_EQ(out.logits[i], out.stepLogits[(step - 1) * 48 + i]);
  }
}

TEST(ContractReferencePonderNet, TiesPickTheFirstStep) {
  Config config = tinyConfig(Halting::PonderNet);
  config.maxSteps = 2;
  Weights weights = randomWeights(config, 3, 0.5, /*haltBias=*/0.0);
  weights.tensors["halt.weight"].assign(8, 0.0);
  Outputs out = runRow(config, weights, kRow); // p = (0.5, 0.5) exactly
  for (int64_t t = 0; t < 6; ++t)
    EXPECT_EQ(out.steps[t], 1);
}

TEST(ContractReferencePonderNet, KlAgainstTheTruncatedGeometricPrior) {
  Config config = tinyConfig(Halting::PonderNet);
  config.priorLambda = 0.3;
  Weights weights = randomWeights(config, 3, 0.5);
  weights.tensors["halt.weight"].assign(8, 0.0);

  // N_max = 2: g = (1, 1 - lambda) / (2 - lambda), which a constant
  // lambda_0 = 1 / (2 - lambda) reproduces, so the KL is 0.
  config.maxSteps = 2;
  weights.tensors["embed.step"].resize(2 * 8);
  weights.tensors["halt.bias"] = {logit(1 / (2 - 0.3))};
  Outputs out = runRow(config, weights, kRow);
  ASSERT_EQ(out.error, "");
  EXPECT_NEAR(out.lossPonder, 0.0, 1e-12);

  // N_max = 4, constant lambda_n = 0.6 (1 at the last step): the KL written
  // out, g_n = 0.3 * 0.7^n / (1 - 0.7^4).
  config.maxSteps = 4;
  weights = randomWeights(config, 3, 0.5, logit(0.6));
  weights.tensors["halt.weight"].assign(8, 0.0);
  out = runRow(config, weights, kRow);
  double p[4] = {0.6, 0.4 * 0.6, 0.4 * 0.4 * 0.6, 0.4 * 0.4 * 0.4};
  double kl = 0;
  for (int n = 0; n < 4; ++n)
    kl += p[n] *
          std::log(p[n] / (0.3 * std::pow(0.7, n) / (1 - std::pow(0.7, 4))));
  EXPECT_NEAR(out.lossPonder, kl, 1e-10);
  EXPECT_GT(kl, 0.1);
}

TEST(ContractReferencePonderNet, CrossEntropyMixesTheSteps) {
  // Explicitly: CE at a target = sum_n p_n CE_n, p of the predicting
  // position (covered generally by the mode tests; here with varied p).
  Config config = tinyConfig(Halting::PonderNet);
  Weights weights = randomWeights(config, 11, 0.5, 0.0);
  Batch batch = makeBatch(1, 6, kRow, {6});
  Outputs out = run(config, weights, batch);
  ASSERT_EQ(out.error, "");
  double sum = 0;
  int count = 0;
  for (int64_t t = 1; t < 6; ++t) {
    if (kRow[t] >= 5)
      continue;
    for (int64_t n = 0; n < 4; ++n)
      sum += out.haltProbs[n * 6 + t - 1] *
             verbalNll(config, &out.stepLogits[(n * 6 + t - 1) * 8], kRow[t]);
    ++count;
  }
  EXPECT_NEAR(out.lossCe, sum / count, kTol);
  // The mixture differs from the CE of the reported logits alone.
  double reported = 0;
  for (int64_t t = 1; t < 6; ++t)
    if (kRow[t] < 5)
      reported += verbalNll(config, &out.logits[(t - 1) * 8], kRow[t]);
  EXPECT_GT(std::abs(reported / count - out.lossCe), 1e-6);
}

//===----------------------------------------------------------------------===//
// Latent thoughts through the hidden state (MODEL.md §9)
//===----------------------------------------------------------------------===//

/// The fixed loop's states s_0 .. s_{N_max-1} from given inputs x [T, d].
std::vector<Tensor> statesFrom(const Config &config, const Weights &weights,
                               Tensor s, int64_t length) {
  std::vector<Tensor> states;
  for (int64_t n = 0; n < config.maxSteps; ++n) {
    s = block(config, weights, s, n, length);
    states.push_back(s);
  }
  return states;
}

/// sum_n mix[n] states[n], [T, d].
Tensor mixStates(const std::vector<Tensor> &states, const Tensor &mix) {
  Tensor y(states[0].size(), 0.0);
  for (size_t n = 0; n < states.size(); ++n)
    for (size_t i = 0; i < y.size(); ++i)
      y[i] += mix[n] * states[n][i];
  return y;
}

void expectSameOutputs(const Outputs &a, const Outputs &b) {
  ASSERT_EQ(a.error, "");
  ASSERT_EQ(b.error, "");
  EXPECT_EQ(a.logits, b.logits);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.remainder, b.remainder);
  EXPECT_EQ(a.haltProbs, b.haltProbs);
  EXPECT_EQ(a.stepLogits, b.stepLogits);
  EXPECT_EQ(a.lossCe, b.lossCe);
  EXPECT_EQ(a.lossPonder, b.lossPonder);
  EXPECT_EQ(a.lossPolicy, b.lossPolicy);
  EXPECT_EQ(a.loss, b.loss);
}

double maxAbsDifference(const Tensor &a, const Tensor &b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

class ContractReferenceHidden : public ContractReferenceModes {
protected:
  ContractReferenceHidden() { config.channel = Channel::Hidden; }

  Config tokenConfig() const {
    Config token = config;
    token.channel = Channel::Token;
    return token;
  }
};

TEST_P(ContractReferenceHidden, WithoutThoughtsEqualsTheTokenChannel) {
  // Think ids only at position 0 and in padding: both take embed.token.
  for (bool thinkAtEdges : {false, true}) {
    Batch batch = tinyBatch();
    for (int64_t i = 0; i < 14; ++i)
      batch.ids[i] %= 5;
    if (thinkAtEdges) {
      batch.ids[0] = 6;     // row 0, position 0
      batch.ids[5] = 7;     // row 0, padding
      batch.ids[6] = 5;     // row 0, padding
      batch.ids[7 + 0] = 5; // row 1, position 0
    }
    expectSameOutputs(run(config, weights, batch),
                      run(tokenConfig(), weights, batch));
  }
}

TEST_P(ContractReferenceHidden, WhichThinkIdStandsDoesNotMatter) {
  Batch batch = tinyBatch(); // thoughts at (0, 1), (0, 2), (1, 2), (1, 3)
  Batch other = batch;
  for (int64_t i : {1, 2, 7 + 2, 7 + 3})
    other.ids[i] = 5 + (other.ids[i] - 5 + 1) % 3;
  ASSERT_NE(other.ids, batch.ids);
  expectSameOutputs(run(config, weights, batch), run(config, weights, other));

  // The test has power: under Token the ids are the inputs.
  Outputs token = run(tokenConfig(), weights, batch);
  Outputs tokenOther = run(tokenConfig(), weights, other);
  ASSERT_EQ(token.error, "");
  EXPECT_GT(maxAbsDifference(token.logits, tokenOther.logits), 1e-6);
  EXPECT_NE(token.loss, tokenOther.loss);
}

TEST_P(ContractReferenceHidden, PrefixesMatchTheFullRow) {
  // Consecutive and separate thoughts: each feeds the next.
  std::vector<int32_t> ids = {4, 5, 7, 2, 6, 5, 1, 3};
  Outputs full = runRow(config, weights, ids);
  for (int64_t k = 1; k < 8; ++k) {
    Outputs prefix = runRow(config, weights,
                            std::vector<int32_t>(ids.begin(), ids.begin() + k));
    expectSameValidPositions(config, prefix, full, 8, 0, k, k);
  }
  // The thoughts do change the row.
  Outputs token = runRow(tokenConfig(), weights, ids);
  ASSERT_EQ(token.error, "");
  EXPECT_EQ(
      std::vector<double>(full.logits.begin(), full.logits.begin() + 8),
      std::vector<double>(token.logits.begin(), token.logits.begin() + 8));
  EXPECT_GT(maxAbsDifference(full.logits, token.logits), 1e-6);
}

TEST_P(ContractReferenceHidden, LaterTokensNeverChangeEarlierPositions) {
  Batch batch = makeBatch(1, 7, {1, 5, 6, 2, 0, 7, 3}, {7});
  Outputs base = run(config, weights, batch);
  for (int64_t changed = 1; changed < 7; ++changed) {
    Batch other = batch;
    other.ids[changed] = other.ids[changed] < 5 ? 6 : 3; // verbal <-> think
    Outputs out = run(config, weights, other);
    expectSameValidPositions(config, base, out, 7, 0, changed);
    EXPECT_NE(base.logits[changed * 8], out.logits[changed * 8]);
  }
}

TEST_P(ContractReferenceHidden, ThoughtInputIsTheNormedFinalState) {
  // Constant halting probabilities make every position halt together, so
  // each mode's final state is a fixed mix of the fixed loop's states:
  // fixed the last, act (0.4, 0.4, 0.2) as in ConstantHaltProbabilityByHand,
  // pondernet lambda = 0.5: p = (0.5, 0.25, 0.125, 0.125), reported N = 1.
  const Halting mode = GetParam();
  Tensor mix = mode == Halting::Fixed ? Tensor{0, 0, 0, 1}
               : mode == Halting::Act ? Tensor{0.4, 0.4, 0.2, 0}
                                      : Tensor{1, 0, 0, 0};
  weights =
      randomWeights(config, 3, 0.5, logit(mode == Halting::Act ? 0.4 : 0.5));
  weights.tensors["halt.weight"].assign(8, 0.0);
  const std::vector<int32_t> ids = {1, 3, 6, 5, 0, 2};

  // By hand, in order: x_t = RMSNorm(y_{t-1}, out_norm) + position[t], with
  // y from the whole row's states (causal, so later inputs do not matter).
  Tensor x = embed(config, weights, ids);
  for (int64_t t : {2, 3}) {
    Tensor y = mixStates(statesFrom(config, weights, x, 6), mix);
    Tensor thought = rmsNorm(Tensor(y.begin() + (t - 1) * 8, y.begin() + t * 8),
                             weights.get("out_norm.weight"), config.normEps);
    for (int64_t i = 0; i < 8; ++i)
      x[t * 8 + i] = thought[i] + weights.get("embed.position")[t * 8 + i];
  }
  Tensor expected = unembed(config, weights,
                            mixStates(statesFrom(config, weights, x, 6), mix));

  Outputs out = runRow(config, weights, ids);
  ASSERT_EQ(out.error, "");
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(out.logits[i], expected[i], 1e-10) << "i = " << i;
  if (mode == Halting::PonderNet)
    for (int64_t t = 0; t < 6; ++t)
      EXPECT_EQ(out.steps[t], 1);
}

TEST_P(ContractReferenceHidden, PolicyGroupsTheThinkIds) {
  Batch batch = makeBatch(1, 5, {1, 3, 6, 2, 0}, {5});
  batch.advantage = {0, 0, 1.5, 0.7, 0};
  Outputs out = run(config, weights, batch);
  ASSERT_EQ(out.error, "");
  // From the reported logits (docs/contract-notes.md 1), normalised by 4.
  const double *z1 = &out.logits[1 * 8], *z2 = &out.logits[2 * 8];
  double think = logSumExp(z1, 5, 8) - logSumExp(z1, 0, 8);
  double speak = logSumExp(z2, 0, 5) - logSumExp(z2, 0, 8);
  EXPECT_NEAR(out.lossPolicy, -(1.5 * think + 0.7 * speak) / 4, kTol);

  // Token: position 1 precedes the thought, so z_1 is the same, but the
  // action is think id 6 itself.
  Outputs token = run(tokenConfig(), weights, batch);
  ASSERT_EQ(token.error, "");
  for (int64_t v = 0; v < 8; ++v)
    EXPECT_EQ(token.logits[8 + v], z1[v]);
  const double *tz2 = &token.logits[2 * 8];
  double tokenValue = -(1.5 * (z1[6] - logSumExp(z1, 0, 8)) +
                        0.7 * (logSumExp(tz2, 0, 5) - logSumExp(tz2, 0, 8))) /
                      4;
  EXPECT_NEAR(token.lossPolicy, tokenValue, kTol);
  EXPECT_GT(std::abs(out.lossPolicy - token.lossPolicy), 1e-6);
}

TEST_P(ContractReferenceHidden, GradientsFlowThroughThoughts) {
  Batch batch = makeBatch(1, 6, {1, 5, 6, 2, 0, 3}, {6});
  batch.advantage = {0, 0.5, -1.0, 2.0, 0.25, 0.5};
  Gradients hidden = finiteDifferenceGradients(config, weights, batch);
  Gradients token = finiteDifferenceGradients(tokenConfig(), weights, batch);
  ASSERT_EQ(hidden.error, "");
  ASSERT_EQ(token.error, "");
  // out_norm feeds the thoughts; embed.position[t - 1] reaches x_t (t = 1, 2)
  // through y_{t-1} as well as directly.
  EXPECT_GT(maxAbsDifference(hidden.grads["out_norm.weight"],
                             token.grads["out_norm.weight"]),
            1e-4);
  EXPECT_GT(maxAbsDifference(hidden.grads["embed.position"],
                             token.grads["embed.position"]),
            1e-4);
  // The think ids' embeddings are read under Token only.
  const Tensor &hiddenToken = hidden.grads["embed.token"];
  const Tensor &tokenToken = token.grads["embed.token"];
  for (int64_t i = 5 * 8; i < 7 * 8; ++i)
    EXPECT_EQ(hiddenToken[i], 0.0) << "i = " << i;
  EXPECT_GT(maxAbsDifference(
                Tensor(tokenToken.begin() + 5 * 8, tokenToken.begin() + 7 * 8),
                Tensor(16, 0.0)),
            1e-4);
}

INSTANTIATE_TEST_SUITE_P(AllHalting, ContractReferenceHidden,
                         ::testing::Values(Halting::Fixed, Halting::Act,
                                           Halting::PonderNet),
                         haltingName);

TEST(ContractReferenceHiddenPonderNet, GradientsRefuseAStepChange) {
  // p = (0.5, 0.5) exactly: perturbing halt.weight moves N, which under
  // Hidden also picks the state that feeds the thought.
  Config config = tinyConfig(Halting::PonderNet);
  config.channel = Channel::Hidden;
  config.maxSteps = 2;
  Weights weights = randomWeights(config, 3, 0.5, /*haltBias=*/0.0);
  weights.tensors["halt.weight"].assign(8, 0.0);
  Gradients g = finiteDifferenceGradients(config, weights,
                                          makeBatch(1, 4, {1, 5, 2, 0}, {4}));
  EXPECT_NE(g.error.find("halt.weight"), std::string::npos) << g.error;
  EXPECT_NE(g.error.find("changes a halting decision"), std::string::npos);
}

TEST(ContractReferenceHiddenThinkVocab, OneThinkIdIsAllowed) {
  Config config = tinyConfig(Halting::Act);
  config.thinkVocab = 1; // V = 6, the think id is 5
  config.channel = Channel::Hidden;
  Weights weights = randomWeights(config, 7, 0.5);
  Batch batch = makeBatch(1, 6, {1, 5, 5, 2, 0, 3}, {6});
  batch.advantage = {0, 0.5, -1.0, 2.0, 0.25, 0.5};
  Outputs hidden = run(config, weights, batch);
  ASSERT_EQ(hidden.error, "");
  Config token = config;
  token.channel = Channel::Token;
  Outputs tokenOut = run(token, weights, batch);
  ASSERT_EQ(tokenOut.error, "");
  EXPECT_GT(maxAbsDifference(hidden.logits, tokenOut.logits), 1e-6);

  // With one think id the grouped action is that id: at position 1 (whose
  // z_0 both channels share) the two policy terms agree.
  batch.advantage = {0, 1.0, 0, 0, 0, 0};
  EXPECT_NEAR(run(config, weights, batch).lossPolicy,
              run(token, weights, batch).lossPolicy, kTol);
}

//===----------------------------------------------------------------------===//
// Parameters and input checks
//===----------------------------------------------------------------------===//

TEST(ContractReferenceParameters, ShapesFollowTheContract) {
  Config config = tinyConfig(Halting::Act);
  auto shapes = parameterShapes(config);
  ASSERT_EQ(shapes.size(), 15u);
  EXPECT_EQ(shapes[0].first, "embed.token");
  EXPECT_EQ(shapes[0].second, (std::vector<int64_t>{8, 8}));
  EXPECT_EQ(shapes[2].second, (std::vector<int64_t>{4, 8})); // [N_max, d]
  EXPECT_EQ(shapes[9].first, "block.ffn.up.weight");
  EXPECT_EQ(shapes[9].second, (std::vector<int64_t>{12, 8})); // [out, in]
  EXPECT_EQ(shapes[12].first, "halt.bias");
  EXPECT_EQ(shapes[14].first, "unembed.weight");
}

TEST(ContractReferenceParameters, RandomWeightsAreDeterministic) {
  Config config = tinyConfig(Halting::Act);
  Weights a = randomWeights(config, 42, 0.02, 1.5);
  Weights b = randomWeights(config, 42, 0.02, 1.5);
  Weights c = randomWeights(config, 43, 0.02, 1.5);
  EXPECT_EQ(a.tensors, b.tensors);
  EXPECT_NE(a.tensors.at("embed.token"), c.tensors.at("embed.token"));
  EXPECT_EQ(a.tensors.at("halt.bias"), Tensor{1.5});
  for (double w : a.tensors.at("out_norm.weight"))
    EXPECT_NEAR(w, 1.0, 0.2);
}

TEST(ContractReferenceParameters, RejectsInvalidInputs) {
  Config config = tinyConfig(Halting::Act);
  Weights weights = randomWeights(config, 1);
  Batch batch = makeBatch(1, 3, {0, 1, 2}, {3});
  EXPECT_EQ(run(config, weights, batch).error, "");

  Weights missing = weights;
  missing.tensors.erase("halt.weight");
  EXPECT_NE(run(config, missing, batch).error.find("'halt.weight'"),
            std::string::npos);
  Weights wrong = weights;
  wrong.tensors["block.ffn.down.weight"].pop_back();
  EXPECT_NE(run(config, wrong, batch).error.find("block.ffn.down.weight"),
            std::string::npos);

  Batch badId = batch;
  badId.ids[1] = 8;
  EXPECT_NE(run(config, weights, badId).error.find("'ids'"), std::string::npos);
  Batch badLength = batch;
  badLength.lengths[0] = 0;
  EXPECT_NE(run(config, weights, badLength).error.find("'lengths'"),
            std::string::npos);
  Outputs tooLong = runRow(config, weights, std::vector<int32_t>(9, 0));
  EXPECT_NE(tooLong.error.find("maxSeq"), std::string::npos);
  EXPECT_TRUE(tooLong.logits.empty());
}

} // namespace
