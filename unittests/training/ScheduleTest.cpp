//===- ScheduleTest.cpp - The learning-rate schedule ----------------------===//

#include "training/Schedule.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ponder {
namespace {

TEST(Schedule, WarmsUpThenDecaysToATenth) {
  LearningRateSchedule s{0.01, 10, 110};
  EXPECT_DOUBLE_EQ(s.at(1), 0.001);
  EXPECT_DOUBLE_EQ(s.at(10), 0.01);
  EXPECT_NEAR(s.at(60), 0.0055, 1e-12); // half way down the cosine
  EXPECT_DOUBLE_EQ(s.at(110), 0.001);
  EXPECT_DOUBLE_EQ(s.at(200), 0.001); // past the end: the floor
}

// Resuming a finished run of 200 steps to 400 used to jump from the floor
// (3e-4) back up the cosine of the longer run (1.05e-3 at step 201).
TEST(Schedule, AnExtendedRunGoesOnFromTheRateItReached) {
  LearningRateSchedule planned{0.003, 20, 200};
  LearningRateSchedule extended = planned.extendedTo(400, 200);
  EXPECT_NEAR(extended.at(201), planned.at(200), 1e-9);
  EXPECT_LE(extended.at(201), planned.at(200));
  EXPECT_DOUBLE_EQ(extended.at(400), 0.0003);
  // Monotone down to the new end, never a jump.
  for (int64_t s = 201; s < 400; ++s) {
    EXPECT_LE(extended.at(s + 1), extended.at(s)) << s;
    EXPECT_LT(std::abs(extended.at(s + 1) - extended.at(s)), 1e-5) << s;
  }
  // An extension in the middle of the decay, then another.
  LearningRateSchedule once = planned.extendedTo(300, 120);
  LearningRateSchedule twice = once.extendedTo(500, 250);
  EXPECT_NEAR(once.at(121), planned.at(120), 1e-5);
  EXPECT_NEAR(twice.at(251), once.at(250), 1e-5);
  EXPECT_DOUBLE_EQ(twice.at(500), 0.0003);
}

TEST(Schedule, AnExtensionWithinTheWarmUpKeepsThePlan) {
  LearningRateSchedule planned{0.003, 100, 200};
  LearningRateSchedule extended = planned.extendedTo(1000, 50);
  EXPECT_EQ(extended.restartStep, 0);
  EXPECT_DOUBLE_EQ(extended.at(50), planned.at(50));
  EXPECT_DOUBLE_EQ(extended.at(100), 0.003);
  EXPECT_DOUBLE_EQ(extended.at(1000), 0.0003);
}

} // namespace
} // namespace ponder
