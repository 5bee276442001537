//===- ArtifactTest.cpp - Calling a compiled artifact through its C ABI ---===//
//
// Builds an artifact with the ponderc binary, loads it with dlopen and calls
// ponder_entry_forward as docs/artifact-abi.md describes, comparing with the
// same model run in-process (JitModel, itself checked against the reference).
//
//===----------------------------------------------------------------------===//

#include "unittests/compiler/JitModel.h"

#include "frontend/BuildModel.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

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
  if (std::strcmp(name, "_mlir_memref_to_llvm_alloc") == 0)
    return reinterpret_cast<void *>(alloc);
  if (std::strcmp(name, "_mlir_memref_to_llvm_free") == 0)
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

TEST(Artifact, ForwardThroughTheCAbiMatchesTheCompiledModel) {
  std::string dir = ::testing::TempDir();
  std::string toml = dir + "/artifact_model.toml";
  std::string library = dir + "/artifact_model.so";
  std::ofstream(toml) << kModel;
  std::remove(library.c_str());
  std::string command =
      std::string(PONDERC_PATH) + " " + toml + " --emit=artifact -o " + library;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  void *handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto version = reinterpret_cast<int32_t (*)()>(
      dlsym(handle, "ponder_artifact_abi_version"));
  auto describe = reinterpret_cast<const char *(*)()>(
      dlsym(handle, "ponder_artifact_descriptor"));
  auto forward = reinterpret_cast<void (*)(void **)>(
      dlsym(handle, "ponder_entry_forward"));
  auto bind = reinterpret_cast<int32_t (*)(void *(*)(const char *))>(
      dlsym(handle, "ponder_artifact_bind_runtime"));
  ASSERT_TRUE(version && describe && forward && bind);
  EXPECT_EQ(version(), 2);
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

} // namespace
