//===- DecoderTest.cpp - Cached decoding equals the full forward ----------===//
//
// Compiles small models with ponderc and checks the runtime's Decoder
// (the artifact's @decode entry, docs/decoding.md) against the same
// artifact's @forward over the whole sequence (1e-5 of the largest logit,
// `steps` exactly, identical greedy tokens) and against the independent
// reference of the contract (1e-4), for every halting mode: prompts with
// think tokens, a batch of rows with different prompt lengths, and a token
// that halts at step 1 followed by one that runs every step, whose attention
// reads keys computed from the first token's frozen state (MODEL.md §4).
// Each mode runs with both think channels (MODEL.md §9): under "hidden" a
// thought that opens a decode call reads the state the decoder carried.
//
//===----------------------------------------------------------------------===//

#include "runtime/Decoder.h"
#include "runtime/Generate.h"
#include "test/reference/ContractReference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>

using namespace ponder;

namespace {

constexpr int64_t kVerbal = 9, kThink = 4, kV = kVerbal + kThink, kWidth = 16;
constexpr int64_t kMaxSeq = 12, kSteps = 5;

reference::Config configFor(reference::Halting halting, bool hidden = false) {
  reference::Config c;
  c.channel = hidden ? reference::Channel::Hidden : reference::Channel::Token;
  c.verbalVocab = kVerbal;
  c.thinkVocab = kThink;
  c.dModel = kWidth;
  c.nHeads = 4;
  c.dFF = 24;
  c.maxSeq = kMaxSeq;
  c.halting = halting;
  c.maxSteps = kSteps;
  c.actEpsilon = 0.05;
  c.priorLambda = 0.3;
  return c;
}

const char *modeName(reference::Halting h) {
  switch (h) {
  case reference::Halting::Fixed:
    return "fixed";
  case reference::Halting::Act:
    return "act";
  case reference::Halting::PonderNet:
    return "pondernet";
  }
  return "";
}

/// Compiles the model of `config` with ponderc and loads the artifact, once
/// per halting mode (every test uses the same dimensions).
const Artifact *compileModel(const reference::Config &config) {
  static std::map<std::pair<reference::Halting, bool>,
                  std::unique_ptr<Artifact>>
      compiled;
  bool hidden = config.channel == reference::Channel::Hidden;
  std::unique_ptr<Artifact> &slot = compiled[{config.halting, hidden}];
  if (slot)
    return slot.get();
  std::string name = modeName(config.halting);
  std::string dir =
      ::testing::TempDir() + "/decoder_" + name + (hidden ? "_hidden" : "");
  EXPECT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  std::ofstream(dir + "/model.toml")
      << "[model]\nverbal_vocab = " << config.verbalVocab
      << "\nthink_vocab = " << config.thinkVocab
      << "\nd_model = " << config.dModel << "\nn_heads = " << config.nHeads
      << "\nd_ff = " << config.dFF << "\nmax_seq = " << config.maxSeq
      << "\n\n[depth]\nhalting = \"" << name
      << "\"\nmax_steps = " << config.maxSteps
      << "\nact_epsilon = " << config.actEpsilon
      << "\nprior_lambda = " << config.priorLambda << "\n"
      << (hidden ? "\n[think]\nchannel = \"hidden\"\n" : "");
  std::string command = std::string(PONDERC_PATH) + " " + dir +
                        "/model.toml --emit=artifact -o " + dir + "/model.so";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  auto artifact = Artifact::load(dir + "/model.so");
  EXPECT_TRUE(artifact) << artifact.getStatus().message();
  if (artifact)
    slot = std::move(*artifact);
  return slot.get();
}

/// The reference's weights as runtime tensors, and a name -> tensor map.
struct Weights {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, const Tensor *> values;

