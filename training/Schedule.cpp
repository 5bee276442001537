//===- Schedule.cpp - The learning-rate schedule of a run -----------------===//

#include "training/Schedule.h"

#include <algorithm>
#include <cmath>

namespace ponder {

namespace {
/// Half a cosine from `from` at progress 0 down to `to` at progress 1.
double cosine(double from, double to, double progress) {
  progress = std::min(1.0, std::max(0.0, progress));
  return to + (from - to) * 0.5 * (1.0 + std::cos(M_PI * progress));
}
} // namespace

double LearningRateSchedule::at(int64_t step) const {
  double floor = 0.1 * peak;
  if (restartStep > 0 && step > restartStep)
    return cosine(restartRate, floor,
                  double(step - restartStep) / double(total - restartStep));
  if (warmup > 0 && step <= warmup)
    return peak * double(step) / double(warmup);
  if (total <= warmup)
    return peak;
  return cosine(peak, floor, double(step - warmup) / double(total - warmup));
}

LearningRateSchedule LearningRateSchedule::extendedTo(int64_t newTotal,
                                                      int64_t from) const {
  LearningRateSchedule extended = *this;
  extended.total = newTotal;
  // Within the warm-up the plan is unchanged: the cosine starts at the peak
  // when the warm-up ends, whatever the last step.
  if (from > warmup && newTotal != total) {
    extended.restartStep = from;
    extended.restartRate = at(from);
  }
  return extended;
}

} // namespace ponder
