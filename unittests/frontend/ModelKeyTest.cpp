//===- ModelKeyTest.cpp - What makes two descriptions one model -----------===//

#include "frontend/ModelKey.h"

#include <gtest/gtest.h>

namespace ponder {
namespace {

// Every key of MODEL.md §2, each at a value other than its default.
const char *kEvery = R"([model]
verbal_vocab = 8
think_vocab = 2
d_model = 16
n_heads = 2
d_ff = 32
max_seq = 12
norm_eps = 2e-5
[depth]
halting = "pondernet"
max_steps = 3
act_epsilon = 0.02
ponder_cost = 0.03
prior_lambda = 0.3
kl_beta = 0.04
backward = "recompute"
[loss]
smoothing = 0.1
reference_mix = 0.2
reference_temperature = 2.0
policy_weight = 0.5
[think]
max_think = 3
reward = "first_verbal_correct"
rollouts = 3
)";

std::string keyOf(const std::string &text) {
  ParsedDescription p = parseModelDescription(text, "m.toml");
  EXPECT_TRUE(p.description) << p.error;
  return p.description ? modelKey(*p.description) : "";
}

TEST(ModelKey, EveryKeyChangesIt) {
  std::string base = keyOf(kEvery);
  // Replace each value by another valid one.
  const std::pair<const char *, const char *> edits[] = {
      {"verbal_vocab = 8", "verbal_vocab = 9"},
      {"think_vocab = 2", "think_vocab = 3"},
      {"d_model = 16", "d_model = 32"},
      {"n_heads = 2", "n_heads = 4"},
      {"d_ff = 32", "d_ff = 33"},
      {"max_seq = 12", "max_seq = 13"},
      {"norm_eps = 2e-5", "norm_eps = 3e-5"},
      {"\"pondernet\"", "\"act\""},
      {"max_steps = 3", "max_steps = 4"},
      {"act_epsilon = 0.02", "act_epsilon = 0.03"},
      {"ponder_cost = 0.03", "ponder_cost = 0.04"},
      {"prior_lambda = 0.3", "prior_lambda = 0.4"},
      {"kl_beta = 0.04", "kl_beta = 0.05"},
      {"\"recompute\"", "\"tape\""},
      {"smoothing = 0.1", "smoothing = 0.2"},
      {"reference_mix = 0.2", "reference_mix = 0.3"},
      {"reference_temperature = 2.0", "reference_temperature = 3.0"},
      {"policy_weight = 0.5", "policy_weight = 0.6"},
      {"max_think = 3", "max_think = 4"},
      {"\"first_verbal_correct\"", "\"first_verbal_logprob\""},
      {"rollouts = 3", "rollouts = 4"},
  };
  for (const auto &[from, to] : edits) {
    std::string edited = kEvery;
    size_t at = edited.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    edited.replace(at, std::string(from).size(), to);
    EXPECT_NE(keyOf(edited), base) << to;
  }
}

// The tokenizer is how `ponder` reads text, not part of the compiled model.
TEST(ModelKey, TheTokenizerDoesNotChangeIt) {
  EXPECT_EQ(keyOf(std::string(kEvery) + "[data]\ntokenizer = \"t.model\"\n"),
            keyOf(kEvery));
}

TEST(ModelKey, CommentsOrderAndSpeltOutDefaultsDoNotChangeIt) {
  std::string minimal = "[model]\nverbal_vocab = 8\nd_model = 16\n"
                        "n_heads = 2\nd_ff = 32\nmax_seq = 12\n"
                        "[depth]\nhalting = \"act\"\nmax_steps = 3\n";
  std::string reordered = "# a comment\n[depth]\nmax_steps = 3 # steps\n"
                          "halting   =   \"act\"\nponder_cost = 1e-2\n\n"
                          "[model]\nmax_seq = 12\nd_ff = 32\nn_heads = 2\n"
                          "d_model = 16\nverbal_vocab = 8\nnorm_eps = 0.00001\n"
                          "[loss]\npolicy_weight = 1.0\n";
  EXPECT_EQ(keyOf(minimal), keyOf(reordered));
  EXPECT_EQ(keyOf(minimal).size(), 16u);
}

} // namespace
} // namespace ponder
