//===- ModelDescriptionTest.cpp - Tests of the model description ----------===//
//
// Values, defaults and the exact one-line errors of MODEL.md §2
// (docs/model-description.md).
//
//===----------------------------------------------------------------------===//

#include "frontend/ModelDescription.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <string>

using namespace ponder;

namespace {

// Every key set, none to its default. Line numbers matter to the tests.
constexpr const char *kFull = R"([model]
verbal_vocab = 16
think_vocab = 8
d_model = 128
n_heads = 4
d_ff = 512
max_seq = 128
norm_eps = 1e-6

[depth]
halting = "pondernet"
max_steps = 8
act_epsilon = 0.05
ponder_cost = 0.02
prior_lambda = 0.3
kl_beta = 0.04

[loss]
smoothing = 0.1
reference_mix = 0.25
reference_temperature = 2.0
policy_weight = 0.5

[think]
max_think = 3
reward = "first_verbal_correct"
rollouts = 6
)";

// Only the required keys.
constexpr const char *kMinimal = R"([model]
verbal_vocab = 16
d_model = 64
n_heads = 4
d_ff = 256
max_seq = 32

[depth]
halting = "act"
max_steps = 4
)";

/// `text` with its one line `from` replaced by `to` (an empty `to` deletes
/// the line). Fails the test if `from` is not exactly one line of `text`.
std::string withLine(llvm::StringRef text, llvm::StringRef from,
                     llvm::StringRef to) {
  std::string needle = ("\n" + from + "\n").str();
  std::string haystack = ("\n" + text).str();
  size_t at = haystack.find(needle);
  EXPECT_NE(at, std::string::npos) << "no line '" << from.str() << "'";
  EXPECT_EQ(haystack.find(needle, at + 1), std::string::npos);
  if (at == std::string::npos)
    return text.str();
  std::string replacement = to.empty() ? "\n" : ("\n" + to + "\n").str();
  return haystack.replace(at, needle.size(), replacement).substr(1);
}

ModelDescription parseOk(llvm::StringRef text) {
  ParsedDescription parsed = parseModelDescription(text, "m.toml");
  EXPECT_TRUE(parsed.description) << parsed.error;
  EXPECT_EQ(parsed.error, "");
  return parsed.description.value_or(ModelDescription());
}

std::string errorOf(llvm::StringRef text) {
  ParsedDescription parsed = parseModelDescription(text, "m.toml");
  EXPECT_FALSE(parsed.description);
  EXPECT_EQ(parsed.error.find('\n'), std::string::npos) << parsed.error;
  return parsed.error;
}

/// The error after replacing line `from` of kFull by `to`.
std::string errorWith(llvm::StringRef from, llvm::StringRef to) {
  return errorOf(withLine(kFull, from, to));
}

TEST(ModelDescription, ParsesFullDescription) {
  ModelDescription d = parseOk(kFull);
  EXPECT_EQ(d.model.verbalVocab, 16);
  EXPECT_EQ(d.model.thinkVocab, 8);
  EXPECT_EQ(d.model.dModel, 128);
  EXPECT_EQ(d.model.nHeads, 4);
  EXPECT_EQ(d.model.dFF, 512);
  EXPECT_EQ(d.model.maxSeq, 128);
  EXPECT_DOUBLE_EQ(d.model.normEps, 1e-6);
  EXPECT_EQ(d.model.vocabSize(), 24);
  EXPECT_EQ(d.model.headDim(), 32);

  EXPECT_EQ(d.depth.halting, Halting::PonderNet);
  EXPECT_EQ(d.depth.maxSteps, 8);
  EXPECT_DOUBLE_EQ(d.depth.actEpsilon, 0.05);
  EXPECT_DOUBLE_EQ(d.depth.ponderCost, 0.02);
  EXPECT_DOUBLE_EQ(d.depth.priorLambda, 0.3);
  EXPECT_DOUBLE_EQ(d.depth.klBeta, 0.04);
  EXPECT_EQ(d.depth.backward, Backward::Tape); // the default

  EXPECT_DOUBLE_EQ(d.loss.smoothing, 0.1);
  EXPECT_DOUBLE_EQ(d.loss.referenceMix, 0.25);
  EXPECT_DOUBLE_EQ(d.loss.referenceTemperature, 2.0);
  EXPECT_DOUBLE_EQ(d.loss.policyWeight, 0.5);

  EXPECT_EQ(d.think.maxThink, 3);
  EXPECT_EQ(d.think.reward, Reward::FirstVerbalCorrect);
  EXPECT_EQ(d.think.rollouts, 6);

  EXPECT_DOUBLE_EQ(d.ponderWeight(), 0.04); // kl_beta for pondernet
}

