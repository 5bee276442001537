//===- ArtifactTest.cpp - Calling a compiled artifact through its C ABI ---===//
//
// Builds an artifact with the ponderc binary, loads it with dlopen and calls
// ponder_entry_forward as docs/artifact-abi.md describes, comparing with the
// same model run in-process (JitModel, itself checked against the reference).
//
//===----------------------------------------------------------------------===//

#include "unittests/compiler/JitModel.h"

#include "frontend/BuildModel.h"
#include "runtime/Artifact.h"
#include "runtime/ArtifactContract.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <set>

using namespace ponder;
using namespace ponder::testing;

namespace {

constexpr const char *kModel = R"toml(
[model]
verbal_vocab = 9
think_vocab = 4
d_model = 16
n_heads = 4
d_ff = 24
max_seq = 10

[depth]
halting = "act"
max_steps = 5
act_epsilon = 0.05
)toml";

/// The allocator this test gives the artifact: malloc and free, so that it
/// releases the results with free.
void *bindMalloc(const char *name) {
  static void *(*alloc)(uint64_t) = [](uint64_t n) { return std::malloc(n); };
  static void (*release)(void *) = [](void *p) { std::free(p); };
  if (std::strcmp(name, PONDER_RUNTIME_ALLOC) == 0)
    return reinterpret_cast<void *>(alloc);
  if (std::strcmp(name, PONDER_RUNTIME_FREE) == 0)
    return reinterpret_cast<void *>(release);
  return nullptr;
}

/// A rank-r memref descriptor as 3 + 2r 64-bit words.
std::vector<int64_t> descriptor(const void *data,
                                const std::vector<int64_t> &shape) {
  std::vector<int64_t> words = {reinterpret_cast<int64_t>(data),
                                reinterpret_cast<int64_t>(data), 0};
  words.insert(words.end(), shape.begin(), shape.end());
  std::vector<int64_t> strides(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  words.insert(words.end(), strides.begin(), strides.end());
  return words;
}

/// Compiles kModel with the ponderc binary into `name`.so in the test's
/// temporary directory; returns its path ("" on failure, reported).
std::string compileModel(const std::string &name) {
  std::string dir = ::testing::TempDir();
  std::string toml = dir + "/" + name + ".toml";
  std::string library = dir + "/" + name + ".so";
  std::ofstream(toml) << kModel;
  std::remove(library.c_str());
  std::string command =
      std::string(PONDERC_PATH) + " " + toml + " --emit=artifact -o " + library;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return ::testing::Test::HasFailure() ? "" : library;
}

TEST(Artifact, ForwardThroughTheCAbiMatchesTheCompiledModel) {
  std::string library = compileModel("artifact_model");
  ASSERT_FALSE(library.empty());

  void *handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto version =
      reinterpret_cast<int32_t (*)()>(dlsym(handle, PONDER_SYMBOL_ABI_VERSION));
  auto describe = reinterpret_cast<const char *(*)()>(
      dlsym(handle, PONDER_SYMBOL_DESCRIPTOR));
  auto forward = reinterpret_cast<void (*)(void **)>(
      dlsym(handle, PONDER_ENTRY_SYMBOL_PREFIX PONDER_ENTRY_FORWARD));
  auto bind = reinterpret_cast<int32_t (*)(void *(*)(const char *))>(
      dlsym(handle, PONDER_SYMBOL_BIND_RUNTIME));
  ASSERT_TRUE(version && describe && forward && bind);
  EXPECT_EQ(version(), PONDER_ARTIFACT_ABI_VERSION);
  ASSERT_EQ(bind(&bindMalloc), 0) << "the artifact calls only alloc and free";
  EXPECT_NE(std::strstr(describe(), "\"symbol\":\"ponder_entry_forward\""),
            nullptr);

  ModelDescription desc;
  desc.model = {9, 4, 16, 4, 24, 10, 1e-5};
  desc.depth.halting = Halting::Act;
  desc.depth.maxSteps = 5;
  desc.depth.actEpsilon = 0.05;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.4f);
  WeightMap weights;
  std::vector<std::vector<int64_t>> words;
  BatchInput batch;
  batch.batch = 2;
  batch.length = 6;
  batch.lengths = {6, 3};
  for (int i = 0; i < 12; ++i)
    batch.ids.push_back((i * 5 + 1) % 13);
  words.push_back(descriptor(batch.ids.data(), {2, 6}));
  words.push_back(descriptor(batch.lengths.data(), {2}));
  for (const ParameterSpec &p : getParameters(desc)) {
    size_t count = 1;
    for (int64_t d : p.shape)
      count *= d;
    std::vector<float> &w = weights[p.name];
    for (size_t i = 0; i < count; ++i)
      w.push_back(normal(rng));
    words.push_back(descriptor(w.data(), p.shape));
  }

  // Results: logits (rank 3), steps (rank 2), remainder (rank 2).
  std::vector<int64_t> results((3 + 6) + 2 * (3 + 4), 0);
  std::vector<void *> args = {results.data()};
  for (auto &w : words)
    args.push_back(w.data());
  forward(args.data());

  auto buffer = [&](size_t word) {
    return reinterpret_cast<void *>(results[word + 1]);
  };
  const int64_t v = 13;
  EXPECT_EQ(results[3], 2); // logits sizes
  EXPECT_EQ(results[4], 6);
  EXPECT_EQ(results[5], v);
  const float *logits = static_cast<const float *>(buffer(0));
  const int32_t *steps = static_cast<const int32_t *>(buffer(9));

  std::string error;
  std::unique_ptr<JitModel> jit = JitModel::compile(desc, error);
  ASSERT_TRUE(jit) << error;
  ModelOutputs expected = jit->forward(weights, batch);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < batch.lengths[b]; ++t) {
      int64_t i = b * 6 + t;
      EXPECT_EQ(steps[i], expected.steps[i]);
      for (int64_t k = 0; k < v; ++k)
        EXPECT_NEAR(logits[i * v + k], expected.logits[i * v + k], 1e-4);
    }
  for (size_t word : {size_t(0), size_t(9), size_t(16)})
    std::free(reinterpret_cast<void *>(results[word]));
  dlclose(handle);
}

