//===- GradientTest.cpp - `ponder run --grad` against finite differences --===//
//
// The compiler's reverse mode (ponder-autodiff, the grad ops' lowerings and
// the halting loop's replay) end to end: `ponder run --grad` dumps grad.NAME
// for every parameter, compared with central differences of the independent
// double-precision reference (test/reference/ReferenceGradients.h) within
// 1e-3 of the largest magnitude of each parameter's gradient, for every
// halting mode, with think tokens, padding, label smoothing, target weights
// and advantages. ACT runs compacted (ponder-compact-halting-loops) at
// several halting patterns, and `--dense-halting` must give the same
// results: the forward outputs to the last bit, the gradients within 1e-6
// of the largest magnitude (a norm weight's gradient sums over gathered
// rows in another order). With `--score-attention` (score matrices on the
// CPU) the one-deep pattern agrees within 1e-5: its gathered steps take
// the online softmax, which rounds differently.
//
//===----------------------------------------------------------------------===//

#include "runtime/Artifact.h"
#include "runtime/Safetensors.h"
#include "test/reference/ReferenceGradients.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

using namespace ponder;

namespace {

/// Which positions an ACT case halts when (weights chosen to force it).
enum class Pattern {
  Varied,       // random weights: depths differ
  NoneHalt,     // every position runs every step
  AllAtOne,     // every position halts after step 1
  OneDeepPerRow // one marked position per row runs every step
};

struct Case {
  reference::Halting halting;
  const char *name;
  double haltBias;
  double referenceMix = 0; // > 0: soft targets from reference logits
  bool recompute = false;  // [depth] backward = "recompute": no tape
  bool hidden = false;     // [think] channel = "hidden" (MODEL.md §9)
  Pattern pattern = Pattern::Varied;
};

std::string caseName(const Case &c) {
  static const char *patterns[] = {"", "_none_halt", "_all_at_one",
                                   "_one_deep_per_row"};
  return std::string(c.name) + (c.referenceMix > 0 ? "_reference" : "") +
         (c.recompute ? "_recompute" : "") + (c.hidden ? "_hidden" : "") +
         patterns[static_cast<int>(c.pattern)];
}

// The marker of OneDeepPerRow: +10 in channel 0 of its embedding, which
// halt.weight[0] = -5 reads against halt.bias = +20.
constexpr int32_t kMarker = 3;

void forcePattern(Pattern pattern, reference::Weights &weights) {
  reference::Tensor &bias = weights.tensors["halt.bias"];
  if (pattern == Pattern::NoneHalt || pattern == Pattern::AllAtOne)
    bias[0] = pattern == Pattern::NoneHalt ? -30.0 : 30.0;
  if (pattern != Pattern::OneDeepPerRow)
    return;
  bias[0] = 20.0;
  reference::Tensor &halt = weights.tensors["halt.weight"];
  std::fill(halt.begin(), halt.end(), 0.0);
  halt[0] = -5.0;
  int64_t width = halt.size();
  weights.tensors["embed.token"][kMarker * width] += 10.0;
}

/// Every tensor of `a` equals `b`'s within `tolerance` of its largest
/// magnitude; `exact`: the outputs that are no gradient, bit for bit.
void expectSameOutputs(const SafetensorsFile &a, const SafetensorsFile &b,
                       double tolerance, bool exact) {
  for (const auto &[name, x] : a.tensors) {
    bool bitwise = exact && name.rfind("grad.", 0) != 0;
    const Tensor *y = b.find(name);
    ASSERT_TRUE(y) << "no " << name;
    ASSERT_EQ(x.numel(), y->numel()) << name;
    if (x.dtype() != DType::F32) {
      EXPECT_EQ(0, std::memcmp(x.bytes(), y->bytes(), x.byteSize())) << name;
      continue;
    }
    double largest = 0;
    for (int64_t i = 0; i < x.numel(); ++i)
      largest = std::max(largest, double(std::abs(y->data<float>()[i])));
    int64_t bad = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      float u = x.data<float>()[i], v = y->data<float>()[i];
      bool same = bitwise ? std::memcmp(&u, &v, sizeof u) == 0
                          : std::abs(u - v) <= tolerance * largest;
      if (!same && bad++ < 3)
        ADD_FAILURE() << name << "[" << i << "]: compacted " << u << ", dense "
                      << v;
    }
  }
}