TEST(ModelDescription, DefaultsWhenOptionalKeysAndSectionsAbsent) {
  ModelDescription d = parseOk(kMinimal);
  EXPECT_EQ(d.model.verbalVocab, 16);
  EXPECT_EQ(d.model.thinkVocab, 0);
  EXPECT_EQ(d.model.vocabSize(), 16);
  EXPECT_DOUBLE_EQ(d.model.normEps, 1e-5);
  EXPECT_EQ(d.depth.halting, Halting::Act);
  EXPECT_EQ(d.depth.maxSteps, 4);
  EXPECT_DOUBLE_EQ(d.depth.actEpsilon, 0.01);
  EXPECT_DOUBLE_EQ(d.depth.ponderCost, 0.01);
  EXPECT_DOUBLE_EQ(d.depth.priorLambda, 0.2);
  EXPECT_DOUBLE_EQ(d.depth.klBeta, 0.01);
  EXPECT_DOUBLE_EQ(d.loss.smoothing, 0.0);
  EXPECT_DOUBLE_EQ(d.loss.referenceMix, 0.0);
  EXPECT_DOUBLE_EQ(d.loss.referenceTemperature, 1.0);
  EXPECT_DOUBLE_EQ(d.loss.policyWeight, 1.0);
  EXPECT_EQ(d.think.maxThink, 8);
  EXPECT_EQ(d.think.reward, Reward::FirstVerbalLogprob);
  EXPECT_EQ(d.think.rollouts, 4);

  // Empty optional sections are the same as absent ones.
  ModelDescription e = parseOk(std::string(kMinimal) + "[loss]\n[think]\n");
  EXPECT_DOUBLE_EQ(e.loss.policyWeight, 1.0);
  EXPECT_EQ(e.think.rollouts, 4);
}

TEST(ModelDescription, RecordsWhereEachKeyIs) {
  // Keys at their own line and column; a key left at its default at its
  // section's header; a missing section at 1:1.
  ModelDescription d =
      parseOk(withLine(kMinimal, "n_heads = 4", "  n_heads = 4"));
  EXPECT_EQ(d.source.file, "m.toml");
  auto at = [&](llvm::StringRef name) {
    SourcePositions::Position p = d.source.find(name);
    return std::make_pair(p.line, p.column);
  };
  EXPECT_EQ(at("model"), std::make_pair(1u, 1u));
  EXPECT_EQ(at("model.verbal_vocab"), std::make_pair(2u, 1u));
  EXPECT_EQ(at("model.n_heads"), std::make_pair(4u, 3u));
  EXPECT_EQ(at("model.norm_eps"), std::make_pair(1u, 1u));
  EXPECT_EQ(at("depth"), std::make_pair(8u, 1u));
  EXPECT_EQ(at("depth.max_steps"), std::make_pair(10u, 1u));
  EXPECT_EQ(at("depth.kl_beta"), std::make_pair(8u, 1u));
  EXPECT_EQ(at("loss"), std::make_pair(1u, 1u));
  EXPECT_EQ(at("loss.smoothing"), std::make_pair(1u, 1u));
  EXPECT_EQ(at("think.rollouts"), std::make_pair(1u, 1u));

  ModelDescription full = parseOk(kFull);
  SourcePositions::Position loss = full.source.find("loss");
  EXPECT_EQ(std::make_pair(loss.line, loss.column), std::make_pair(18u, 1u));
  SourcePositions::Position weight = full.source.find("loss.policy_weight");
  EXPECT_EQ(std::make_pair(weight.line, weight.column),
            std::make_pair(22u, 1u));
}

TEST(ModelDescription, PonderWeightFollowsHaltingMode) {
  EXPECT_DOUBLE_EQ(
      parseOk(withLine(kFull, "halting = \"pondernet\"", "halting = \"act\""))
          .ponderWeight(),
      0.02); // tau
  EXPECT_DOUBLE_EQ(
      parseOk(withLine(kFull, "halting = \"pondernet\"", "halting = \"fixed\""))
          .ponderWeight(),
      0.0);
  EXPECT_EQ(
      parseOk(withLine(kFull, "halting = \"pondernet\"", "halting = \"fixed\""))
          .depth.halting,
      Halting::Fixed);
}