/// The names of `values`.
std::set<std::string> names(const std::vector<ValueSpec> &values) {
  std::set<std::string> out;
  for (const ValueSpec &v : values)
    out.insert(v.name);
  return out;
}

// What ponderc writes is what runtime/ArtifactContract.h says: the runtime's
// strict descriptor reader (unknown, mistyped or missing keys are errors)
// accepts it, and every entry and value the runtime names is there.
TEST(Artifact, WhatPondercWritesIsWhatTheContractSays) {
  std::string library = compileModel("contract_model");
  ASSERT_FALSE(library.empty());
  auto loaded = Artifact::load(library);
  ASSERT_TRUE(loaded) << loaded.getStatus().message();
  const Artifact &a = **loaded;
  EXPECT_EQ(a.target(), PONDER_TARGET_CPU);
  EXPECT_EQ(a.verbalVocab(), 9);
  EXPECT_EQ(a.vocabSize(), 13);
  EXPECT_EQ(a.maxSeq(), 10);
  for (const char *entry :
       {PONDER_ENTRY_FORWARD, PONDER_ENTRY_DECODE, PONDER_ENTRY_LOSS,
        PONDER_ENTRY_GRAD, PONDER_ENTRY_TRAIN_STEP})
    EXPECT_NE(a.entry(entry), nullptr) << entry;
  using Names = std::set<std::string>;
  const Names batch = {PONDER_VALUE_IDS, PONDER_VALUE_LENGTHS};
  auto has = [](const Names &all, const Names &some) {
    return std::includes(all.begin(), all.end(), some.begin(), some.end());
  };
  EXPECT_TRUE(has(names(a.entry(PONDER_ENTRY_FORWARD)->arguments), batch));
  EXPECT_TRUE(
      has(names(a.entry(PONDER_ENTRY_FORWARD)->results),
          {PONDER_VALUE_LOGITS, PONDER_VALUE_STEPS, PONDER_VALUE_REMAINDER}));
  EXPECT_TRUE(has(names(a.entry(PONDER_ENTRY_DECODE)->arguments),
                  {PONDER_VALUE_IDS, PONDER_VALUE_LENGTHS, PONDER_VALUE_START,
                   PONDER_VALUE_CACHE_KEYS, PONDER_VALUE_CACHE_VALUES}));
  EXPECT_TRUE(has(
      names(a.entry(PONDER_ENTRY_DECODE)->results),
      {PONDER_VALUE_LOGITS, PONDER_VALUE_NEW_KEYS, PONDER_VALUE_NEW_VALUES}));
  EXPECT_TRUE(has(names(a.entry(PONDER_ENTRY_LOSS)->arguments),
                  {PONDER_VALUE_IDS, PONDER_VALUE_LENGTHS,
                   PONDER_VALUE_TARGET_WEIGHT, PONDER_VALUE_ADVANTAGE}));
  EXPECT_TRUE(has(names(a.entry(PONDER_ENTRY_LOSS)->results),
                  {PONDER_VALUE_LOSS, PONDER_VALUE_LOSS_CE,
                   PONDER_VALUE_LOSS_PONDER, PONDER_VALUE_LOSS_POLICY}));
  Names step = names(a.entry(PONDER_ENTRY_TRAIN_STEP)->arguments);
  EXPECT_TRUE(
      has(step, {PONDER_VALUE_LEARNING_RATE, PONDER_VALUE_STEP,
                 PONDER_VALUE_WEIGHT_DECAY,
                 std::string(PONDER_VALUE_ADAM_M_PREFIX) + "halt.bias",
                 std::string(PONDER_VALUE_ADAM_V_PREFIX) + "halt.bias"}));
  EXPECT_TRUE(has(names(a.entry(PONDER_ENTRY_TRAIN_STEP)->results),
                  {PONDER_VALUE_GRAD_NORM}));
  EXPECT_TRUE(has(names(a.entry(PONDER_ENTRY_GRAD)->results),
                  {std::string(PONDER_VALUE_GRAD_PREFIX) + "halt.bias"}));
}

} // namespace