class PonderGradients : public ::testing::TestWithParam<Case> {};

TEST_P(PonderGradients, MatchFiniteDifferencesOfTheReference) {
  const Case &c = GetParam();
  std::string dir = ::testing::TempDir() + "/ponder_grad_" + caseName(c);
  ASSERT_EQ(std::system(("mkdir -p " + dir + "/cache").c_str()), 0);
  setenv("PONDER_CACHE_DIR", (dir + "/cache").c_str(), 1);

  reference::Config config;
  config.verbalVocab = 9;
  config.thinkVocab = 4;
  config.dModel = 8;
  config.nHeads = 2;
  config.dFF = 12;
  config.maxSeq = 8;
  config.halting = c.halting;
  config.maxSteps = 4;
  config.actEpsilon = 0.05;
  config.ponderCost = 0.03;
  config.priorLambda = 0.3;
  config.klBeta = 0.02;
  config.smoothing = 0.1;
  config.referenceMix = c.referenceMix;
  config.referenceTemperature = 1.5;
  config.policyWeight = 0.7;
  if (c.hidden)
    config.channel = reference::Channel::Hidden;
  std::ofstream(dir + "/model.toml")
      << "[model]\nverbal_vocab = 9\nthink_vocab = 4\nd_model = 8\n"
         "n_heads = 2\nd_ff = 12\nmax_seq = 8\n\n[depth]\nhalting = \""
      << c.name
      << "\"\nmax_steps = 4\nact_epsilon = 0.05\nponder_cost = 0.03\n"
         "prior_lambda = 0.3\nkl_beta = 0.02\n"
      << (c.recompute ? "backward = \"recompute\"\n" : "")
      << "\n[loss]\nsmoothing = 0.1\n"
         "policy_weight = 0.7\nreference_temperature = 1.5\n"
         "reference_mix = "
      << c.referenceMix << "\n"
      << (c.hidden ? "\n[think]\nchannel = \"hidden\"\n" : "");

  reference::Weights weights =
      reference::randomWeights(config, 17, /*scale=*/0.3, c.haltBias);
  forcePattern(c.pattern, weights);
  std::vector<Tensor> tensors;
  std::vector<std::pair<std::string, const Tensor *>> named;
  tensors.reserve(20);
  for (const auto &[name, shape] : reference::parameterShapes(config)) {
    tensors.emplace_back(DType::F32, shape);
    const reference::Tensor &src = weights.get(name);
    for (int64_t i = 0; i < tensors.back().numel(); ++i)
      tensors.back().data<float>()[i] = float(src[i]);
    // The reference runs on exactly the float32 weights.
    weights.tensors[name].assign(tensors.back().data<float>(),
                                 tensors.back().data<float>() +
                                     tensors.back().numel());
    named.emplace_back(name, &tensors.back());
  }
  ASSERT_TRUE(writeSafetensors(dir + "/w.safetensors", named, {}).isOk());

  // Rows of lengths 6 and 4 over T = 6, think and verbal ids, one masked
  // target, advantages of both signs.
  const int64_t b = 2, t = 6;
  std::vector<int32_t> ids = {2, 10, 5, 11, 1, 3, 7, 12, 0, 4, 12, 12};
  if (c.pattern == Pattern::OneDeepPerRow)
    ids[8] = kMarker; // one marker per row
  Tensor idsT(DType::I32, {b, t}), lengths(DType::I32, {b});
  Tensor weight(DType::F32, {b, t}), advantage(DType::F32, {b, t});
  std::copy(ids.begin(), ids.end(), idsT.data<int32_t>());
  lengths.data<int32_t>()[0] = 6;
  lengths.data<int32_t>()[1] = 4;
  reference::Batch batch = reference::makeBatch(b, t, ids, {6, 4});
  batch.targetWeight.assign(b * t, 1.0);
  batch.advantage.assign(b * t, 0.0);
  for (int64_t i = 0; i < b * t; ++i) {
    batch.targetWeight[i] = weight.data<float>()[i] = i == 2 ? 0.0f : 1.0f;
    batch.advantage[i] = advantage.data<float>()[i] =
        0.5f * float(i % 3) - 0.4f;
  }
  std::vector<std::pair<std::string, const Tensor *>> inputs = {
      {"ids", &idsT},
      {"lengths", &lengths},
      {"target_weight", &weight},
      {"advantage", &advantage}};
  Tensor reference(DType::F32, {b, t, 13});
  if (c.referenceMix > 0) {
    batch.referenceLogits.resize(b * t * 13);
    for (int64_t i = 0; i < b * t * 13; ++i)
      batch.referenceLogits[i] = reference.data<float>()[i] =
          float((i * 37) % 11) * 0.3f - 1.5f;
    inputs.push_back({"reference_logits", &reference});
  }
  ASSERT_TRUE(writeSafetensors(dir + "/batch.safetensors", inputs, {}).isOk());
  std::string run = std::string(PONDER_PATH) + " run " + dir +
                    "/model.toml --weights " + dir + "/w.safetensors --batch " +
                    dir + "/batch.safetensors --grad --dump ";
  std::string command = run + dir + "/out.safetensors";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto out = readSafetensors(dir + "/out.safetensors");
  ASSERT_TRUE(out) << out.getStatus().message();

  reference::Gradients expected =
      reference::finiteDifferenceGradients(config, weights, batch);
  ASSERT_TRUE(expected.error.empty()) << expected.error;
  // ACT: the weights realise the case's halting pattern.
  if (c.halting == reference::Halting::Act) {
    const std::vector<int> &steps = expected.outputs.steps;
    auto [low, high] = std::minmax_element(steps.begin(), steps.begin() + 6);
    for (int64_t i = 0; i < b * t; ++i) {
      if (i >= 6 && i - 6 >= 4)
        continue; // padding of row 1
      int deep = config.maxSteps;
      switch (c.pattern) {
      case Pattern::Varied:
        break;
      case Pattern::NoneHalt:
        EXPECT_EQ(steps[i], deep) << "position " << i;
        break;
      case Pattern::AllAtOne:
        EXPECT_EQ(steps[i], 1) << "position " << i;
        break;
      case Pattern::OneDeepPerRow:
        EXPECT_EQ(steps[i], ids[i] == kMarker ? deep : 1) << "position " << i;
        break;
      }
    }
    if (c.pattern == Pattern::Varied)
      EXPECT_LT(*low, *high) << "every position ran the same depth";
  }
  EXPECT_NEAR(out->find("loss")->data<float>()[0], expected.outputs.loss, 1e-4);
  for (const auto &[name, grad] : expected.grads) {
    const Tensor *got = out->find("grad." + name);
    ASSERT_TRUE(got) << "no grad." << name;
    ASSERT_EQ(got->numel(), int64_t(grad.size())) << name;
    double largest = 0;
    for (double g : grad)
      largest = std::max(largest, std::abs(g));
    double tolerance = 1e-3 * std::max(largest, 1e-3);
    int64_t bad = 0;
    for (size_t i = 0; i < grad.size(); ++i)
      if (std::abs(got->data<float>()[i] - grad[i]) > tolerance && bad++ < 3)
        ADD_FAILURE() << "grad." << name << "[" << i
                      << "] = " << got->data<float>()[i] << ", expected "
                      << grad[i] << " (largest " << largest << ")";
  }

  // The dense masked loop computes the same.
  if (c.halting != reference::Halting::Act)
    return;
  std::string dense = run + dir + "/dense.safetensors --dense-halting";
  ASSERT_EQ(std::system(dense.c_str()), 0) << dense;
  auto denseOut = readSafetensors(dir + "/dense.safetensors");
  ASSERT_TRUE(denseOut) << denseOut.getStatus().message();
  expectSameOutputs(*out, *denseOut, 1e-6, /*exact=*/true);
  if (c.pattern != Pattern::OneDeepPerRow)
    return;
  // With score matrices, steps where few positions run take the gathered
  // attention's online softmax, which rounds differently.
  std::string scores = " --score-attention";
  ASSERT_EQ(std::system((run + dir + "/scores.safetensors" + scores).c_str()),
            0);
  ASSERT_EQ(std::system((run + dir + "/scores-dense.safetensors" + scores +
                         " --dense-halting")
                            .c_str()),
            0);
  auto compacted = readSafetensors(dir + "/scores.safetensors");
  auto masked = readSafetensors(dir + "/scores-dense.safetensors");
  ASSERT_TRUE(compacted && masked);
  expectSameOutputs(*compacted, *masked, 1e-5, /*exact=*/false);
}

