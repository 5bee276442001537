//===- DataParallelTest.cpp - The training step split at the gradient ----===//
//
// ponderc --data-parallel (docs/distributed.md): the scaled gradients of a
// batch's shards, @grad_shard with each term's loss_scales = max(1, the
// shard's count) / max(1, the batch's), sum to @grad of the whole batch for
// every halting mode, with think tokens, fractional target weights,
// advantages and shards of different token counts; and @apply_gradients on
// @grad's gradients is @train_step.
//
//===----------------------------------------------------------------------===//

#include "runtime/Artifact.h"
#include "runtime/ArtifactContract.h"
#include "runtime/Init.h"
#include "unittests/TempDirTest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>

using namespace ponder;

namespace {

constexpr int64_t kVerbal = 6;

std::string modelText(const char *halting) {
  return std::string("[model]\nverbal_vocab = 6\nthink_vocab = 2\n"
                     "d_model = 16\nn_heads = 2\nd_ff = 32\nmax_seq = 8\n\n"
                     "[depth]\nhalting = \"") +
         halting +
         "\"\nmax_steps = 3\nact_epsilon = 0.05\n\n[loss]\nsmoothing = 0.1\n";
}

/// The rows [first, first + count) of a batch.
struct Batch {
  Tensor ids, lengths, targetWeight, advantage;
  Batch rows(int64_t first, int64_t count) const {
    return {ids.rows(first, count), lengths.rows(first, count),
            targetWeight.rows(first, count), advantage.rows(first, count)};
  }
  /// MODEL.md §5's denominators: sum m, the valid positions, and
  /// sum_b (lengths[b] - 1).
  std::array<double, 3> counts() const {
    int64_t rows = ids.shape()[0], t = ids.shape()[1];
    std::array<double, 3> c = {0, 0, 0};
    for (int64_t r = 0; r < rows; ++r) {
      int32_t length = lengths.data<int32_t>()[r];
      for (int64_t p = 1; p < length; ++p)
        if (ids.data<int32_t>()[r * t + p] < kVerbal)
          c[0] += targetWeight.data<float>()[r * t + p];
      c[1] += length;
      c[2] += length - 1;
    }
    return c;
  }
};

Batch makeBatch() {
  // Rows of different lengths, think tokens among them, fractional weights.
  const int32_t ids[4][8] = {{0, 1, 2, 3, 4, 5, 0, 1},
                             {2, 6, 3, 7, 1, 0, 0, 0},
                             {5, 4, 3, 2, 1, 0, 6, 2},
                             {1, 1, 0, 0, 0, 0, 0, 0}};
  const int32_t lengths[4] = {8, 5, 7, 2};
  Batch b{Tensor(DType::I32, {4, 8}), Tensor(DType::I32, {4}),
          Tensor(DType::F32, {4, 8}), Tensor(DType::F32, {4, 8})};
  for (int64_t r = 0; r < 4; ++r) {
    b.lengths.data<int32_t>()[r] = lengths[r];
    for (int64_t p = 0; p < 8; ++p) {
      b.ids.data<int32_t>()[r * 8 + p] = ids[r][p];
      b.targetWeight.data<float>()[r * 8 + p] = p % 3 == 0 ? 0.5f : 1.0f;
      b.advantage.data<float>()[r * 8 + p] = 0.25f * float((r + p) % 5) - 0.5f;
    }
  }
  return b;
}

class DataParallel : public TempDirTest,
                     public ::testing::WithParamInterface<const char *> {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    std::ofstream(path("m.toml")) << modelText(GetParam());
    std::string command = std::string(PONDERC_PATH) + " " + path("m.toml") +
                          " --data-parallel --emit=artifact -o " + path("m.so");
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    auto a = Artifact::load(path("m.so"));
    ASSERT_TRUE(a) << a.getStatus().message();
    artifact = std::move(*a);
    for (const ValueSpec &p : artifact->parameters()) {
      Tensor t(DType::F32, p.shape);
      initParameter(p.name, 7, t.data<float>(), size_t(t.numel()), 0.5f);
      weights.emplace(p.name, std::move(t));
    }
  }
  std::map<std::string, const Tensor *> values(const Batch &b) const {
    std::map<std::string, const Tensor *> v;
    for (const auto &[name, t] : weights)
      v[name] = &t;
    v[PONDER_VALUE_IDS] = &b.ids;
    v[PONDER_VALUE_LENGTHS] = &b.lengths;
    v[PONDER_VALUE_TARGET_WEIGHT] = &b.targetWeight;
    v[PONDER_VALUE_ADVANTAGE] = &b.advantage;
    return v;
  }
  std::map<std::string, Tensor> call(const char *entry,
                                     std::map<std::string, const Tensor *> v) {
    auto out = artifact->call(*artifact->entry(entry), v);
    EXPECT_TRUE(out) << out.getStatus().message();
    return out ? std::move(*out) : std::map<std::string, Tensor>{};
  }