  Weights(const reference::Config &config, const reference::Weights &w) {
    for (const auto &[name, shape] : reference::parameterShapes(config)) {
      Tensor t(DType::F32, shape);
      const reference::Tensor &src = w.get(name);
      for (int64_t i = 0; i < t.numel(); ++i)
        t.data<float>()[i] = float(src[i]);
      values[name] = &tensors.emplace(name, std::move(t)).first->second;
    }
  }
};

/// The artifact's @forward logits and steps for one unpadded row.
std::pair<std::vector<float>, std::vector<int32_t>>
fullForward(const Artifact &artifact, const Weights &weights,
            const std::vector<int32_t> &row) {
  int64_t t = int64_t(row.size());
  Tensor ids(DType::I32, {1, t}), lengths(DType::I32, {1});
  std::copy(row.begin(), row.end(), ids.data<int32_t>());
  lengths.data<int32_t>()[0] = int32_t(t);
  std::map<std::string, const Tensor *> values = weights.values;
  values["ids"] = &ids;
  values["lengths"] = &lengths;
  auto out = artifact.call(*artifact.entry("forward"), values);
  EXPECT_TRUE(out) << out.getStatus().message();
  const Tensor &logits = out->at("logits"), &steps = out->at("steps");
  return {std::vector<float>(logits.data<float>(),
                             logits.data<float>() + logits.numel()),
          std::vector<int32_t>(steps.data<int32_t>(),
                               steps.data<int32_t>() + steps.numel())};
}

int32_t argmax(const float *logits) {
  return int32_t(std::max_element(logits, logits + kV) - logits);
}

/// Checks position `p` of `row` as decoded (`logits`, `steps`) against the
/// full forward and the reference over row[0..p].
void expectMatchesFullForward(const reference::Config &config,
                              const reference::Weights &refWeights,
                              const Artifact &artifact, const Weights &weights,
                              const std::vector<int32_t> &row, int64_t p,
                              const float *logits, int32_t steps) {
  std::vector<int32_t> prefix(row.begin(), row.begin() + p + 1);
  auto [full, fullSteps] = fullForward(artifact, weights, prefix);
  reference::Outputs ref = reference::runRow(config, refWeights, prefix);
  ASSERT_TRUE(ref.error.empty()) << ref.error;
  const float *expected = full.data() + p * kV;
  float largest = 0;
  for (int64_t k = 0; k < kV; ++k)
    largest = std::max(largest, std::abs(expected[k]));
  for (int64_t k = 0; k < kV; ++k) {
    EXPECT_NEAR(logits[k], expected[k], 1e-5 * std::max(1.0f, largest))
        << "position " << p << " logit " << k;
    EXPECT_NEAR(logits[k], ref.logits[p * kV + k],
                1e-4 * std::max(1.0f, largest))
        << "position " << p << " logit " << k << " (reference)";
  }
  EXPECT_EQ(steps, fullSteps[p]) << "position " << p;
  EXPECT_EQ(steps, ref.steps[p]) << "position " << p << " (reference)";
  EXPECT_EQ(argmax(logits), argmax(expected)) << "position " << p;
}

/// A halting mode and whether thoughts go through the hidden state.
class DecoderModes
    : public ::testing::TestWithParam<std::tuple<reference::Halting, bool>> {
protected:
  reference::Halting halting() const { return std::get<0>(GetParam()); }
  reference::Config config() const {
    return configFor(std::get<0>(GetParam()), std::get<1>(GetParam()));
  }
};

// A prompt with think tokens, prefilled in one call, then greedy decoding of
// one token per call until the row is full.
TEST_P(DecoderModes, GreedyDecodingMatchesTheFullForward) {
  reference::Config config = this->config();
  const Artifact *artifact = compileModel(config);
  ASSERT_TRUE(artifact);
  // Weights large enough that positions halt at different steps.
  reference::Weights refWeights =
      reference::randomWeights(config, 11, /*scale=*/0.4, /*haltBias=*/-0.5);
  Weights weights(config, refWeights);
  auto decoder = Decoder::create(*artifact, weights.values, 1, "weights");
  ASSERT_TRUE(decoder) << decoder.getStatus().message();

  std::vector<int32_t> row = {3, 10, 1, 12, 5};
  Tensor prompt(DType::I32, {1, int64_t(row.size())});
  std::copy(row.begin(), row.end(), prompt.data<int32_t>());
  auto out = (*decoder)->append(prompt, {int32_t(row.size())});
  ASSERT_TRUE(out) << out.getStatus().message();
  for (int64_t p = 0; p < int64_t(row.size()); ++p)
    expectMatchesFullForward(config, refWeights, *artifact, weights, row, p,
                             out->logits.data<float>() + p * kV,
                             out->steps.data<int32_t>()[p]);
  std::set<int32_t> depths;
  while (int64_t(row.size()) < kMaxSeq) {
    const float *last = out->logits.data<float>() + (out->logits.numel() - kV);
    row.push_back(argmax(last));
    out = (*decoder)->append(std::vector<int32_t>{row.back()});
    ASSERT_TRUE(out) << out.getStatus().message();
    int32_t steps = out->steps.data<int32_t>()[0];
    depths.insert(steps);
    expectMatchesFullForward(config, refWeights, *artifact, weights, row,
                             int64_t(row.size()) - 1, out->logits.data<float>(),
                             steps);
  }
  EXPECT_EQ((*decoder)->positions()[0], kMaxSeq);
  if (halting() == reference::Halting::Act)
    EXPECT_GT(depths.size(), 1u) << "every token ran the same depth";
  // A full row is refused with one line, and the decoder is unchanged.
  auto full = (*decoder)->append(std::vector<int32_t>{0});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.getStatus().message(),
            "row 0 is full: 12 cached + 1 new tokens exceed max_seq = 12");
}