INSTANTIATE_TEST_SUITE_P(
    AllModes, PonderGradients,
    ::testing::Values(
        Case{reference::Halting::Fixed, "fixed", 1.0},
        Case{reference::Halting::Act, "act", -0.3},
        Case{reference::Halting::PonderNet, "pondernet", 0.0},
        Case{reference::Halting::Act, "act", -0.3, 0.25},
        Case{reference::Halting::PonderNet, "pondernet", 0.0, 0.25},
        Case{reference::Halting::Fixed, "fixed", 1.0, 0, true},
        Case{reference::Halting::Act, "act", -0.3, 0, true},
        Case{reference::Halting::PonderNet, "pondernet", 0.0, 0, true},
        // Thoughts through the hidden state: two chained thoughts in row 0.
        Case{reference::Halting::Fixed, "fixed", 1.0, 0, false, true},
        Case{reference::Halting::Act, "act", -0.3, 0, false, true},
        Case{reference::Halting::PonderNet, "pondernet", 0.0, 0, false, true},
        Case{reference::Halting::Act, "act", -0.3, 0.25, true, true},
        // Compaction at the patterns that bound it.
        Case{reference::Halting::Act, "act", 0.0, 0, false, false,
             Pattern::NoneHalt},
        Case{reference::Halting::Act, "act", 0.0, 0, false, false,
             Pattern::AllAtOne},
        Case{reference::Halting::Act, "act", 0.0, 0, false, false,
             Pattern::OneDeepPerRow},
        Case{reference::Halting::Act, "act", 0.0, 0.25, true, false,
             Pattern::OneDeepPerRow}),
    [](const auto &info) { return caseName(info.param); });

} // namespace

