//===- Schedule.h - The learning-rate schedule of a run ---------*- C++ -*-===//
//
// Linear warm-up to the peak rate, then cosine decay to a floor of a tenth
// of it at the run's last step (MODEL.md §7; the shape is our choice,
// docs/training.md). A run resumed with more steps than it planned goes on
// from the rate it had reached: the cosine restarts there and decays to the
// floor at the new last step, so the rate never jumps.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_SCHEDULE_H
#define PONDER_TRAINING_SCHEDULE_H

#include <cstdint>

namespace ponder {

struct LearningRateSchedule {
  double peak = 0.003;
  int64_t warmup = 0; // steps of linear warm-up
  int64_t total = 1;  // the run's last step
  /// After an extension: the cosine decays from `restartRate` at
  /// `restartStep` (0: no extension).
  int64_t restartStep = 0;
  double restartRate = 0;

  /// The rate of 1-based step `step` (after an extension: of the steps
  /// after `restartStep`; the earlier ones ran under the plan before it).
  double at(int64_t step) const;
  /// This schedule continued from step `from` (the last completed step) to
  /// a new last step `newTotal`, without a jump in the rate.
  LearningRateSchedule extendedTo(int64_t newTotal, int64_t from) const;
};

} // namespace ponder

#endif // PONDER_TRAINING_SCHEDULE_H
