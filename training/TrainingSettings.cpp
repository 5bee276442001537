//===- TrainingSettings.cpp - What a training run is ----------------------===//

#include "training/TrainingSettings.h"
#include "training/Rollouts.h"
#include "training/ThoughtSlots.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace ponder {

namespace {

/// The shortest text that reads back as `x`.
std::string text(double x) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), x);
  return std::string(buffer, result.ptr);
}

bool parseInteger(const std::string &s, int64_t &out) {
  char *end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  out = v;
  return !s.empty() && *end == '\0';
}

bool parseNumber(const std::string &s, double &out) {
  char *end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && *end == '\0' && std::isfinite(out);
}

std::string flag(bool on) { return on ? "1" : "0"; }

bool parseFlag(const std::string &s, bool &out) {
  out = s == "1";
  return s == "0" || s == "1";
}

struct Field {
  const char *key;
  std::string (*get)(const TrainingSettings &);
  /// False when `value` is not of the setting's type.
  bool (*set)(TrainingSettings &, const std::string &value);
};

// Every setting a checkpoint keeps, by its metadata key.
const Field kFields[] = {
    {"task", [](const TrainingSettings &s) { return s.task; },
     [](TrainingSettings &s, const std::string &v) {
       s.task = v;
       return true;
     }},
    {"val", [](const TrainingSettings &s) { return s.val; },
     [](TrainingSettings &s, const std::string &v) {
       s.val = v;
       return true;
     }},
    {"window",
     [](const TrainingSettings &s) { return std::to_string(s.window); },
     [](TrainingSettings &s, const std::string &v) {
       return parseInteger(v, s.window) && s.window >= 0;
     }},
    {"tokenizer", [](const TrainingSettings &s) { return s.tokenizer; },
     [](TrainingSettings &s, const std::string &v) {
       s.tokenizer = v;
       return true;
     }},
    {"steps", [](const TrainingSettings &s) { return std::to_string(s.steps); },
     [](TrainingSettings &s, const std::string &v) {
       return parseInteger(v, s.steps);
     }},
    {"batch", [](const TrainingSettings &s) { return std::to_string(s.batch); },
     [](TrainingSettings &s, const std::string &v) {
       return parseInteger(v, s.batch);
     }},
    {"lr", [](const TrainingSettings &s) { return text(s.lr); },
     [](TrainingSettings &s, const std::string &v) {
       return parseNumber(v, s.lr);
     }},
    {"weight_decay",
     [](const TrainingSettings &s) { return text(s.weightDecay); },
     [](TrainingSettings &s, const std::string &v) {
       return parseNumber(v, s.weightDecay);
     }},
    {"warmup",
     [](const TrainingSettings &s) { return std::to_string(s.warmup); },
     [](TrainingSettings &s, const std::string &v) {
       return parseInteger(v, s.warmup);
     }},
    {"seed", [](const TrainingSettings &s) { return std::to_string(s.seed); },
     [](TrainingSettings &s, const std::string &v) {
       int64_t seed = 0;
       if (!parseInteger(v, seed) || seed < 0)
         return false;
       s.seed = uint64_t(seed);
       return true;
     }},
    {"embed_std", [](const TrainingSettings &s) { return text(s.embedStd); },
     [](TrainingSettings &s, const std::string &v) {
       return parseNumber(v, s.embedStd) && s.embedStd > 0;
     }},
    {"think", [](const TrainingSettings &s) { return flag(s.think); },
     [](TrainingSettings &s, const std::string &v) {
       return parseFlag(v, s.think);
     }},
    {"thought_slots", [](const TrainingSettings &s) { return s.thoughtSlots; },
     [](TrainingSettings &s, const std::string &v) {
       StatusOr<ThoughtSlots> slots = ThoughtSlots::parse(v);
       s.thoughtSlots = slots ? slots->spec() : v;
       return v.empty() || bool(slots);
     }},
    {"think_at", [](const TrainingSettings &s) { return s.thinkAt; },
     [](TrainingSettings &s, const std::string &v) {
       s.thinkAt = v;
       return bool(parseThinkAt(v));
     }},
    {"think_cost", [](const TrainingSettings &s) { return text(s.thinkCost); },
     [](TrainingSettings &s, const std::string &v) {
       return parseNumber(v, s.thinkCost) && s.thinkCost >= 0;
     }},
    {"think_floor",
     [](const TrainingSettings &s) { return text(s.thinkFloor); },
     [](TrainingSettings &s, const std::string &v) {
       return parseNumber(v, s.thinkFloor) && s.thinkFloor >= 0 &&
              s.thinkFloor <= 1;
     }},
    {"clamp_advantages",
     [](const TrainingSettings &s) { return flag(s.clampAdvantages); },
     [](TrainingSettings &s, const std::string &v) {
       return parseFlag(v, s.clampAdvantages);
     }},
    {"return_to_go",
     [](const TrainingSettings &s) { return flag(s.returnToGo); },
     [](TrainingSettings &s, const std::string &v) {
       return parseFlag(v, s.returnToGo);
     }},
    {"reference", [](const TrainingSettings &s) { return s.reference; },
     [](TrainingSettings &s, const std::string &v) {
       s.reference = v;
       return true;
     }},
    {"reference_model",
     [](const TrainingSettings &s) { return s.referenceModel; },
     [](TrainingSettings &s, const std::string &v) {
       s.referenceModel = v;
       return true;
     }},
    {"init_from", [](const TrainingSettings &s) { return s.initFrom; },
     [](TrainingSettings &s, const std::string &v) {
       s.initFrom = v;
       return true;
     }},
    {"lr_restart_step",
     [](const TrainingSettings &s) { return std::to_string(s.lrRestartStep); },
     [](TrainingSettings &s, const std::string &v) {
       return parseInteger(v, s.lrRestartStep);
     }},
    {"lr_restart_rate",
     [](const TrainingSettings &s) { return text(s.lrRestartRate); },
     [](TrainingSettings &s, const std::string &v) {
       return parseNumber(v, s.lrRestartRate);
     }},
};