namespace {

/// One train_step of a compiled model against MODEL.md §7 written out here:
/// the global norm of the `grad` entry's gradients, clipping at 1.0 and
/// AdamW (beta1 0.9, beta2 0.95, eps 1e-8, decay on 2-D non-embed.*).
TEST(TrainStep, IsClippedAdamWOnTheGradients) {
  std::string dir = ::testing::TempDir() + "/ponder_train_step";
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  std::ofstream(dir + "/model.toml")
      << "[model]\nverbal_vocab = 9\nthink_vocab = 4\nd_model = 8\n"
         "n_heads = 2\nd_ff = 12\nmax_seq = 8\n\n[depth]\nhalting = \"act\"\n"
         "max_steps = 4\nact_epsilon = 0.05\n";
  std::string command = std::string(PONDERC_PATH) + " " + dir +
                        "/model.toml --emit=artifact -o " + dir + "/m.so";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  auto artifact = Artifact::load(dir + "/m.so");
  ASSERT_TRUE(artifact) << artifact.getStatus().message();
  const Artifact &model = **artifact;

  reference::Config config;
  config.verbalVocab = 9;
  config.thinkVocab = 4;
  config.dModel = 8;
  config.nHeads = 2;
  config.dFF = 12;
  config.maxSeq = 8;
  config.maxSteps = 4;
  // Large weights so that the gradient norm exceeds 1 and clipping acts.
  reference::Weights w = reference::randomWeights(config, 5, 1.0, 0.0);
  std::map<std::string, Tensor> params, ms, vs;
  std::map<std::string, const Tensor *> values;
  for (const auto &[name, shape] : reference::parameterShapes(config)) {
    Tensor p(DType::F32, shape), m(DType::F32, shape), v(DType::F32, shape);
    for (int64_t i = 0; i < p.numel(); ++i) {
      p.data<float>()[i] = float(w.get(name)[i]);
      m.data<float>()[i] = 0.01f * float(i % 7) - 0.03f;
      v.data<float>()[i] = 0.001f * float(i % 5 + 1);
    }
    values[name] = &params.emplace(name, std::move(p)).first->second;
    values["adam.m." + name] = &ms.emplace(name, std::move(m)).first->second;
    values["adam.v." + name] = &vs.emplace(name, std::move(v)).first->second;
  }
  Tensor ids(DType::I32, {2, 5}), lengths(DType::I32, {2});
  Tensor weight(DType::F32, {2, 5}), advantage(DType::F32, {2, 5});
  std::vector<int32_t> row = {2, 10, 5, 1, 3, 7, 12, 0, 4, 0};
  std::copy(row.begin(), row.end(), ids.data<int32_t>());
  lengths.data<int32_t>()[0] = 5;
  lengths.data<int32_t>()[1] = 4;
  for (int64_t i = 0; i < 10; ++i) {
    weight.data<float>()[i] = 1.0f;
    advantage.data<float>()[i] = 0.1f * float(i % 3);
  }
  Tensor lr(DType::F32, {}), step(DType::I32, {}), decay(DType::F32, {});
  lr.data<float>()[0] = 0.01f;
  step.data<int32_t>()[0] = 3;
  decay.data<float>()[0] = 0.1f;
  values["ids"] = &ids;
  values["lengths"] = &lengths;
  values["target_weight"] = &weight;
  values["advantage"] = &advantage;
  values["learning_rate"] = &lr;
  values["step"] = &step;
  values["weight_decay"] = &decay;

  auto grads = model.call(*model.entry("grad"), values);
  ASSERT_TRUE(grads) << grads.getStatus().message();
  auto out = model.call(*model.entry("train_step"), values);
  ASSERT_TRUE(out) << out.getStatus().message();

  double sumSq = 0;
  for (const auto &[name, _] : params) {
    const Tensor &g = grads->at("grad." + name);
    for (int64_t i = 0; i < g.numel(); ++i)
      sumSq += double(g.data<float>()[i]) * g.data<float>()[i];
  }
  double norm = std::sqrt(sumSq);
  ASSERT_GT(norm, 1.0) << "clipping would not be exercised";
  EXPECT_NEAR(out->at("grad_norm").data<float>()[0], norm, 1e-4 * norm);
  EXPECT_EQ(out->at("loss").data<float>()[0],
            grads->at("loss").data<float>()[0]);
  double scale = std::min(1.0, 1.0 / (norm + 1e-6));
  double c1 = 1 - std::pow(0.9, 3), c2 = 1 - std::pow(0.95, 3);
  for (const auto &[name, p] : params) {
    bool decays = p.rank() == 2 && name.rfind("embed.", 0) != 0;
    const Tensor &g = grads->at("grad." + name);
    for (int64_t i = 0; i < p.numel(); ++i) {
      double gi = g.data<float>()[i] * scale;
      double m = 0.9 * ms.at(name).data<float>()[i] + 0.1 * gi;
      double v = 0.95 * vs.at(name).data<float>()[i] + 0.05 * gi * gi;
      double pi = p.data<float>()[i];
      double next = pi - 0.01 * ((decays ? 0.1 * pi : 0.0) +
                                 (m / c1) / (std::sqrt(v / c2) + 1e-8));
      EXPECT_NEAR(out->at(name).data<float>()[i], next,
                  1e-5 * std::max(1.0, std::abs(next)))
          << name << i;
      EXPECT_NEAR(out->at("adam.m." + name).data<float>()[i], m, 1e-6);
      EXPECT_NEAR(out->at("adam.v." + name).data<float>()[i], v, 1e-7);
    }
  }
}

} // namespace
