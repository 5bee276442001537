//===- BadInputTest.cpp - every command answers bad input with one line ---===//
//
// Issue 8's matrix: for each command (`ponderc`, `ponder-opt`, every `ponder`
// subcommand), missing files, directories where files are expected, unknown
// flags, weights that do not match the model (missing, extra, wrong shape or
// dtype, NaN or Inf), bad batches (empty, lengths of 0 or over max_seq, ids
// outside the vocabulary, NaN) and bad values give one line that names the
// problem, a non-zero exit, and no file left behind.
//
//===----------------------------------------------------------------------===//

#include "unittests/TempDirTest.h"

#include "runtime/Safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using namespace ponder;

namespace {

constexpr const char *kModel = "[model]\nverbal_vocab = 6\nthink_vocab = 2\n"
                               "d_model = 16\nn_heads = 2\nd_ff = 32\n"
                               "max_seq = 12\n\n[depth]\nhalting = \"act\"\n"
                               "max_steps = 3\nact_epsilon = 0.05\n";

struct Case {
  const char *name;
  /// The command line after the binary; M is the model, D a directory, and
  /// files are named relative to the test's directory.
  const char *args;
  /// Text the one error line must contain.
  const char *error;
  const char *binary = PONDER_PATH;
};

/// The files of `dir`, recursively, except the compile cache.
std::set<std::string> listing(const std::string &dir) {
  std::set<std::string> names;
  for (const auto &entry : std::filesystem::recursive_directory_iterator(dir))
    if (entry.path().string().find("/cache") == std::string::npos)
      names.insert(entry.path().string());
  return names;
}

class BadInput : public TempDirTest {
protected:
  /// Writes the model, good weights and batch, and every bad variant, once
  /// per test (ctest runs tests in parallel, each in its own directory).
  void SetUp() override {
    TempDirTest::SetUp();
    setenv("PONDER_CACHE_DIR",
           (::testing::TempDir() + "/ponder_bad_input_cache").c_str(), 1);
    std::ofstream(path("m.toml")) << kModel;
    std::ofstream(path("broken.toml")) << "[model\nverbal_vocab = 6\n";
    std::ofstream(path("broken.mlir")) << "func.func @f() {\n  return %0\n}\n";
    std::filesystem::create_directory(path("D"));
    ASSERT_EQ(
        std::system((std::string(PONDER_PATH) + " init " + path("m.toml") +
                     " --seed 1 -o " + path("w.safetensors"))
                        .c_str()),
        0);
    auto good = readSafetensors(path("w.safetensors"));
    ASSERT_TRUE(good) << good.getStatus().message();
    auto variant = [&](const std::string &name, auto edit) {
      SafetensorsFile file = std::move(*readSafetensors(path("w.safetensors")));
      std::vector<std::pair<std::string, Tensor>> tensors =
          std::move(file.tensors);
      edit(tensors);
      std::vector<std::pair<std::string, const Tensor *>> named;
      for (auto &[n, t] : tensors)
        named.emplace_back(n, &t);
      ASSERT_TRUE(writeSafetensors(path(name), named, {}).isOk());
    };
    variant("w-missing.safetensors", [](auto &t) { t.pop_back(); });
    variant("w-extra.safetensors", [](auto &t) {
      t.emplace_back("block.extra", Tensor(DType::F32, {2}));
    });
    variant("w-shape.safetensors",
            [](auto &t) { t[0].second = Tensor(DType::F32, {3, 3}); });
    variant("w-dtype.safetensors", [](auto &t) {
      t[1].second = Tensor(DType::I32, t[1].second.shape());
    });
    variant("w-nan.safetensors", [](auto &t) {
      t[2].second.template data<float>()[5] = std::nanf("");
    });
    variant("w-inf.safetensors",
            [](auto &t) { t[0].second.template data<float>()[0] = -INFINITY; });

    auto batch = [&](const std::string &name, int64_t b, int64_t t,
                     std::vector<int32_t> lengths, int32_t badId,
                     float badAdvantage, bool badWeightShape) {
      Tensor ids(DType::I32, {b, t}), lens(DType::I32, {b});
      Tensor advantage(DType::F32, {b, t});
      Tensor weight(DType::F32, {b, badWeightShape ? t + 1 : t});
      for (int64_t i = 0; i < b * t; ++i)
        ids.data<int32_t>()[i] = int32_t(i % 8);
      if (b * t > 1)
        ids.data<int32_t>()[1] = badId;
      for (int64_t r = 0; r < b; ++r)
        lens.data<int32_t>()[r] = lengths[r];
      if (b * t > 2)
        advantage.data<float>()[2] = badAdvantage;
      ASSERT_TRUE(writeSafetensors(path(name),
                                   {{"ids", &ids},
                                    {"lengths", &lens},
                                    {"advantage", &advantage},
                                    {"target_weight", &weight}},
                                   {})
                      .isOk());
    };
    batch("b-empty.safetensors", 0, 4, {}, 1, 0, false);
    batch("b-len0.safetensors", 2, 4, {4, 0}, 1, 0, false);
    batch("b-long.safetensors", 1, 13, {13}, 1, 0, false);
    batch("b-id.safetensors", 2, 4, {4, 2}, 8, 0, false);
    batch("b-nan.safetensors", 2, 4, {4, 2}, 1, std::nanf(""), false);
    batch("b-shape.safetensors", 2, 4, {4, 2}, 1, 0, true);
    batch("b.safetensors", 2, 4, {4, 2}, 1, 0, false);
  }