TEST(ModelDescription, Stringify) {
  EXPECT_EQ(stringifyHalting(Halting::Fixed), "fixed");
  EXPECT_EQ(stringifyHalting(Halting::Act), "act");
  EXPECT_EQ(stringifyHalting(Halting::PonderNet), "pondernet");
  EXPECT_EQ(stringifyReward(Reward::FirstVerbalLogprob),
            "first_verbal_logprob");
  EXPECT_EQ(stringifyReward(Reward::FirstVerbalCorrect),
            "first_verbal_correct");
}

TEST(ModelDescription, FloatKeysAcceptIntegers) {
  ModelDescription d = parseOk(
      withLine(withLine(kFull, "smoothing = 0.1", "smoothing = 0"),
               "reference_temperature = 2.0", "reference_temperature = 3"));
  EXPECT_DOUBLE_EQ(d.loss.smoothing, 0.0);
  EXPECT_DOUBLE_EQ(d.loss.referenceTemperature, 3.0);
}

TEST(ModelDescription, BoundariesAreAccepted) {
  std::string text = kFull;
  for (auto [from, to] : {
           std::pair{"verbal_vocab = 16", "verbal_vocab = 1048576"},
           std::pair{"think_vocab = 8", "think_vocab = 0"},
           std::pair{"max_seq = 128", "max_seq = 2"},
           std::pair{"act_epsilon = 0.05", "act_epsilon = 0"},
           std::pair{"prior_lambda = 0.3", "prior_lambda = 1"},
           std::pair{"kl_beta = 0.04", "kl_beta = 0"},
           std::pair{"smoothing = 0.1", "smoothing = 0.7"},
           std::pair{"reference_mix = 0.25", "reference_mix = 0.3"},
           std::pair{"max_think = 3", "max_think = 0"},
           std::pair{"rollouts = 6", "rollouts = 2"},
       })
    text = withLine(text, from, to);
  ModelDescription d = parseOk(text);
  EXPECT_EQ(d.model.verbalVocab, 1 << 20);
  EXPECT_EQ(d.model.maxSeq, 2);
  EXPECT_DOUBLE_EQ(d.depth.priorLambda, 1.0);
  EXPECT_DOUBLE_EQ(d.loss.smoothing + d.loss.referenceMix, 1.0);
  EXPECT_EQ(d.think.rollouts, 2);
  // Mode-specific keys are checked but accepted whatever the mode.
  EXPECT_EQ(
      parseOk(std::string(kMinimal) + "prior_lambda = 0.5\n").depth.priorLambda,
      0.5);
}

TEST(ModelDescription, UnknownKey) {
  EXPECT_EQ(errorWith("verbal_vocab = 16", "verbal_vocab = 16\nd_modle = 1"),
            "m.toml:3: key 'model.d_modle': unknown key");
  // A misspelt required key is reported as unknown, not as missing, even
  // when a bad value comes earlier in the section.
  EXPECT_EQ(errorOf(withLine(withLine(kFull, "d_ff = 512", "d_fff = 512"),
                             "d_model = 128", "d_model = 0")),
            "m.toml:6: key 'model.d_fff': unknown key");
  EXPECT_EQ(errorOf(std::string(kFull) + "seed = 1\n"),
            "m.toml:28: key 'think.seed': unknown key");
  // A sub-table inside a section is an unknown key too.
  EXPECT_EQ(errorOf(std::string(kFull) + "[think.extra]\n"),
            "m.toml:28: key 'think.extra': unknown key");
  // The first unknown key in the file, not in key order.
  EXPECT_EQ(errorWith("kl_beta = 0.04", "zeta = 1\nalpha = 2"),
            "m.toml:16: key 'depth.zeta': unknown key");
}

TEST(ModelDescription, DataNamesATokenizer) {
  ParsedDescription p = parseModelDescription(
      std::string(kMinimal) + "\n[data]\ntokenizer = \"tok.model\"\n",
      "m.toml");
  ASSERT_TRUE(p.description) << p.error;
  EXPECT_EQ(p.description->data.tokenizer, "tok.model");
  EXPECT_NE(errorOf(std::string(kMinimal) + "\n[data]\ntokenizer = 3\n")
                .find("key 'data.tokenizer': expected string, got integer"),
            std::string::npos);
  EXPECT_NE(errorOf(std::string(kMinimal) + "\n[data]\nvocab = \"x\"\n")
                .find("key 'data.vocab': unknown key"),
            std::string::npos);
}

