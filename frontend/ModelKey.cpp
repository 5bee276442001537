//===- ModelKey.cpp - What makes two descriptions one model ---------------===//

#include "frontend/ModelKey.h"

#include "runtime/Hash.h"

#include <charconv>
#include <cstdio>

using namespace ponder;

namespace {
/// The shortest text that reads back as `x`: 1e-5 and 0.00001 agree.
std::string number(double x) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), x);
  return std::string(buffer, result.ptr);
}
} // namespace

std::string ponder::canonicalDescription(const ModelDescription &d) {
  std::string text;
  auto add = [&](const char *key, const std::string &value) {
    text += std::string(key) + "=" + value + "\n";
  };
  add("model.verbal_vocab", std::to_string(d.model.verbalVocab));
  add("model.think_vocab", std::to_string(d.model.thinkVocab));
  add("model.d_model", std::to_string(d.model.dModel));
  add("model.n_heads", std::to_string(d.model.nHeads));
  add("model.d_ff", std::to_string(d.model.dFF));
  add("model.max_seq", std::to_string(d.model.maxSeq));
  add("model.norm_eps", number(d.model.normEps));
  add("depth.halting", stringifyHalting(d.depth.halting).str());
  add("depth.max_steps", std::to_string(d.depth.maxSteps));
  add("depth.act_epsilon", number(d.depth.actEpsilon));
  add("depth.ponder_cost", number(d.depth.ponderCost));
  add("depth.prior_lambda", number(d.depth.priorLambda));
  add("depth.kl_beta", number(d.depth.klBeta));
  add("depth.backward", stringifyBackward(d.depth.backward).str());
  add("loss.smoothing", number(d.loss.smoothing));
  add("loss.reference_mix", number(d.loss.referenceMix));
  add("loss.reference_temperature", number(d.loss.referenceTemperature));
  add("loss.policy_weight", number(d.loss.policyWeight));
  add("think.max_think", std::to_string(d.think.maxThink));
  add("think.reward", stringifyReward(d.think.reward).str());
  add("think.rollouts", std::to_string(d.think.rollouts));
  // v2 keys only when set, so that every v1 model keeps its key.
  if (d.think.channel != Channel::Token)
    add("think.channel", stringifyChannel(d.think.channel).str());
  return text;
}

std::string ponder::modelKey(const ModelDescription &d) {
  char hex[17];
  std::snprintf(
      hex, sizeof(hex), "%016llx",
      static_cast<unsigned long long>(fnv1a(canonicalDescription(d))));
  return hex;
}