  /// Replaces the placeholders M (model), D (directory) and bare file names
  /// by paths in this test's directory.
  std::string expand(const std::string &args) {
    std::istringstream words(args);
    std::string out;
    for (std::string word; words >> word;) {
      if (word == "M")
        word = path("m.toml");
      else if (word == "D" || word.find('.') != std::string::npos ||
               word.find('/') != std::string::npos)
        word = word[0] == '-' ? word : path(word);
      out += (out.empty() ? "" : " ") + word;
    }
    return out;
  }

  void check(const Case &c) {
    std::set<std::string> before = listing(dir);
    std::string command = std::string(c.binary) + " " + expand(c.args) + " > " +
                          path("out.txt") + " 2> " + path("err.txt");
    int status = std::system(command.c_str());
    std::ifstream in(path("err.txt"));
    std::stringstream err;
    err << in.rdbuf();
    std::string text = err.str();
    EXPECT_NE(status, 0) << c.name;
    EXPECT_NE(text.find(c.error), std::string::npos)
        << c.name << ": expected '" << c.error << "' in: " << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1)
        << c.name << ": " << text;
    std::set<std::string> after = listing(dir);
    after.erase(path("out.txt"));
    after.erase(path("err.txt"));
    before.erase(path("out.txt"));
    before.erase(path("err.txt"));
    EXPECT_EQ(after, before) << c.name << ": a file was left behind";
  }
};