// Two rows with prompts of different lengths (the shorter one padded) are
// prefilled together, then both decode: each row must match its own full
// forward.
TEST_P(DecoderModes, RowsOfDifferentLengthsDecodeIndependently) {
  reference::Config config = this->config();
  const Artifact *artifact = compileModel(config);
  ASSERT_TRUE(artifact);
  reference::Weights refWeights =
      reference::randomWeights(config, 5, /*scale=*/0.4, /*haltBias=*/-0.5);
  Weights weights(config, refWeights);
  auto decoder = Decoder::create(*artifact, weights.values, 2, "weights");
  ASSERT_TRUE(decoder) << decoder.getStatus().message();

  std::vector<std::vector<int32_t>> rows = {{2, 11, 7, 0}, {8, 4}};
  Tensor prompt(DType::I32, {2, 4});
  for (int64_t i = 0; i < 8; ++i)
    prompt.data<int32_t>()[i] =
        i < 4 ? rows[0][i] : (i - 4 < 2 ? rows[1][i - 4] : 12); // padding
  auto out = (*decoder)->append(prompt, {4, 2});
  ASSERT_TRUE(out) << out.getStatus().message();
  for (int r = 0; r < 2; ++r)
    for (int64_t p = 0; p < int64_t(rows[r].size()); ++p)
      expectMatchesFullForward(config, refWeights, *artifact, weights, rows[r],
                               p, out->logits.data<float>() + (r * 4 + p) * kV,
                               out->steps.data<int32_t>()[r * 4 + p]);
  EXPECT_EQ((*decoder)->positions(), (std::vector<int32_t>{4, 2}));
  for (int round = 0; round < 3; ++round) {
    std::vector<int32_t> next = {int32_t((round * 5 + 1) % kV),
                                 int32_t((round * 3 + 9) % kV)};
    out = (*decoder)->append(next);
    ASSERT_TRUE(out) << out.getStatus().message();
    for (int r = 0; r < 2; ++r) {
      rows[r].push_back(next[r]);
      expectMatchesFullForward(config, refWeights, *artifact, weights, rows[r],
                               int64_t(rows[r].size()) - 1,
                               out->logits.data<float>() + r * kV,
                               out->steps.data<int32_t>()[r]);
    }
  }
}

