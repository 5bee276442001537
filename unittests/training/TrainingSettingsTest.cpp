//===- TrainingSettingsTest.cpp - A run's settings and resumes ------------===//

#include "training/TrainingSettings.h"

#include <gtest/gtest.h>

namespace ponder {
namespace {

TrainingSettings someRun() {
  TrainingSettings s;
  s.task = "addition:2";
  s.steps = 200;
  s.batch = 16;
  s.lr = 0.003;
  s.seed = 5;
  s.think = true;
  return s;
}

TEST(TrainingSettings, MetadataRoundTrips) {
  TrainingSettings s = someRun();
  std::map<std::string, std::string> m = s.toMetadata();
  EXPECT_EQ(m.at("lr"), "0.003");
  EXPECT_EQ(m.at("think"), "1");
  auto back = TrainingSettings::fromMetadata(m, "c");
  ASSERT_TRUE(back) << back.getStatus().message();
  EXPECT_EQ(back->toMetadata(), m);
}

TEST(TrainingSettings, MetadataOfAnotherProgramIsRefused) {
  auto noTask = TrainingSettings::fromMetadata({{"step", "3"}}, "c.st");
  ASSERT_FALSE(noTask);
  EXPECT_EQ(noTask.getStatus().message(),
            "c.st: not a ponder train checkpoint (no task in __metadata__)");
  auto badBatch =
      TrainingSettings::fromMetadata({{"task", "parity"}, {"batch", "x"}}, "c");
  ASSERT_FALSE(badBatch);
  EXPECT_EQ(badBatch.getStatus().message(),
            "c: __metadata__ 'batch' = 'x' is not a valid value");
}

TEST(TrainingSettings, AResumeKeepsTheRunsSettings) {
  TrainingSettings saved = someRun(), given;
  given.lr = 0.0030; // the same number, written differently
  given.batch = 17;
  auto same = resumedSettings(saved, 100, given, {"lr"});
  ASSERT_TRUE(same) << same.getStatus().message();
  EXPECT_EQ(same->toMetadata(), saved.toMetadata());
  auto differs = resumedSettings(saved, 100, given, {"batch"});
  ASSERT_FALSE(differs);
  EXPECT_EQ(differs.getStatus().message(),
            "ponder: --batch 17 differs from the resumed run's 16");
  given.think = false;
  EXPECT_FALSE(resumedSettings(saved, 100, given, {"think"}));
}

TEST(TrainingSettings, AResumeWithMoreStepsContinuesTheSchedule) {
  TrainingSettings saved = someRun(), given;
  given.steps = 400;
  auto longer = resumedSettings(saved, 200, given, {"steps"});
  ASSERT_TRUE(longer) << longer.getStatus().message();
  EXPECT_EQ(longer->steps, 400);
  EXPECT_EQ(longer->warmup, 20); // the default of the 200-step run, pinned
  EXPECT_NEAR(longer->schedule().at(201), saved.schedule().at(200), 1e-9);
  // Its metadata keeps the restart for the next resume.
  auto back = TrainingSettings::fromMetadata(longer->toMetadata(), "c");
  ASSERT_TRUE(back);
  EXPECT_DOUBLE_EQ(back->schedule().at(300), longer->schedule().at(300));
  given.steps = 150;
  auto shorter = resumedSettings(saved, 200, given, {"steps"});
  ASSERT_FALSE(shorter);
  EXPECT_EQ(shorter.getStatus().message(),
            "ponder: the checkpoint is at step 200, nothing to do for --steps "
            "150");
}

} // namespace
} // namespace ponder