const Case kPonderCases[] = {
    // Files.
    {"init/no-model", "init nosuch.toml --seed 1 -o x.safetensors",
     "nosuch.toml: cannot read file"},
    {"init/model-is-dir", "init D --seed 1 -o x.safetensors",
     "cannot read file: Is a directory"},
    {"init/broken-model", "init broken.toml --seed 1 -o x.safetensors",
     "broken.toml:1:"},
    {"init/out-is-dir", "init M --seed 1 -o D", "-o: '"},
    {"init/out-dir-missing", "init M --seed 1 -o nodir/x.safetensors",
     "-o: directory '"},
    {"init/unknown-flag", "init M --seed 1 -o x.safetensors --bogus 2",
     "ponder: unknown option '--bogus'"},
    {"init/missing-flag", "init M -o x.safetensors",
     "ponder: missing option '--seed'"},
    {"run/no-weights",
     "run M --weights nosuch.safetensors --batch b.safetensors --dump "
     "o.safetensors",
     "nosuch.safetensors: cannot open"},
    // Unreadable: a path through a regular file (permissions do not stop
    // root, which runs the tests in CI).
    {"run/weights-unreadable",
     "run M --weights w.safetensors/x --batch b.safetensors --dump "
     "o.safetensors",
     "w.safetensors/x: cannot open: Not a directory"},
    {"run/weights-is-dir",
     "run M --weights D --batch b.safetensors --dump o.safetensors",
     "not a regular file"},
    {"run/batch-is-dir",
     "run M --weights w.safetensors --batch D --dump o.safetensors",
     "not a regular file"},
    {"run/dump-is-dir",
     "run M --weights w.safetensors --batch b.safetensors --dump D",
     "--dump: '"},
    // Weights that do not match the model.
    {"run/weights-missing",
     "run M --weights w-missing.safetensors --batch b.safetensors --dump "
     "o.safetensors",
     "missing parameter 'unembed.weight'"},
    {"run/weights-extra",
     "run M --weights w-extra.safetensors --batch b.safetensors --dump "
     "o.safetensors",
     "unexpected tensor 'block.extra', not a parameter of the model"},
    {"run/weights-shape",
     "run M --weights w-shape.safetensors --batch b.safetensors --dump "
     "o.safetensors",
     "parameter 'embed.token' is F32 [3, 3], the model expects F32 [8, 16]"},
    {"run/weights-dtype",
     "run M --weights w-dtype.safetensors --batch b.safetensors --dump "
     "o.safetensors",
     "parameter 'embed.position' is I32 [12, 16], the model expects F32"},
    {"run/weights-nan",
     "run M --weights w-nan.safetensors --batch b.safetensors --dump "
     "o.safetensors",
     "parameter 'embed.step'[0, 5] = nan is not finite"},
    {"run/weights-inf",
     "run M --weights w-inf.safetensors --batch b.safetensors --dump "
     "o.safetensors",
     "parameter 'embed.token'[0, 0] = -inf is not finite"},
    // Batches.
    {"run/batch-empty",
     "run M --weights w.safetensors --batch b-empty.safetensors --dump "
     "o.safetensors",
     "the batch is empty (B = 0)"},
    {"run/length-0",
     "run M --weights w.safetensors --batch b-len0.safetensors --dump "
     "o.safetensors",
     "lengths[1] = 0 is outside [1, 4]"},
    {"run/over-max-seq",
     "run M --weights w.safetensors --batch b-long.safetensors --dump "
     "o.safetensors",
     "sequence length 13 is outside [1, max_seq = 12]"},
    {"run/id-out-of-range",
     "run M --weights w.safetensors --batch b-id.safetensors --dump "
     "o.safetensors",
     "ids[0, 1] = 8 is outside [0, V = 8)"},
    {"run/nan-advantage",
     "run M --weights w.safetensors --batch b-nan.safetensors --dump "
     "o.safetensors",
     "'advantage'[0, 2] = nan is not finite"},
    {"run/weight-shape",
     "run M --weights w.safetensors --batch b-shape.safetensors --dump "
     "o.safetensors",
     "expected 'target_weight' F32 [2, 4]"},
    {"run/unknown-device",
     "run M --weights w.safetensors --batch b.safetensors --dump "
     "o.safetensors --device tpu",
     "ponder: --device: expected cpu or cuda, got 'tpu'"},
    // generate, eval, train, bench.
    {"generate/weights-nan",
     "generate M --weights w-nan.safetensors --prompt-ids 1 --print-ids",
     "is not finite"},
    {"generate/id-out-of-range",
     "generate M --weights w.safetensors --prompt-ids 1,9 --print-ids",
     "--prompt-ids: '9' is not an id in [0, V = 8)"},
    {"generate/bad-temperature",
     "generate M --weights w.safetensors --prompt-ids 1 --temperature -1",
     "--temperature"},
    {"eval/weights-missing",
     "eval M --weights w-missing.safetensors --task parity:4",
     "missing parameter 'unembed.weight'"},
    {"eval/csv-is-dir",
     "eval M --weights w.safetensors --task parity:4 --csv D", "--csv: '"},
    {"train/out-is-dir", "train M --steps 2 --task parity:4 --out D",
     "--out: '"},
    {"train/resume-is-dir",
     "train M --steps 2 --task parity:4 --out t.safetensors --resume D",
     "not a regular file"},
    {"train/unknown-task",
     "train M --steps 2 --task nosuch --out t.safetensors",
     "unknown task 'nosuch'"},
    {"train/nan-lr",
     "train M --steps 2 --task parity:4 --lr nan --out "
     "t.safetensors",
     "--lr: expected a number >= 0, got 'nan'"},
    {"train/steps-0", "train M --steps 0 --task parity:4 --out t.safetensors",
     "--steps"},
    {"bench/batch-0", "bench M --batch 0", "--batch: expected an integer >= 1"},
    {"bench-generate/new-0", "bench generate M --new 0",
     "--new: expected an integer >= 1"},
    {"bench-train/over-max-seq", "bench train M --seq 13",
     "--seq: at most max_seq = 12"},
    // The compiler and ponder-opt.
    {"ponderc/no-file", "nosuch.toml --emit=ponder", "nosuch.toml: cannot read",
     PONDERC_PATH},
    {"ponderc/dir", "D --emit=ponder", "cannot read file: Is a directory",
     PONDERC_PATH},
    {"ponderc/broken", "broken.toml --emit=ponder",
     "broken.toml:1:", PONDERC_PATH},
    {"ponderc/out-dir-missing", "M --emit=ponder -o nodir/x.mlir",
     "cannot open output file", PONDERC_PATH},
    {"ponderc/artifact-into-dir", "M --emit=artifact -o D", "Is a directory",
     PONDERC_PATH},
    {"ponder-opt/no-file", "nosuch.mlir", "cannot open input file",
     PONDER_OPT_PATH},
    {"ponder-opt/dir", "D", "Is a directory", PONDER_OPT_PATH},
};

class BadInputCase : public BadInput,
                     public ::testing::WithParamInterface<Case> {};

TEST_P(BadInputCase, OneLineNoOutput) { check(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Commands, BadInputCase,
                         ::testing::ValuesIn(kPonderCases),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           std::string name = info.param.name;
                           for (char &c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c)))
                               c = '_';
                           return name;
                         });

// MLIR's diagnostics name FILE:LINE:COL and the problem on their first
// line, followed by the offending source line and a caret (mlir-opt's
// convention, kept for ponder-opt).
TEST_F(BadInput, PonderOptMalformedIR) {
  std::string command = std::string(PONDER_OPT_PATH) + " " +
                        path("broken.mlir") + " 2> " + path("err.txt");
  EXPECT_NE(std::system(command.c_str()), 0);
  std::ifstream in(path("err.txt"));
  std::string first;
  std::getline(in, first);
  EXPECT_NE(first.find("broken.mlir:2:"), std::string::npos) << first;
  EXPECT_NE(first.find("error:"), std::string::npos) << first;
}

} // namespace