// Rows advance at their own pace (rollouts): a row of length 0 is left as it
// is, even when it is too full for the call's width, and its next tokens
// still match the full forward.
TEST_P(DecoderModes, RowsOfLengthZeroWait) {
  reference::Config config = this->config();
  const Artifact *artifact = compileModel(config);
  ASSERT_TRUE(artifact);
  reference::Weights refWeights =
      reference::randomWeights(config, 6, 0.4, -0.5);
  Weights weights(config, refWeights);
  auto decoder = Decoder::create(*artifact, weights.values, 2, "weights");
  ASSERT_TRUE(decoder);
  // Row 0 nearly full (kMaxSeq - 1 tokens), row 1 empty.
  std::vector<std::vector<int32_t>> rows(2);
  for (int64_t i = 0; i < kMaxSeq - 1; ++i)
    rows[0].push_back(int32_t((i * 7 + 2) % kV));
  Tensor first(DType::I32, {2, kMaxSeq - 1});
  std::copy(rows[0].begin(), rows[0].end(), first.data<int32_t>());
  ASSERT_TRUE((*decoder)->append(first, {int32_t(kMaxSeq - 1), 0}));
  EXPECT_EQ((*decoder)->positions(), (std::vector<int32_t>{kMaxSeq - 1, 0}));
  // Three tokens for row 1 only: wider than row 0's room.
  rows[1] = {3, 9, 12};
  Tensor second(DType::I32, {2, 3});
  std::copy(rows[1].begin(), rows[1].end(), second.data<int32_t>() + 3);
  auto out = (*decoder)->append(second, {0, 3});
  ASSERT_TRUE(out) << out.getStatus().message();
  for (int64_t p = 0; p < 3; ++p)
    expectMatchesFullForward(config, refWeights, *artifact, weights, rows[1], p,
                             out->logits.data<float>() + (3 + p) * kV,
                             out->steps.data<int32_t>()[3 + p]);
  // Row 0's last token, row 1 waiting; then both at once.
  rows[0].push_back(5);
  out = (*decoder)->append(Tensor::zeros(DType::I32, {2, 1}), {0, 0});
  EXPECT_FALSE(out);
  EXPECT_EQ(out.getStatus().message(),
            "every row has length 0: nothing to append");
  Tensor third(DType::I32, {2, 1});
  third.data<int32_t>()[0] = 5;
  out = (*decoder)->append(third, {1, 0});
  ASSERT_TRUE(out) << out.getStatus().message();
  expectMatchesFullForward(config, refWeights, *artifact, weights, rows[0],
                           kMaxSeq - 1, out->logits.data<float>(),
                           out->steps.data<int32_t>()[0]);
  EXPECT_EQ((*decoder)->positions(), (std::vector<int32_t>{kMaxSeq, 3}));
  rows[1].push_back(4);
  out = (*decoder)->append(std::vector<int32_t>{0, 4});
  EXPECT_FALSE(out) << "row 0 is full";
  third.data<int32_t>()[1] = 4;
  out = (*decoder)->append(third, {0, 1});
  ASSERT_TRUE(out) << out.getStatus().message();
  expectMatchesFullForward(config, refWeights, *artifact, weights, rows[1], 3,
                           out->logits.data<float>() + kV,
                           out->steps.data<int32_t>()[1]);
}

