//===- TrainingSettings.h - What a training run is ---------------*- C++
//-*-===//
//
// The settings that fix a run's trajectory: `ponder train`'s flags, kept in
// the checkpoint's __metadata__ under the same names (docs/training.md), so
// that a resumed run continues the same run. One table (the .cpp) defines
// each setting's key, its text form and its parse.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_TRAININGSETTINGS_H
#define PONDER_TRAINING_TRAININGSETTINGS_H

#include "runtime/Status.h"
#include "training/Schedule.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace ponder {

struct TrainingSettings {
  std::string task; // "NAME:ARG" (docs/tasks.md); "data:FILE"
  // A text corpus (task "data:FILE", training/Corpus.h): its validation
  // file ("": the corpus's last 10%), the window (0: max_seq's) and the
  // tokenizer, an absolute path ("": bytes) from the model's [data].
  std::string val;
  int64_t window = 0;
  std::string tokenizer;
  int64_t steps = 0;        // the run's last step
  int64_t batch = 32;       // examples per step
  double lr = 0.003;        // the peak learning rate
  double weightDecay = 0.1; // AdamW's decoupled decay
  int64_t warmup = -1;      // -1: min(100, steps / 10)
  uint64_t seed = 0;        // initial weights, batches and rollouts
  /// The std of the initial input embeddings (MODEL.md §3: 0.02).
  double embedStd = 0.02;
  bool think = false; // think tokens by rollouts (MODEL.md §6)
  /// Placed thoughts ("after-prompt:K", "before-answer:K"; ThoughtSlots.h),
  /// trained by back-propagation; "" for none. Not with `think`.
  std::string thoughtSlots;
  // Rollouts (`think`) only; the defaults are v1's.
  std::string thinkAt = "answer"; // where spans open: answer, prompt, all
  double thinkCost = 0;           // subtracted per thought from a reward
  double thinkFloor = 0;          // the least think probability sampled
  bool clampAdvantages = false;   // negative advantages set to 0
  bool returnToGo = false;        // advantages of returns-to-go
  std::string reference;          // a frozen reference checkpoint (MODEL.md §5)
  std::string referenceModel;     // its description; "" for the trained one's
  std::string initFrom;           // weights a fine-tuning run started from
  /// Set by an extended resume (Schedule.h); 0 otherwise.
  int64_t lrRestartStep = 0;
  double lrRestartRate = 0;

  /// Whether the thinking settings agree with each other (one line naming
  /// the flags otherwise): slots are not rollouts, and the rollout options
  /// need `think`.
  Status checkThinking() const;
  /// The warm-up with its default resolved.
  int64_t resolvedWarmup() const;
  LearningRateSchedule schedule() const;
  /// The settings as checkpoint metadata (text values by key).
  std::map<std::string, std::string> toMetadata() const;
  /// Settings read back from a checkpoint's metadata; unknown keys are
  /// ignored (the metadata also holds the model and the step).
  static StatusOr<TrainingSettings>
  fromMetadata(const std::map<std::string, std::string> &metadata,
               const std::string &source);
};

/// The settings of a run resumed from a checkpoint with `saved` settings
/// at step `step`: `given` holds what the user set, `keys` which of its
/// settings they set (metadata keys). Each of those must agree with the
/// saved run, except `steps`, which may grow or shrink (not to `step` or
/// below): the schedule then continues from the rate it had reached.
StatusOr<TrainingSettings> resumedSettings(const TrainingSettings &saved,
                                           int64_t step,
                                           const TrainingSettings &given,
                                           const std::set<std::string> &keys);

} // namespace ponder

#endif // PONDER_TRAINING_TRAININGSETTINGS_H
