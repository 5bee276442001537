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

TEST(TrainingSettings, ThinkingSettingsRoundTripAndResume) {
  TrainingSettings s = someRun();
  s.thinkAt = "all";
  s.thinkCost = 0.05;
  s.thinkFloor = 0.1;
  s.clampAdvantages = true;
  s.returnToGo = true;
  std::map<std::string, std::string> m = s.toMetadata();
  EXPECT_EQ(m.at("think_at"), "all");
  EXPECT_EQ(m.at("think_cost"), "0.05");
  EXPECT_EQ(m.at("think_floor"), "0.1");
  EXPECT_EQ(m.at("clamp_advantages"), "1");
  EXPECT_EQ(m.at("return_to_go"), "1");
  EXPECT_EQ(m.at("thought_slots"), "");
  auto back = TrainingSettings::fromMetadata(m, "c");
  ASSERT_TRUE(back) << back.getStatus().message();
  EXPECT_EQ(back->toMetadata(), m);
  EXPECT_EQ(back->thinkFloor, 0.1);
  EXPECT_TRUE(back->returnToGo);

  TrainingSettings placed = someRun();
  placed.think = false;
  placed.thoughtSlots = "after-prompt:2";
  auto slots = TrainingSettings::fromMetadata(placed.toMetadata(), "c");
  ASSERT_TRUE(slots);
  EXPECT_EQ(slots->thoughtSlots, "after-prompt:2");
  // A resume that names other slots is refused; the same ones pass.
  TrainingSettings given;
  given.thoughtSlots = "before-answer:2";
  auto other = resumedSettings(placed, 100, given, {"thought_slots"});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.getStatus().message(),
            "ponder: --thought-slots before-answer:2 differs from the "
            "resumed run's after-prompt:2");
  given.thoughtSlots = "after-prompt:2";
  EXPECT_TRUE(resumedSettings(placed, 100, given, {"thought_slots"}));
  // Checkpoints of earlier versions: v1's defaults.
  auto v1 = TrainingSettings::fromMetadata({{"task", "parity"}}, "c");
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->thinkAt, "answer");
  EXPECT_EQ(v1->thoughtSlots, "");
  EXPECT_EQ(v1->thinkCost, 0.0);
  EXPECT_FALSE(v1->clampAdvantages);
}

TEST(TrainingSettings, BadThinkingMetadataIsRefused) {
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"thought_slots", "after-prompt:0"},
           {"think_at", "nowhere"},
           {"think_cost", "-1"},
           {"think_floor", "1.5"},
           {"clamp_advantages", "yes"},
           {"return_to_go", "2"}}) {
    auto s =
        TrainingSettings::fromMetadata({{"task", "parity"}, {key, value}}, "c");
    ASSERT_FALSE(s) << key;
    EXPECT_EQ(s.getStatus().message(), "c: __metadata__ '" + key + "' = '" +
                                           value + "' is not a valid value");
  }
}

TEST(TrainingSettings, ThinkingFlagsThatDoNotGoTogether) {
  TrainingSettings s = someRun(); // --think
  EXPECT_TRUE(s.checkThinking());
  s.thinkAt = "prompt";
  s.thinkCost = 0.1;
  EXPECT_TRUE(s.checkThinking());
  s.thoughtSlots = "after-prompt:1";
  EXPECT_EQ(s.checkThinking().message(),
            "ponder: --thought-slots and --think: give one (placed thoughts "
            "train by back-propagation, chosen ones by rollouts)");
  s.think = false;
  EXPECT_EQ(s.checkThinking().message(),
            "ponder: --think-at needs --think (it shapes rollouts)");
  s.thinkAt = "answer";
  EXPECT_EQ(s.checkThinking().message(),
            "ponder: --think-cost needs --think (it shapes rollouts)");
  s.thinkCost = 0;
  EXPECT_TRUE(s.checkThinking()); // placed thoughts alone
  for (auto set : std::vector<void (*)(TrainingSettings &)>{
           [](TrainingSettings &t) { t.thinkFloor = 0.2; },
           [](TrainingSettings &t) { t.clampAdvantages = true; },
           [](TrainingSettings &t) { t.returnToGo = true; }}) {
    TrainingSettings t = s;
    set(t);
    EXPECT_FALSE(t.checkThinking());
  }
}

} // namespace
} // namespace ponder