  std::unique_ptr<Artifact> artifact;
  std::map<std::string, Tensor> weights;
};

TEST_P(DataParallel, ShardGradientsSumToTheBatchGradient) {
  Batch whole = makeBatch();
  std::map<std::string, Tensor> full = call(PONDER_ENTRY_GRAD, values(whole));
  std::array<double, 3> global = whole.counts();
  std::map<std::string, std::vector<double>> sum;
  double loss = 0;
  // Uneven shards: 1 row and 3 rows, of different token counts.
  for (auto [first, count] : {std::pair<int64_t, int64_t>{0, 1}, {1, 3}}) {
    Batch shard = whole.rows(first, count);
    std::array<double, 3> local = shard.counts();
    Tensor scales(DType::F32, {3});
    for (int i = 0; i < 3; ++i)
      scales.data<float>()[i] =
          float(std::max(1.0, local[i]) / std::max(1.0, global[i]));
    std::map<std::string, const Tensor *> v = values(shard);
    v[PONDER_VALUE_LOSS_SCALES] = &scales;
    std::map<std::string, Tensor> out = call(PONDER_ENTRY_GRAD_SHARD, v);
    loss += out.at(PONDER_VALUE_LOSS).data<float>()[0];
    for (const auto &[name, t] : out) {
      if (name.rfind(PONDER_VALUE_GRAD_PREFIX, 0) != 0)
        continue;
      std::vector<double> &s = sum[name];
      s.resize(size_t(t.numel()));
      for (int64_t i = 0; i < t.numel(); ++i)
        s[size_t(i)] += t.data<float>()[i];
    }
  }
  EXPECT_NEAR(loss, full.at(PONDER_VALUE_LOSS).data<float>()[0], 1e-5);
  ASSERT_EQ(sum.size(), weights.size());
  for (const auto &[name, s] : sum) {
    const Tensor &g = full.at(name);
    double largest = 0;
    for (int64_t i = 0; i < g.numel(); ++i)
      largest = std::max(largest, std::fabs(double(g.data<float>()[i])));
    for (int64_t i = 0; i < g.numel(); ++i)
      ASSERT_NEAR(s[size_t(i)], g.data<float>()[i], 1e-5 * largest + 1e-9)
          << name << "[" << i << "]";
  }
}

TEST_P(DataParallel, ApplyingTheGradientIsTheTrainStep) {
  Batch whole = makeBatch();
  std::map<std::string, Tensor> grads = call(PONDER_ENTRY_GRAD, values(whole));
  Tensor lr(DType::F32, {}), step(DType::I32, {}), decay(DType::F32, {});
  lr.data<float>()[0] = 0.01f;
  step.data<int32_t>()[0] = 3;
  decay.data<float>()[0] = 0.1f;
  std::map<std::string, Tensor> moments;
  for (const auto &[name, t] : weights)
    for (const char *prefix : {"adam.m.", "adam.v."}) {
      Tensor m(DType::F32, t.shape());
      for (int64_t i = 0; i < m.numel(); ++i)
        m.data<float>()[i] = prefix[5] == 'm' ? 0.01f : 0.001f;
      moments.emplace(prefix + name, std::move(m));
    }
  std::map<std::string, const Tensor *> v = values(whole);
  for (const auto &[name, t] : moments)
    v[name] = &t;
  v[PONDER_VALUE_LEARNING_RATE] = &lr;
  v[PONDER_VALUE_STEP] = &step;
  v[PONDER_VALUE_WEIGHT_DECAY] = &decay;
  std::map<std::string, Tensor> fused = call(PONDER_ENTRY_TRAIN_STEP, v);
  for (const auto &[name, t] : grads)
    v[name] = &t;
  std::map<std::string, Tensor> applied = call(PONDER_ENTRY_APPLY_GRADIENTS, v);
  ASSERT_EQ(applied.size(), 1 + 3 * weights.size());
  for (const auto &[name, t] : applied) {
    const Tensor &f = fused.at(name);
    ASSERT_EQ(f.numel(), t.numel()) << name;
    for (int64_t i = 0; i < t.numel(); ++i)
      ASSERT_NEAR(t.data<float>()[i], f.data<float>()[i],
                  1e-6 * (1 + std::fabs(f.data<float>()[i])))
          << name << "[" << i << "]";
  }
}

INSTANTIATE_TEST_SUITE_P(Halting, DataParallel,
                         ::testing::Values("fixed", "act", "pondernet"));

} // namespace
