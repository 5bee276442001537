//===- PonderRunTest.cpp - `ponder init` and `ponder run` end to end ------===//
//
// Runs the ponder binary as a user would (init, then run on a batch with
// think tokens and padding) and compares its dump with the independent
// reference of the contract for every halting mode (MODEL.md §4, §5, §8).
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"
#include "test/reference/ContractReference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

using namespace ponder;

namespace {

std::string modelText(const std::string &halting) {
  return "[model]\nverbal_vocab = 9\nthink_vocab = 4\nd_model = 16\n"
         "n_heads = 4\nd_ff = 24\nmax_seq = 10\n\n[depth]\nhalting = \"" +
         halting +
         "\"\nmax_steps = 5\nact_epsilon = 0.05\nponder_cost = 0.03\n"
         "prior_lambda = 0.3\nkl_beta = 0.02\n\n[loss]\nsmoothing = 0.1\n"
         "policy_weight = 0.7\n";
}

int ponder(const std::string &args) {
  std::string command = std::string(PONDER_PATH) + " " + args;
  return std::system(command.c_str());
}

class PonderRun : public ::testing::TestWithParam<const char *> {};

TEST_P(PonderRun, MatchesTheReference) {
  std::string halting = GetParam();
  std::string dir = ::testing::TempDir() + "/ponder_run_" + halting;
  std::string cache = dir + "/cache";
  ASSERT_EQ(std::system(("mkdir -p " + cache).c_str()), 0);
  setenv("PONDER_CACHE_DIR", cache.c_str(), 1);
  std::string model = dir + "/model.toml";
  std::ofstream(model) << modelText(halting);

  ASSERT_EQ(ponder("init " + model + " --seed 7 -o " + dir + "/w.safetensors"),
            0);
  // Rows of lengths 7 and 4 over T = 7; ids of both kinds; one masked target.
  const int64_t b = 2, t = 7, v = 13;
  Tensor ids(DType::I32, {b, t}), lengths(DType::I32, {b});
  Tensor weight(DType::F32, {b, t}), advantage(DType::F32, {b, t});
  for (int64_t i = 0; i < b * t; ++i) {
    ids.data<int32_t>()[i] = int32_t((i * 7 + 3) % v);
    weight.data<float>()[i] = i == 5 ? 0.0f : 1.0f;
    advantage.data<float>()[i] = 0.25f * float(i % 5) - 0.5f;
  }
  lengths.data<int32_t>()[0] = 7;
  lengths.data<int32_t>()[1] = 4;
  ASSERT_TRUE(writeSafetensors(dir + "/batch.safetensors",
                               {{"ids", &ids},
                                {"lengths", &lengths},
                                {"target_weight", &weight},
                                {"advantage", &advantage}},
                               {})
                  .isOk());
  ASSERT_EQ(ponder("run " + model + " --weights " + dir +
                   "/w.safetensors --batch " + dir +
                   "/batch.safetensors --dump " + dir + "/out.safetensors"),
            0);
  auto out = readSafetensors(dir + "/out.safetensors");
  ASSERT_TRUE(out) << out.getStatus().message();
  // Parallel loops write disjoint outputs: one thread and two give the same
  // bits, gradients included.
  std::string dumps[2];
  for (int threads : {1, 2}) {
    std::string path = dir + "/grad" + std::to_string(threads);
    ASSERT_EQ(ponder("run " + model + " --weights " + dir +
                     "/w.safetensors --batch " + dir + "/batch.safetensors " +
                     "--grad --threads " + std::to_string(threads) +
                     " --dump " + path),
              0);
    std::ifstream in(path, std::ios::binary);
    dumps[threads - 1].assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_FALSE(dumps[0].empty());
  EXPECT_EQ(dumps[0], dumps[1]);
  auto weights = readSafetensors(dir + "/w.safetensors");
  ASSERT_TRUE(weights);
  EXPECT_EQ(weights->metadata.at("model"), modelText(halting));

  reference::Config config;
  config.verbalVocab = 9;
  config.thinkVocab = 4;
  config.dModel = 16;
  config.nHeads = 4;
  config.dFF = 24;
  config.maxSeq = 10;
  config.halting = halting == "act"     ? reference::Halting::Act
                   : halting == "fixed" ? reference::Halting::Fixed
                                        : reference::Halting::PonderNet;
  config.maxSteps = 5;
  config.actEpsilon = 0.05;
  config.ponderCost = 0.03;
  config.priorLambda = 0.3;
  config.klBeta = 0.02;
  config.smoothing = 0.1;
  config.policyWeight = 0.7;
  reference::Weights refWeights;
  for (const auto &[name, tensor] : weights->tensors)
    refWeights.tensors[name].assign(tensor.data<float>(),
                                    tensor.data<float>() + tensor.numel());
  reference::Batch batch = reference::makeBatch(
      b, t,
      std::vector<int32_t>(ids.data<int32_t>(), ids.data<int32_t>() + b * t),
      {7, 4});
  batch.targetWeight.assign(weight.data<float>(), weight.data<float>() + b * t);
  batch.advantage.assign(advantage.data<float>(),
                         advantage.data<float>() + b * t);
  reference::Outputs expected = reference::run(config, refWeights, batch);
  ASSERT_TRUE(expected.error.empty()) << expected.error;

  const Tensor *logits = out->find("logits");
  const Tensor *steps = out->find("steps");
  ASSERT_TRUE(logits && steps);
  double largest = 0;
  for (double x : expected.logits)
    largest = std::max(largest, std::abs(x));
  for (int64_t r = 0; r < b; ++r)
    for (int64_t p = 0; p < (r == 0 ? 7 : 4); ++p) {
      int64_t i = r * t + p;
      EXPECT_EQ(steps->data<int32_t>()[i], expected.steps[i]);
      for (int64_t k = 0; k < v; ++k)
        EXPECT_NEAR(logits->data<float>()[i * v + k],
                    expected.logits[i * v + k], 1e-4 * std::max(1.0, largest));
    }
  auto scalar = [&](const char *name) {
    return double(out->find(name)->data<float>()[0]);
  };
  EXPECT_NEAR(scalar("loss"), expected.loss, 1e-4);
  EXPECT_NEAR(scalar("loss.ce"), expected.lossCe, 1e-4);
  EXPECT_NEAR(scalar("loss.ponder"), expected.lossPonder, 1e-4);
  EXPECT_NEAR(scalar("loss.policy"), expected.lossPolicy, 1e-4);
}

/// Runs `args` expecting failure; returns its stderr, which must be one line.
std::string failureLine(const std::string &args, const std::string &log) {
  EXPECT_NE(ponder(args + " 2> " + log), 0) << args;
  std::ifstream in(log);
  std::string line, rest;
  std::getline(in, line);
  EXPECT_FALSE(std::getline(in, rest)) << "more than one line: " << rest;
  return line;
}

TEST(PonderInitErrors, BadModelsAndOptionsAreOneLine) {
  std::string dir = ::testing::TempDir() + "/ponder_init_errors";
  ASSERT_EQ(std::system(("mkdir -p " + dir + "/cache").c_str()), 0);
  setenv("PONDER_CACHE_DIR", (dir + "/cache").c_str(), 1);
  std::string log = dir + "/log.txt", out = dir + "/w.safetensors";
  EXPECT_EQ(
      failureLine("init " + dir + "/missing.toml --seed 1 -o " + out, log),
      dir + "/missing.toml: cannot read file");
  std::ofstream(dir + "/bad.toml") << "[model]\nd_model = 8\n";
  EXPECT_EQ(failureLine("init " + dir + "/bad.toml --seed 1 -o " + out, log),
            dir + "/bad.toml:1: section [depth]: missing (required)");
  std::ofstream(dir + "/good.toml") << modelText("act");
  EXPECT_EQ(failureLine("init " + dir + "/good.toml --seed x1 -o " + out, log),
            "ponder: --seed: expected an integer >= 0, got 'x1'");
  EXPECT_EQ(failureLine("init " + dir + "/good.toml --seed 1", log),
            "ponder: missing option '-o'");
  EXPECT_FALSE(std::ifstream(out).good());
}

TEST(PonderBench, PrintsTimingAndChecksOptions) {
  std::string dir = ::testing::TempDir() + "/ponder_bench";
  ASSERT_EQ(std::system(("mkdir -p " + dir + "/cache").c_str()), 0);
  setenv("PONDER_CACHE_DIR", (dir + "/cache").c_str(), 1);
  std::ofstream(dir + "/m.toml") << modelText("act");
  std::string log = dir + "/log.txt";
  ASSERT_EQ(ponder("bench " + dir +
                   "/m.toml --batch 2 --length 5 --iters 2 > " + log),
            0);
  std::ifstream in(log);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("forward  batch 2  length 5  threads ", 0), 0u) << line;
  EXPECT_NE(line.find("tokens/s  "), std::string::npos) << line;
  EXPECT_NE(line.find(" GFLOP/s  mean depth "), std::string::npos) << line;
  // The line names the code's CPU and vector instructions: the host's here.
  EXPECT_NE(line.find("  code "), std::string::npos) << line;
  EXPECT_EQ(line.find("(sse)"), std::string::npos) << line;
  EXPECT_EQ(failureLine("bench " + dir + "/m.toml --length 11", log),
            "ponder: --length: at most max_seq = 10");
  EXPECT_EQ(failureLine("bench " + dir + "/m.toml --iters 0", log),
            "ponder: --iters: expected an integer >= 1, got '0'");
}

/// The first line of `log`.
std::string firstLine(const std::string &log) {
  std::ifstream in(log);
  std::string line;
  std::getline(in, line);
  return line;
}

/// The figure after `label` in `line` ("mean depth 1.00" -> 1.0).
double figureAfter(const std::string &line, const std::string &label) {
  size_t at = line.find(label);
  return at == std::string::npos ? -1.0
                                 : std::atof(line.c_str() + at + label.size());
}

// --weights and --batch-file time the given weights on the given batch:
// depths follow halt.bias, and only valid positions count.
TEST(PonderBench, TimesGivenWeightsOnAGivenBatch) {
  std::string dir = ::testing::TempDir() + "/ponder_bench_real";
  ASSERT_EQ(std::system(("mkdir -p " + dir + "/cache").c_str()), 0);
  setenv("PONDER_CACHE_DIR", (dir + "/cache").c_str(), 1);
  std::string model = dir + "/m.toml";
  std::ofstream(model) << modelText("act");
  ASSERT_EQ(ponder("init " + model + " --seed 3 -o " + dir + "/w.safetensors"),
            0);
  StatusOr<SafetensorsFile> w = readSafetensors(dir + "/w.safetensors");
  ASSERT_TRUE(w) << w.getStatus().message();
  std::vector<std::pair<std::string, const Tensor *>> named;
  for (const auto &[name, t] : w->tensors)
    named.emplace_back(name, &t);
  // halt.bias +20 halts every position at step 1, -20 runs all 5 steps.
  for (float bias : {20.0f, -20.0f}) {
    w->find("halt.bias")->data<float>()[0] = bias;
    std::string file = dir + (bias > 0 ? "/shallow" : "/deep") + ".safetensors";
    ASSERT_TRUE(writeSafetensors(file, named, {}).isOk());
  }
  Tensor ids(DType::I32, {3, 6}), lengths(DType::I32, {3});
  for (int64_t i = 0; i < 18; ++i)
    ids.data<int32_t>()[i] = int32_t(i % 9);
  for (int32_t r : {0, 1, 2})
    lengths.data<int32_t>()[r] = 6 - 2 * r; // 6, 4 and 2 valid positions
  std::string batch = dir + "/batch.safetensors";
  ASSERT_TRUE(
      writeSafetensors(batch, {{"ids", &ids}, {"lengths", &lengths}}, {})
          .isOk());

  std::string log = dir + "/log.txt";
  for (std::string command : {"bench ", "bench train "}) {
    for (auto [weights, depth] :
         {std::pair("shallow", 1.0), std::pair("deep", 5.0)}) {
      ASSERT_EQ(ponder(command + model + " --weights " + dir + "/" + weights +
                       ".safetensors --batch-file " + batch + " --iters 1 > " +
                       log),
                0);
      std::string line = firstLine(log);
      EXPECT_EQ(line.rfind(command == "bench " ? "forward  batch 3  length 6 "
                                               : "train  batch 3  seq 6 ",
                           0),
                0u)
          << line;
      EXPECT_EQ(figureAfter(line, "mean depth "), depth) << line;
      EXPECT_GT(figureAfter(line, "tokens/s  "), 0.0) << line;
      EXPECT_NE(line.find(" MiB  (1 iters)"), std::string::npos) << line;
    }
    EXPECT_EQ(
        failureLine(command + model + " --batch-file " + batch +
                        (command == "bench " ? " --length 4" : " --seq 4"),
                    log),
        command == "bench " ? "ponder: --length excludes --batch-file"
                            : "ponder: --seq excludes --batch-file");
    EXPECT_EQ(failureLine(command + model + " --batch-file " + dir +
                              "/missing.safetensors",
                          log),
              dir + "/missing.safetensors: cannot open: No such file or "
                    "directory");
  }
  // A batch of another model: ids out of its range are named.
  ids.data<int32_t>()[4] = 13;
  ASSERT_TRUE(
      writeSafetensors(batch, {{"ids", &ids}, {"lengths", &lengths}}, {})
          .isOk());
  EXPECT_EQ(failureLine("bench " + model + " --batch-file " + batch, log),
            batch + ": ids[0, 4] = 13 is outside [0, V = 13)");
}

// --target-cpu compiles for another CPU (cached apart from the host's code);
// what it cannot compile for is one line.
TEST(PonderBench, CompilesForTheCpuItIsTold) {
  std::string dir = ::testing::TempDir() + "/ponder_bench_cpu";
  ASSERT_EQ(std::system(("mkdir -p " + dir + "/cache").c_str()), 0);
  setenv("PONDER_CACHE_DIR", (dir + "/cache").c_str(), 1);
  std::ofstream(dir + "/m.toml") << modelText("fixed");
  std::string log = dir + "/log.txt";
  // The host's code first, in the same cache: each CPU gets its own entry.
  for (std::string cpu : {"", "x86-64", ""}) {
    ASSERT_EQ(ponder("bench " + dir + "/m.toml --iters 1" +
                     (cpu.empty() ? "" : " --target-cpu " + cpu) + " > " + log),
              0);
    std::string line = firstLine(log);
    if (cpu.empty())
      EXPECT_EQ(line.find("(sse)"), std::string::npos) << line;
    else
      EXPECT_NE(line.find("  code x86-64 (sse)"), std::string::npos) << line;
  }
  EXPECT_EQ(failureLine("bench " + dir + "/m.toml --target-cpu nosuchcpu", log),
            "ponderc: --target-cpu: unknown CPU 'nosuchcpu' (llc -mcpu=help "
            "lists them)");
  EXPECT_EQ(
      failureLine("bench " + dir + "/m.toml --target-features +avx9000", log),
      "ponderc: --target-features: unknown feature '+avx9000' "
      "(expected +NAME or -NAME; llc -mattr=help lists them)");
  EXPECT_EQ(
      failureLine("bench " + dir + "/m.toml --device cuda --target-cpu haswell",
                  log),
      "ponder: --target-cpu and --target-features need --device cpu");
}

INSTANTIATE_TEST_SUITE_P(AllModes, PonderRun,
                         ::testing::Values("fixed", "act", "pondernet"));

TEST(PonderRunErrors, BadInputIsOneLineAndNoOutput) {
  std::string dir = ::testing::TempDir() + "/ponder_errors";
  ASSERT_EQ(std::system(("mkdir -p " + dir + "/cache").c_str()), 0);
  setenv("PONDER_CACHE_DIR", (dir + "/cache").c_str(), 1);
  std::string model = dir + "/model.toml";
  std::ofstream(model) << modelText("act");
  ASSERT_EQ(ponder("init " + model + " --seed 1 -o " + dir + "/w.safetensors"),
            0);
  Tensor ids(DType::I32, {1, 3}), lengths(DType::I32, {1});
  ids.data<int32_t>()[1] = 13; // out of range: V = 13
  lengths.data<int32_t>()[0] = 3;
  ASSERT_TRUE(writeSafetensors(dir + "/bad.safetensors",
                               {{"ids", &ids}, {"lengths", &lengths}}, {})
                  .isOk());
  std::string out = dir + "/out.safetensors";
  std::string log = dir + "/log.txt";
  EXPECT_NE(ponder("run " + model + " --weights " + dir +
                   "/w.safetensors --batch " + dir + "/bad.safetensors " +
                   "--dump " + out + " 2> " + log),
            0);
  std::ifstream in(log);
  std::string line, rest;
  std::getline(in, line);
  EXPECT_NE(line.find("ids[0, 1] = 13 is outside [0, V = 13)"),
            std::string::npos)
      << line;
  EXPECT_FALSE(std::getline(in, rest)) << "more than one line: " << rest;
  EXPECT_FALSE(std::ifstream(out).good());

  // Weights of another model: the first mismatching parameter is named.
  std::ofstream(dir + "/other.toml") << modelText("act").replace(
      modelText("act").find("d_ff = 24"), 9, "d_ff = 32");
  EXPECT_NE(ponder("run " + dir + "/other.toml --weights " + dir +
                   "/w.safetensors --batch " + dir + "/bad.safetensors " +
                   "--dump " + out + " 2> " + log),
            0);
  std::ifstream in2(log);
  std::getline(in2, line);
  EXPECT_NE(line.find("parameter 'block.ffn.up.weight' is F32 [24, 16], the "
                      "model expects F32 [32, 16]"),
            std::string::npos)
      << line;
  EXPECT_FALSE(std::ifstream(out).good());
}

} // namespace