// Prompts of different lengths generated together give, row by row, what
// one-at-a-time generation gives with the row's seed: rows that stop early
// (end token, budget, max_seq) leave the decoder without changing the
// others.
TEST_P(DecoderModes, BatchedGenerationEqualsOneAtATime) {
  reference::Config config = this->config();
  const Artifact *artifact = compileModel(config);
  ASSERT_TRUE(artifact);
  reference::Weights refWeights =
      reference::randomWeights(config, 8, /*scale=*/0.4, /*haltBias=*/-0.5);
  Weights weights(config, refWeights);
  std::vector<std::vector<int32_t>> prompts = {
      {3, 10, 1, 12, 5}, {8, 4}, {2}, {7, 7, 11, 0, 1, 2, 3, 4}, {6, 9}};
  GenerateOptions options;
  options.sampling = {kVerbal, /*temperature=*/1.5, /*maxThink=*/2};
  options.maxNew = 6;
  options.eos = 4;
  options.seed = 40;
  auto batch = Decoder::create(*artifact, weights.values,
                               int64_t(prompts.size()), "weights");
  ASSERT_TRUE(batch) << batch.getStatus().message();
  std::vector<std::vector<int32_t>> streamed(prompts.size());
  auto together =
      generateBatch(**batch, prompts, options,
                    [&](int64_t r, int32_t id) { streamed[r].push_back(id); });
  ASSERT_TRUE(together) << together.getStatus().message();
  std::set<size_t> lengths;
  for (size_t r = 0; r < prompts.size(); ++r) {
    auto single = Decoder::create(*artifact, weights.values, 1, "weights");
    ASSERT_TRUE(single);
    GenerateOptions own = options;
    own.seed = options.seed + r;
    auto alone = generate(**single, prompts[r], own);
    ASSERT_TRUE(alone) << alone.getStatus().message();
    const Generation &g = (*together)[r];
    EXPECT_EQ(g.ids, alone->ids) << "row " << r;
    EXPECT_EQ(streamed[r], alone->ids) << "row " << r;
    EXPECT_EQ(g.decodedSteps, alone->decodedSteps) << "row " << r;
    EXPECT_EQ(g.sawEos, alone->sawEos) << "row " << r;
    EXPECT_EQ(g.reachedMaxSeq, alone->reachedMaxSeq) << "row " << r;
    lengths.insert(g.ids.size());
  }
  EXPECT_GT(lengths.size(), 1u) << "every row stopped at the same length";
}

TEST(Decoder, KeepRowsChecksItsRows) {
  reference::Config config = configFor(reference::Halting::Fixed);
  const Artifact *artifact = compileModel(config);
  ASSERT_TRUE(artifact);
  Weights weights(config, reference::randomWeights(config, 2, 0.4, -0.5));
  auto decoder = Decoder::create(*artifact, weights.values, 3, "weights");
  ASSERT_TRUE(decoder);
  for (const std::vector<int64_t> &rows :
       {std::vector<int64_t>{1, 0}, {0, 3}, {-1}, {2, 2}})
    EXPECT_EQ((*decoder)->keepRows(rows).message(),
              "keepRows: rows must be ascending row numbers below 3");
  EXPECT_EQ((*decoder)->keepRows({}).message(),
            "keepRows: a decoder keeps at least one row");
  ASSERT_TRUE((*decoder)->append(std::vector<int32_t>{1, 2, 3}));
  ASSERT_TRUE((*decoder)->keepRows({0, 2}));
  EXPECT_EQ((*decoder)->batch(), 2);
  EXPECT_EQ((*decoder)->positions(), (std::vector<int32_t>{1, 1}));
}

INSTANTIATE_TEST_SUITE_P(
    AllModes, DecoderModes,
    ::testing::Combine(::testing::Values(reference::Halting::Fixed,
                                         reference::Halting::Act,
                                         reference::Halting::PonderNet),
                       ::testing::Bool()),
    [](const auto &info) {
      return std::string(modeName(std::get<0>(info.param))) +
             (std::get<1>(info.param) ? "_hidden" : "");
    });

