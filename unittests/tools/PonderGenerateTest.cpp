//===- PonderGenerateTest.cpp - `ponder generate` end to end --------------===//
//
// Runs `ponder generate` as a user would: greedy tokens equal the reference's
// greedy choice at every prefix (MODEL.md §4, recomputed from scratch), the
// same seed samples the same tokens, an end token stops generation, and bad
// options or inputs are one line and a non-zero exit.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"
#include "test/reference/ContractReference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace ponder;

namespace {

constexpr const char *kModel = "[model]\nverbal_vocab = 9\nthink_vocab = 4\n"
                               "d_model = 16\nn_heads = 4\nd_ff = 24\n"
                               "max_seq = 10\n\n[depth]\nhalting = \"act\"\n"
                               "max_steps = 5\nact_epsilon = 0.05\n\n"
                               "[think]\nmax_think = 2\n";

reference::Config config() {
  reference::Config c;
  c.verbalVocab = 9;
  c.thinkVocab = 4;
  c.dModel = 16;
  c.nHeads = 4;
  c.dFF = 24;
  c.maxSeq = 10;
  c.maxSteps = 5;
  c.actEpsilon = 0.05;
  return c;
}

/// Runs `ponder ARGS`, returning its exit status; stdout and stderr go to
/// `out` and `err`.
int ponder(const std::string &args, const std::string &out,
           const std::string &err) {
  std::string command =
      std::string(PONDER_PATH) + " " + args + " > " + out + " 2> " + err;
  return std::system(command.c_str());
}

std::string slurp(const std::string &path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PonderGenerate : public ::testing::Test {
protected:
  void SetUp() override {
    // One directory per test (ctest runs them in parallel); one shared
    // compile cache, which ponder writes atomically.
    dir = ::testing::TempDir() + "/ponder_generate_" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
    setenv("PONDER_CACHE_DIR", (::testing::TempDir() + "/ponder_cache").c_str(),
           1);
    model = dir + "/model.toml";
    std::ofstream(model) << kModel;
    out = dir + "/out.txt";
    err = dir + "/err.txt";
  }

  /// Writes `w` as safetensors at dir/NAME and returns the path.
  std::string writeWeights(const reference::Weights &w,
                           const std::string &name) {
    std::vector<Tensor> tensors;
    std::vector<std::pair<std::string, const Tensor *>> named;
    tensors.reserve(w.tensors.size());
    for (const auto &[param, shape] : reference::parameterShapes(config())) {
      tensors.emplace_back(DType::F32, shape);
      const reference::Tensor &src = w.get(param);
      for (int64_t i = 0; i < tensors.back().numel(); ++i)
        tensors.back().data<float>()[i] = float(src[i]);
      named.emplace_back(param, &tensors.back());
    }
    std::string path = dir + "/" + name;
    EXPECT_TRUE(writeSafetensors(path, named, {}).isOk());
    return path;
  }

  /// The ids `ponder generate` prints with --print-ids.
  std::vector<int32_t> generatedIds(const std::string &args) {
    EXPECT_EQ(
        ponder("generate " + model + " " + args + " --print-ids", out, err), 0)
        << slurp(err);
    std::vector<int32_t> ids;
    std::stringstream in(slurp(out));
    for (int32_t id; in >> id;)
      ids.push_back(id);
    return ids;
  }

  /// Expects `args` to fail with exactly the one stderr line `message`.
  void expectFailure(const std::string &args, const std::string &message) {
    EXPECT_NE(ponder(args, out, err), 0) << args;
    EXPECT_EQ(slurp(err), message + "\n") << args;
  }

  std::string dir, model, out, err;
};

// Greedy decoding through the cache picks, at every step, the argmax of the
// reference's logits over the whole sequence so far, think tokens included
// (at most max_think = 2 in a row).
TEST_F(PonderGenerate, GreedyTokensMatchTheReference) {
  reference::Config c = config();
  reference::Weights w = reference::randomWeights(c, 2, 0.5, -0.5);
  std::string weights = writeWeights(w, "w.safetensors");
  std::vector<int32_t> got =
      generatedIds("--weights " + weights + " --prompt-ids 2,11,5 --max-new 7");
  ASSERT_EQ(got.size(), 7u) << slurp(err);

  std::vector<int32_t> row = {2, 11, 5};
  int64_t thinkRun = 0;
  for (int32_t token : got) {
    reference::Outputs ref = reference::runRow(c, w, row);
    ASSERT_TRUE(ref.error.empty()) << ref.error;
    const double *last = ref.logits.data() + (row.size() - 1) * c.vocab();
    int64_t allowed = thinkRun >= 2 ? c.verbalVocab : c.vocab();
    int32_t expected = int32_t(std::max_element(last, last + allowed) - last);
    EXPECT_EQ(token, expected) << "after " << row.size() << " tokens";
    thinkRun = token >= c.verbalVocab ? thinkRun + 1 : 0;
    row.push_back(token);
  }
  EXPECT_TRUE(std::any_of(got.begin(), got.end(), [&](int32_t id) {
    return id >= c.verbalVocab;
  })) << "no think token: the test would not cover them";
  EXPECT_NE(slurp(err).find("7 new tokens"), std::string::npos) << slurp(err);
}

TEST_F(PonderGenerate, SamplingIsSeeded) {
  std::string weights = writeWeights(
      reference::randomWeights(config(), 4, 0.5, -0.5), "w.safetensors");
  std::string args =
      "--weights " + weights + " --prompt-ids 1 --max-new 9 --temperature 1";
  std::vector<int32_t> a = generatedIds(args + " --seed 5");
  std::vector<int32_t> b = generatedIds(args + " --seed 5");
  EXPECT_EQ(a.size(), 9u);
  EXPECT_EQ(a, b);
  std::vector<int32_t> other = generatedIds(args + " --seed 6");
  EXPECT_NE(a, other);
}

// --prompt-ids-file decodes its prompts together: a line of ids each, in
// order, each what --prompt-ids gives alone with --seed + its row.
TEST_F(PonderGenerate, PromptsFileGivesWhatEachPromptGivesAlone) {
  std::string weights = writeWeights(
      reference::randomWeights(config(), 4, 0.5, -0.5), "w.safetensors");
  std::vector<std::string> prompts = {"1", "2 11 5", "7,0", "3 3 3 3"};
  std::ofstream(dir + "/prompts.txt") << prompts[0] << "\n"
                                      << prompts[1] << "\n"
                                      << prompts[2] << "\n"
                                      << prompts[3] << "\n";
  std::string args = "--weights " + weights + " --max-new 5 --temperature 1";
  ASSERT_EQ(ponder("generate " + model + " " + args + " --seed 3 " +
                       "--prompt-ids-file " + dir + "/prompts.txt --print-ids",
                   out, err),
            0)
      << slurp(err);
  std::stringstream lines(slurp(out));
  std::vector<std::string> together;
  for (std::string line; std::getline(lines, line);)
    together.push_back(line);
  ASSERT_EQ(together.size(), prompts.size()) << slurp(out);
  EXPECT_NE(slurp(err).find("ponder: 4 prompts, 20 new tokens"),
            std::string::npos)
      << slurp(err);
  for (size_t r = 0; r < prompts.size(); ++r) {
    std::vector<int32_t> alone =
        generatedIds(args + " --seed " + std::to_string(3 + r) +
                     " --prompt-ids '" + prompts[r] + "'");
    std::stringstream row(together[r]);
    std::vector<int32_t> ids;
    for (int32_t id; row >> id;)
      ids.push_back(id);
    EXPECT_EQ(ids, alone) << "prompt " << r;
  }
  // A bad line is named by its number; an empty file has no prompts.
  std::ofstream(dir + "/bad.txt") << "1 2\n\n3\n";
  expectFailure("generate " + model + " --weights " + weights +
                    " --prompt-ids-file " + dir + "/bad.txt --print-ids",
                dir + "/bad.txt:2: the prompt is empty");
  std::ofstream(dir + "/range.txt") << "1 2\n3 13\n";
  expectFailure("generate " + model + " --weights " + weights +
                    " --prompt-ids-file " + dir + "/range.txt --print-ids",
                dir + "/range.txt:2: '13' is not an id in [0, V = 13)");
  std::ofstream(dir + "/none.txt") << "";
  expectFailure("generate " + model + " --weights " + weights +
                    " --prompt-ids-file " + dir + "/none.txt --print-ids",
                dir + "/none.txt: no prompts (one per line)");
  expectFailure("generate " + model + " --weights " + weights +
                    " --prompt-ids 1 --prompt-ids-file " + dir +
                    "/prompts.txt --print-ids",
                "ponder: give exactly one of --prompt, --prompt-ids, "
                "--prompts-file and --prompt-ids-file");
}

// Text in and out with the parity vocabulary (MODEL.md §1: <eos> is verbal id
// 3 there). The weights make <eos> the clear first choice, so generation
// stops at once with no text.
TEST_F(PonderGenerate, StopsAtTheEndToken) {
  reference::Weights w = reference::randomWeights(config(), 9, 0.02, 1.0);
  for (int64_t id = 0; id < 13; ++id)
    w.tensors["embed.token"][id * 16] = 10.0; // channel 0 carries the sign
  std::fill(w.tensors["unembed.weight"].begin(),
            w.tensors["unembed.weight"].end(), 0.0);
  w.tensors["unembed.weight"][3 * 16] = 5.0;
  std::string weights = writeWeights(w, "eos.safetensors");
  ASSERT_EQ(ponder("generate " + model + " --weights " + weights +
                       " --vocab parity --prompt '01|'",
                   out, err),
            0)
      << slurp(err);
  EXPECT_EQ(slurp(out), "\n");
  EXPECT_NE(slurp(err).find("0 new tokens (0 think), stopped at the end token"),
            std::string::npos)
      << slurp(err);
}

TEST_F(PonderGenerate, BadInputIsOneLine) {
  std::string weights = writeWeights(
      reference::randomWeights(config(), 1, 0.02, 1.0), "w.safetensors");
  std::string g = "generate " + model + " --weights " + weights;
  expectFailure(g + " --prompt hi",
                "ponder: " + model +
                    " has verbal_vocab = 9, too small for bytes (258); choose "
                    "--vocab with a task's name, or use --prompt-ids and "
                    "--print-ids");
  expectFailure(g + " --prompt 01 --vocab klingon",
                "ponder: --vocab: unknown vocabulary 'klingon' (bytes, parity, "
                "addition, multiplication, reverse, permutations or "
                "oracle-mix)");
  expectFailure(g + " --prompt 01 --vocab addition",
                "ponder: --vocab addition has 16 ids, more than " + model +
                    "'s verbal_vocab = 9");
  expectFailure(g + " --prompt 012 --vocab parity",
                "ponder: --prompt: byte 2: '2' is not in the vocabulary");
  expectFailure(g + " --prompt 01 --prompt-ids 1 --vocab parity",
                "ponder: give exactly one of --prompt, --prompt-ids, "
                "--prompts-file and --prompt-ids-file");
  expectFailure(g + " --prompt-ids 1,13 --print-ids",
                "ponder: --prompt-ids: '13' is not "
                "an id in [0, V = 13)");
  expectFailure(g + " --prompt-ids '1 2 3 4 5 6 7 8 9 10 11' --print-ids",
                "ponder: --prompt-ids: the prompt has 11 tokens, more than "
                "max_seq = 10");
  expectFailure(g + " --prompt-ids 1 --temperature -1",
                "ponder: --temperature: expected a number >= 0, got '-1'");
  expectFailure(g + " --prompt-ids 1 --max-new 0",
                "ponder: --max-new: expected an integer >= 1, got '0'");
  expectFailure("generate " + model + " --weights " + dir +
                    "/missing.safetensors --prompt-ids 1 --print-ids",
                dir + "/missing.safetensors: cannot open: No such file or "
                      "directory");
}

TEST_F(PonderGenerate, BenchTrainPrintsStepTimeAndRates) {
  ASSERT_EQ(ponder("bench train " + model +
                       " --batch 2 --seq 6 --iters 2 --threads 2",
                   out, err),
            0)
      << slurp(err);
  std::string line = slurp(out);
  EXPECT_EQ(line.rfind("train  batch 2  seq 6  threads 2  median ", 0), 0u)
      << line;
  for (const char *field :
       {" ms/step  ", " tokens/s  ", " GFLOP/s  ", "  mean depth ", "  peak "})
    EXPECT_NE(line.find(field), std::string::npos) << field << " in " << line;
  expectFailure("bench train " + model + " --seq 11",
                "ponder: --seq: at most max_seq = 10");
  expectFailure("bench train " + model + " --threads 0",
                "ponder: --threads: expected an integer >= 1, got '0'");
}

TEST_F(PonderGenerate, BenchPrintsTokensPerSecond) {
  ASSERT_EQ(ponder("bench generate " + model + " --prompt-length 3 --new 5",
                   out, err),
            0)
      << slurp(err);
  std::string line = slurp(out);
  EXPECT_EQ(line.rfind("generate  batch 1  prompt 3  threads ", 0), 0u) << line;
  EXPECT_NE(line.find("decode 5 tokens"), std::string::npos) << line;
  EXPECT_NE(line.find("tokens/s  mean depth"), std::string::npos) << line;
  // --batch decodes B prompts together: every row's tokens count.
  ASSERT_EQ(
      ponder("bench generate " + model + " --prompt-length 3 --new 5 --batch 4",
             out, err),
      0)
      << slurp(err);
  line = slurp(out);
  EXPECT_EQ(line.rfind("generate  batch 4  prompt 3  threads ", 0), 0u) << line;
  EXPECT_NE(line.find("decode 20 tokens"), std::string::npos) << line;
  // --weights: the depth is the given weights' (halt.bias +20 halts every
  // token at step 1, -20 runs all 5 steps).
  for (auto [bias, depth] :
       {std::pair(20.0, "1.00"), std::pair(-20.0, "5.00")}) {
    std::string weights = writeWeights(
        reference::randomWeights(config(), 3, 0.02, bias), "halt.safetensors");
    ASSERT_EQ(ponder("bench generate " + model + " --weights " + weights +
                         " --prompt-length 3 --new 4",
                     out, err),
              0)
        << slurp(err);
    line = slurp(out);
    EXPECT_NE(line.find(std::string("mean depth ") + depth + " steps"),
              std::string::npos)
        << line;
  }
  expectFailure("bench generate " + model + " --prompt-length 6 --new 5",
                "ponder: --prompt-length + --new: at most max_seq = 10");
}

} // namespace