TEST(ModelDescription, UnknownSection) {
  EXPECT_EQ(errorOf(std::string(kFull) + "\n[trian]\nlr = 0.1\n"),
            "m.toml:29: section [trian]: unknown section (expected model, "
            "depth, loss, think, data)");
  EXPECT_EQ(errorOf("seed = 1\n" + std::string(kMinimal)),
            "m.toml:1: key 'seed': unknown key (outside any section)");
  EXPECT_EQ(errorOf("think = 3\n" + std::string(kMinimal)),
            "m.toml:1: section [think]: expected a table, got integer");
  EXPECT_EQ(errorOf(std::string(kMinimal) + "[[loss]]\n"),
            "m.toml:11: section [loss]: expected a table, got array");
}

TEST(ModelDescription, WrongType) {
  EXPECT_EQ(errorWith("d_model = 128", "d_model = \"128\""),
            "m.toml:4: key 'model.d_model': expected integer, got string");
  // Integers must be TOML integers.
  EXPECT_EQ(errorWith("max_steps = 8", "max_steps = 8.0"),
            "m.toml:12: key 'depth.max_steps': expected integer, got float");
  EXPECT_EQ(errorWith("norm_eps = 1e-6", "norm_eps = true"),
            "m.toml:8: key 'model.norm_eps': expected float, got boolean");
  EXPECT_EQ(errorWith("smoothing = 0.1", "smoothing = [0.1]"),
            "m.toml:19: key 'loss.smoothing': expected float, got array");
  EXPECT_EQ(errorWith("halting = \"pondernet\"", "halting = 1"),
            "m.toml:11: key 'depth.halting': expected string, got integer");
  EXPECT_EQ(errorWith("rollouts = 6", "rollouts = 1979-05-27"),
            "m.toml:27: key 'think.rollouts': expected integer, got date");
}

TEST(ModelDescription, OutOfRange) {
  EXPECT_EQ(errorWith("max_steps = 8", "max_steps = -3"),
            "m.toml:12: key 'depth.max_steps': expected integer in "
            "[1, 1048576], got -3");
  EXPECT_EQ(errorWith("verbal_vocab = 16", "verbal_vocab = 0"),
            "m.toml:2: key 'model.verbal_vocab': expected integer in "
            "[1, 1048576], got 0");
  EXPECT_EQ(errorWith("think_vocab = 8", "think_vocab = -1"),
            "m.toml:3: key 'model.think_vocab': expected integer in "
            "[0, 1048576], got -1");
  EXPECT_EQ(errorWith("d_ff = 512", "d_ff = 1048577"),
            "m.toml:6: key 'model.d_ff': expected integer in [1, 1048576], "
            "got 1048577");
  EXPECT_EQ(errorWith("max_seq = 128", "max_seq = 1"),
            "m.toml:7: key 'model.max_seq': expected integer in "
            "[2, 1048576], got 1");
  EXPECT_EQ(errorWith("n_heads = 4", "n_heads = 0"),
            "m.toml:5: key 'model.n_heads': expected integer >= 1, got 0");
  EXPECT_EQ(errorWith("norm_eps = 1e-6", "norm_eps = 0.0"),
            "m.toml:8: key 'model.norm_eps': expected float > 0, got 0");
  EXPECT_EQ(errorWith("halting = \"pondernet\"", "halting = \"actt\""),
            "m.toml:11: key 'depth.halting': expected one of \"fixed\", "
            "\"act\", \"pondernet\", got \"actt\"");
  EXPECT_EQ(errorWith("kl_beta = 0.04", "kl_beta = 0.04\nbackward = \"store\""),
            "m.toml:17: key 'depth.backward': expected one of \"tape\", "
            "\"recompute\", got \"store\"");
  EXPECT_EQ(errorWith("act_epsilon = 0.05", "act_epsilon = 1.0"),
            "m.toml:13: key 'depth.act_epsilon': expected float in [0, 1), "
            "got 1");
  EXPECT_EQ(errorWith("ponder_cost = 0.02", "ponder_cost = -0.5"),
            "m.toml:14: key 'depth.ponder_cost': expected float >= 0, got "
            "-0.5");
  EXPECT_EQ(errorWith("prior_lambda = 0.3", "prior_lambda = 0"),
            "m.toml:15: key 'depth.prior_lambda': expected float in (0, 1], "
            "got 0");
  EXPECT_EQ(errorWith("kl_beta = 0.04", "kl_beta = -1e-3"),
            "m.toml:16: key 'depth.kl_beta': expected float >= 0, got -0.001");
  EXPECT_EQ(errorWith("smoothing = 0.1", "smoothing = 1.5"),
            "m.toml:19: key 'loss.smoothing': expected float in [0, 1], got "
            "1.5");
  EXPECT_EQ(errorWith("reference_mix = 0.25", "reference_mix = -0.25"),
            "m.toml:20: key 'loss.reference_mix': expected float in [0, 1], "
            "got -0.25");
  EXPECT_EQ(
      errorWith("reference_temperature = 2.0", "reference_temperature = 0"),
      "m.toml:21: key 'loss.reference_temperature': expected float > 0, "
      "got 0");
  EXPECT_EQ(errorWith("policy_weight = 0.5", "policy_weight = -1"),
            "m.toml:22: key 'loss.policy_weight': expected float >= 0, got -1");
  EXPECT_EQ(errorWith("max_think = 3", "max_think = -1"),
            "m.toml:25: key 'think.max_think': expected integer >= 0, got -1");
  EXPECT_EQ(errorWith("reward = \"first_verbal_correct\"",
                      "reward = \"first_verbal\\n\""),
            "m.toml:26: key 'think.reward': expected one of "
            "\"first_verbal_logprob\", \"first_verbal_correct\", "
            "\"information_gain\", got \"first_verbal\\0A\"");
  // The leave-one-out baseline needs at least two rollouts.
  EXPECT_EQ(errorWith("rollouts = 6", "rollouts = 1"),
            "m.toml:27: key 'think.rollouts': expected integer >= 2, got 1");
}

