//===- PonderCliTest.cpp - The ponder command line ------------------------===//
//
// --help for every subcommand, --version, suggestions for a mistyped
// command or flag, and what a checkpoint records serving as defaults:
// `generate` and `eval` need neither the description nor the vocabulary
// or task again, and refuse a vocabulary that is not the checkpoint's.
//
//===----------------------------------------------------------------------===//

#include "unittests/TempDirTest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

namespace ponder {
namespace {

constexpr const char *kModel = "[model]\nverbal_vocab = 8\nthink_vocab = 0\n"
                               "d_model = 16\nn_heads = 2\nd_ff = 32\n"
                               "max_seq = 12\n\n[depth]\nhalting = \"act\"\n"
                               "max_steps = 4\n";

class PonderCli : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    setenv("PONDER_CACHE_DIR", (::testing::TempDir() + "/ponder_cache").c_str(),
           1);
    model = path("m.toml");
    std::ofstream(model) << kModel;
  }
  /// Runs `ponder ARGS`; its stdout and stderr in `out` and `err`.
  int ponder(const std::string &args) {
    int status = std::system((std::string(PONDER_PATH) + " " + args + " > " +
                              path("out.txt") + " 2> " + path("err.txt"))
                                 .c_str());
    out = slurp(path("out.txt"));
    err = slurp(path("err.txt"));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  static std::string slurp(const std::string &p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string model, out, err;
};

TEST_F(PonderCli, EverySubcommandHasHelpWithDefaults) {
  ASSERT_EQ(ponder("--help"), 0);
  for (const char *sub : {"init", "run", "train", "eval", "generate", "bench"})
    EXPECT_NE(out.find(std::string("  ") + sub + " "), std::string::npos)
        << sub << "\n"
        << out;
  ASSERT_EQ(ponder("-h"), 0);
  EXPECT_NE(out.find("Usage: ponder"), std::string::npos);
  const std::pair<const char *, const char *> flags[] = {
      {"init", "--seed"},
      {"run", "--grad"},
      {"train", "--lr FLOAT:NUMBER>=0=0.003"},
      {"train", "--init-from"},
      {"eval", "--examples INT:INT>=1=512"},
      {"generate", "--max-new INT:INT>=1=64"},
      {"bench", "--length"},
      {"bench generate", "--prompt-length"},
      {"bench train", "--seq"}};
  for (const auto &[sub, flag] : flags) {
    ASSERT_EQ(ponder(std::string(sub) + " --help"), 0) << sub;
    EXPECT_NE(out.find(flag), std::string::npos) << sub << "\n" << out;
    EXPECT_NE(out.find("--device TEXT:cpu|cuda=cpu"), std::string::npos) << sub;
  }
  ASSERT_EQ(ponder("--version"), 0);
  EXPECT_EQ(out.rfind("ponder 0.", 0), 0u) << out;
  EXPECT_NE(out.find("targets: cpu, cuda"), std::string::npos) << out;
}

TEST_F(PonderCli, MistypesGetOneLineWithASuggestion) {
  EXPECT_EQ(ponder("tarin " + model), 1);
  EXPECT_EQ(err, "ponder: unknown command 'tarin'; did you mean 'train'? "
                 "(ponder --help lists them)\n");
  EXPECT_EQ(ponder("init " + model + " --sed 1 -o " + path("w.st")), 1);
  EXPECT_EQ(err, "ponder: unknown option '--sed'; did you mean '--seed'?\n");
  EXPECT_EQ(ponder(""), 1);
  EXPECT_EQ(err, "ponder: give a command: init, run, train, eval, generate, "
                 "bench or tokenizer (ponder --help)\n");
  EXPECT_EQ(ponder("init " + model + " -o " + path("w.st") + " --seed"), 1);
  EXPECT_EQ(err, "ponder: option '--seed' needs a value\n");
  EXPECT_EQ(ponder("eval --weights w --examples 99999999999999999999"), 1);
  EXPECT_EQ(err, "ponder: --examples: expected an integer >= 1, got "
                 "'99999999999999999999'\n");
  // --flag=value works like --flag value.
  EXPECT_EQ(ponder("init " + model + " --seed=x -o " + path("w.st")), 1);
  EXPECT_EQ(err, "ponder: --seed: expected an integer >= 0, got 'x'\n");
}

TEST_F(PonderCli, GenerateAndEvalReadTheCheckpoint) {
  std::string ckpt = path("p.safetensors");
  ASSERT_EQ(ponder("train " + model +
                   " --task parity:4 --steps 2 --batch 4 "
                   "--out=" +
                   ckpt),
            0)
      << err;
  EXPECT_NE(out.find("(256 examples)"), std::string::npos) << out;
  // No description, no vocabulary: the checkpoint's, parity's.
  ASSERT_EQ(ponder("generate --weights " + ckpt + " --prompt 0110 --max-new 2"),
            0)
      << err;
  EXPECT_EQ(ponder("generate --weights " + ckpt +
                   " --prompt 12 --vocab addition --max-new 2"),
            1);
  EXPECT_EQ(err, "ponder: --vocab addition is not the vocabulary of the "
                 "checkpoint's task parity:4\n");
  ASSERT_EQ(ponder("eval --weights " + ckpt + " --examples 8"), 0) << err;
  EXPECT_EQ(out.rfind("parity:4: held-out accuracy", 0), 0u) << out;
  EXPECT_NE(out.find("over 8 examples"), std::string::npos) << out;
  EXPECT_EQ(ponder("eval --weights " + ckpt + " --task addition:1"), 1);
  EXPECT_EQ(err, "ponder: --task addition:1 has another vocabulary than the "
                 "checkpoint's task parity:4\n");
  // The checkpoint's description is written to the cache for ponderc: a
  // cache that cannot be written is one line.
  std::ofstream(path("file")) << "x";
  setenv("PONDER_CACHE_DIR", path("file/cache").c_str(), 1);
  EXPECT_EQ(ponder("generate --weights " + ckpt + " --prompt 01"), 1);
  EXPECT_EQ(err, "ponder: cannot write " + path("file/cache") + "/" +
                     err.substr(err.rfind('/') + 1));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  setenv("PONDER_CACHE_DIR", (::testing::TempDir() + "/ponder_cache").c_str(),
         1);
  // Weights from init record the model but no task.
  ASSERT_EQ(ponder("init " + model + " --seed 0 -o " + path("w.safetensors")),
            0);
  EXPECT_EQ(ponder("eval --weights " + path("w.safetensors")), 1);
  EXPECT_EQ(err, "ponder: missing option '--task' (" + path("w.safetensors") +
                     " records no task)\n");
}

TEST_F(PonderCli, BenchGenerateDefaultsFitTheModel) {
  // max_seq = 12: a prompt of 3 and 9 new tokens.
  ASSERT_EQ(ponder("bench generate " + model), 0) << err;
  EXPECT_NE(out.find("prompt 3 "), std::string::npos) << out;
  EXPECT_NE(out.find("decode 9 tokens"), std::string::npos) << out;
}

} // namespace
} // namespace ponder