/// The command-line flag of metadata key `key`: "--weight-decay".
std::string flagOf(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

} // namespace

Status TrainingSettings::checkThinking() const {
  if (!thoughtSlots.empty() && think)
    return Status::error("ponder: --thought-slots and --think: give one "
                         "(placed thoughts train by back-propagation, chosen "
                         "ones by rollouts)");
  if (think)
    return Status::ok();
  TrainingSettings v1;
  v1.task = task;
  const char *rolloutKeys[] = {"think_at", "think_cost", "think_floor",
                               "clamp_advantages", "return_to_go"};
  std::map<std::string, std::string> mine = toMetadata(),
                                     theirs = v1.toMetadata();
  for (const char *key : rolloutKeys)
    if (mine.at(key) != theirs.at(key))
      return Status::error("ponder: " + flagOf(key) +
                           " needs --think (it shapes rollouts)");
  return Status::ok();
}

int64_t TrainingSettings::resolvedWarmup() const {
  return warmup >= 0 ? warmup : std::min<int64_t>(100, steps / 10);
}

LearningRateSchedule TrainingSettings::schedule() const {
  return {lr, resolvedWarmup(), steps, lrRestartStep, lrRestartRate};
}

std::map<std::string, std::string> TrainingSettings::toMetadata() const {
  std::map<std::string, std::string> metadata;
  for (const Field &f : kFields)
    metadata[f.key] = f.get(*this);
  return metadata;
}

StatusOr<TrainingSettings>
TrainingSettings::fromMetadata(const std::map<std::string, std::string> &m,
                               const std::string &source) {
  if (!m.count("task"))
    return Status::error(source + ": not a ponder train checkpoint (no task in "
                                  "__metadata__)");
  TrainingSettings s;
  for (const Field &f : kFields) {
    auto it = m.find(f.key);
    // Checkpoints of earlier versions lack the newer keys: defaults.
    if (it != m.end() && !f.set(s, it->second))
      return Status::error(source + ": __metadata__ '" + f.key + "' = '" +
                           it->second + "' is not a valid value");
  }
  return s;
}

StatusOr<TrainingSettings> resumedSettings(const TrainingSettings &saved,
                                           int64_t step,
                                           const TrainingSettings &given,
                                           const std::set<std::string> &keys) {
  for (const Field &f : kFields) {
    if (!keys.count(f.key) || std::string(f.key) == "steps")
      continue;
    std::string mine = f.get(given), theirs = f.get(saved);
    if (mine != theirs)
      return Status::error("ponder: " + flagOf(f.key) + " " + mine +
                           " differs from the resumed run's " + theirs);
  }
  TrainingSettings resumed = saved;
  if (!keys.count("steps") || given.steps == saved.steps)
    return resumed;
  if (given.steps <= step)
    return Status::error("ponder: the checkpoint is at step " +
                         std::to_string(step) + ", nothing to do for --steps " +
                         std::to_string(given.steps));
  LearningRateSchedule extended =
      saved.schedule().extendedTo(given.steps, step);
  resumed.steps = given.steps;
  // The warm-up default depends on the last step: pin the one that ran.
  resumed.warmup = saved.resolvedWarmup();
  resumed.lrRestartStep = extended.restartStep;
  resumed.lrRestartRate = extended.restartRate;
  return resumed;
}

} // namespace ponder