TEST(ModelDescription, NonFiniteFloats) {
  EXPECT_EQ(errorWith("kl_beta = 0.04", "kl_beta = inf"),
            "m.toml:16: key 'depth.kl_beta': expected a finite float, got inf");
  EXPECT_EQ(errorWith("norm_eps = 1e-6", "norm_eps = nan"),
            "m.toml:8: key 'model.norm_eps': expected a finite float, got nan");
}

TEST(ModelDescription, HeadsMustDivideModelWidth) {
  EXPECT_EQ(errorWith("d_model = 128", "d_model = 130"),
            "m.toml:5: key 'model.n_heads': expected a divisor of d_model = "
            "130, got 4");
  EXPECT_EQ(errorWith("n_heads = 4", "n_heads = 256"),
            "m.toml:5: key 'model.n_heads': expected a divisor of d_model = "
            "128, got 256");
}

TEST(ModelDescription, SmoothingPlusMixAtMostOne) {
  EXPECT_EQ(
      errorOf(withLine(withLine(kFull, "smoothing = 0.1", "smoothing = 0.6"),
                       "reference_mix = 0.25", "reference_mix = 0.5")),
      "m.toml:20: key 'loss.reference_mix': expected smoothing + "
      "reference_mix <= 1, got 0.6 + 0.5");
}

TEST(ModelDescription, MissingSection) {
  EXPECT_EQ(errorOf(""), "m.toml:1: section [model]: missing (required)");
  EXPECT_EQ(errorOf("[model]\nverbal_vocab = 16\n"),
            "m.toml:1: section [depth]: missing (required)");
}

TEST(ModelDescription, MissingKey) {
  EXPECT_EQ(errorWith("d_model = 128", ""),
            "m.toml:1: key 'model.d_model': missing (required)");
  // Reported at the section header.
  EXPECT_EQ(errorWith("max_steps = 8", ""),
            "m.toml:10: key 'depth.max_steps': missing (required)");
  EXPECT_EQ(errorWith("halting = \"pondernet\"", ""),
            "m.toml:10: key 'depth.halting': missing (required)");
}

TEST(ModelDescription, FirstProblemOnly) {
  // Two bad values: the earlier one.
  EXPECT_EQ(errorOf(withLine(withLine(kFull, "d_ff = 512", "d_ff = 0"),
                             "rollouts = 6", "rollouts = 0")),
            "m.toml:6: key 'model.d_ff': expected integer in [1, 1048576], "
            "got 0");
}