// ACT: token A halts at step 1, so the loop of its decode call stops after
// one step; token B, decoded next, runs all five steps and at steps 2..5
// attends to A's keys and values computed from A's frozen state.
TEST(Decoder, LaterDeeperTokenSeesKeysOfTheFrozenState) {
  reference::Config config = configFor(reference::Halting::Act);
  const Artifact *artifact = compileModel(config);
  ASSERT_TRUE(artifact);
  reference::Weights w = reference::randomWeights(config, 3, 0.05, 0.0);
  // Halting reads channel 0 only: id 0 carries +1 there, id 1 carries -1.
  for (double &x : w.tensors["halt.weight"])
    x = 0.0;
  w.tensors["halt.weight"][0] = 30.0;
  for (int64_t id : {0, 1})
    w.tensors["embed.token"][id * kWidth] = id == 0 ? 1.0 : -1.0;
  Weights weights(config, w);
  auto decoder = Decoder::create(*artifact, weights.values, 1, "weights");
  ASSERT_TRUE(decoder);

  std::vector<int32_t> row = {0, 1};
  auto first = (*decoder)->append(std::vector<int32_t>{0});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->steps.data<int32_t>()[0], 1);
  auto second = (*decoder)->append(std::vector<int32_t>{1});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->steps.data<int32_t>()[0], kSteps);
  expectMatchesFullForward(config, w, *artifact, weights, row, 1,
                           second->logits.data<float>(),
                           second->steps.data<int32_t>()[0]);
}

// The random-thoughts control (ponder eval --random-thoughts): a thought that
// opens a call reads a random vector instead of the carried state, so its
// logits change; a verbal token's do not, and the token channel ignores it.
TEST(Decoder, RandomizedThoughtsChangeOnlyThoughts) {
  for (bool hidden : {true, false}) {
    reference::Config config = configFor(reference::Halting::Act, hidden);
    const Artifact *artifact = compileModel(config);
    ASSERT_TRUE(artifact);
    reference::Weights refWeights =
        reference::randomWeights(config, 3, 0.4, -0.5);
    Weights weights(config, refWeights);
    auto logitsAfter = [&](bool randomize, int32_t next) {
      auto d = Decoder::create(*artifact, weights.values, 1, "weights");
      EXPECT_TRUE(d) << d.getStatus().message();
      if (randomize)
        (*d)->randomizeThoughts(7);
      EXPECT_TRUE((*d)->append(std::vector<int32_t>{3}));
      auto out = (*d)->append(std::vector<int32_t>{next});
      EXPECT_TRUE(out) << out.getStatus().message();
      return std::vector<float>(out->logits.data<float>(),
                                out->logits.data<float>() + kV);
    };
    int32_t thought = int32_t(kVerbal), verbal = 5;
    EXPECT_EQ(logitsAfter(true, verbal), logitsAfter(false, verbal));
    if (hidden)
      EXPECT_NE(logitsAfter(true, thought), logitsAfter(false, thought));
    else
      EXPECT_EQ(logitsAfter(true, thought), logitsAfter(false, thought));
  }
}

TEST(Decoder, BadInputIsOneLine) {
  reference::Config config = configFor(reference::Halting::Act);
  const Artifact *artifact = compileModel(config);
  ASSERT_TRUE(artifact);
  Weights weights(config, reference::randomWeights(config, 1));
  auto decoder = Decoder::create(*artifact, weights.values, 1, "weights");
  ASSERT_TRUE(decoder);
  auto bad = (*decoder)->append(std::vector<int32_t>{13});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.getStatus().message(), "ids[0, 0] = 13 is outside [0, V = 13)");
  EXPECT_EQ((*decoder)->positions()[0], 0);

  std::map<std::string, const Tensor *> missing = weights.values;
  missing.erase("halt.bias");
  auto noWeights = Decoder::create(*artifact, missing, 1, "w.safetensors");
  ASSERT_FALSE(noWeights);
  EXPECT_NE(noWeights.getStatus().message().find("halt.bias"),
            std::string::npos);
}

} // namespace