TEST(ModelDescription, NotToml) {
  std::string error = errorWith("d_model = 128", "d_model = = 128");
  EXPECT_EQ(error.rfind("m.toml:4: not valid TOML: ", 0), 0u) << error;
  EXPECT_GT(error.size(), std::string("m.toml:4: not valid TOML: ").size());
  // Duplicate keys are TOML errors too.
  error = errorWith("d_ff = 512", "d_ff = 512\nd_ff = 64");
  EXPECT_EQ(error.rfind("m.toml:7: not valid TOML: ", 0), 0u) << error;
  // A NUL byte (found by fuzz/: toml++ asserts on one after `[`).
  EXPECT_EQ(errorOf(std::string("[model]\n[\0", 10)),
            "m.toml:2: not valid TOML: a NUL byte (not a text file?)");
  EXPECT_EQ(errorWith("d_ff = 512", std::string("d_ff = 5\0", 9)),
            "m.toml:6: not valid TOML: a NUL byte (not a text file?)");
  // Outside ASCII only in comments (fuzz/: toml++ reaches unreachable code
  // on a combining character in a bare key).
  EXPECT_EQ(errorWith("d_ff = 512", "d\xd2\x88"
                                    "ff = 512"),
            "m.toml:6: not valid here: a byte outside ASCII (model "
            "descriptions are ASCII outside comments)");
  EXPECT_EQ(errorWith("d_ff = 512", "d_ff = \"\xc3\xa9\""),
            "m.toml:6: not valid here: a byte outside ASCII (model "
            "descriptions are ASCII outside comments)");
  EXPECT_TRUE(parseModelDescription(withLine(kFull, "d_ff = 512",
                                             "d_ff = 512 # \xc3\xa9"
                                             "t\xc3\xa9 \"#"),
                                    "m.toml")
                  .description);
  // toml++ quotes what it saw, a newline included (fuzz/): still one line.
  EXPECT_EQ(errorWith("n_heads = 4", "n_heads = f"),
            "m.toml:5: not valid TOML: Error while parsing boolean: expected "
            "'false', saw 'f\\0A'");
  // No multi-line strings: they would hide where comments are.
  EXPECT_EQ(errorWith("halting = \"pondernet\"", "halting = \"\"\"act\"\"\""),
            "m.toml:11: not valid here: a multi-line string (model "
            "descriptions use none)");
  // A '#' inside a string is not a comment; an escaped quote does not end
  // the string.
  EXPECT_EQ(
      errorWith("halting = \"pondernet\"", "halting = \"a\\\"#\xc3\xa9\""),
      "m.toml:11: not valid here: a byte outside ASCII (model "
      "descriptions are ASCII outside comments)");
  // A quoted key with an escaped newline, named in an error (fuzz/).
  EXPECT_EQ(errorOf("\"a\\nb\" = 1\n"),
            "m.toml:1: key 'a\\x0ab': unknown key (outside any section)");
  // A header without a key (fuzz/: toml++ assumes one follows `[`).
  EXPECT_EQ(errorWith("[loss]", "[.loss]"),
            "m.toml:18: not valid TOML: a table header needs a key after "
            "'['");
  EXPECT_EQ(errorWith("[think]", "[\nthink]"),
            "m.toml:24: not valid TOML: a table header needs a key after "
            "'['");
  EXPECT_EQ(errorWith("[think]", "[[ =think]]"),
            "m.toml:24: not valid TOML: a table header needs a key after "
            "'['");
  EXPECT_EQ(errorWith("[think]", "[ ]").rfind("m.toml:24: not valid TOML: ", 0),
            0u);
}

TEST(ModelDescription, ReadsFile) {
  llvm::SmallString<128> path;
  ASSERT_FALSE(
      llvm::sys::fs::createTemporaryFile("model-description", "toml", path));
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    ASSERT_FALSE(ec) << ec.message();
    os << withLine(kFull, "rollouts = 6", "rollouts = 1");
  }
  ParsedDescription parsed = parseModelDescriptionFile(path);
  EXPECT_FALSE(parsed.description);
  EXPECT_EQ(parsed.error, (path + ":27: key 'think.rollouts': expected "
                                  "integer >= 2, got 1")
                              .str());
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    os << kFull;
  }
  parsed = parseModelDescriptionFile(path);
  ASSERT_TRUE(parsed.description) << parsed.error;
  EXPECT_EQ(parsed.description->think.rollouts, 6);
  llvm::sys::fs::remove(path);
}

TEST(ModelDescription, MissingFile) {
  ParsedDescription parsed =
      parseModelDescriptionFile("/nonexistent-ponder-dir/m.toml");
  EXPECT_FALSE(parsed.description);
  EXPECT_EQ(parsed.error, "/nonexistent-ponder-dir/m.toml: cannot read file: "
                          "No such file or directory");
}

} // namespace
