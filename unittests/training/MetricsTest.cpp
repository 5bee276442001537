//===- MetricsTest.cpp - The metrics CSV of a run -------------------------===//

#include "training/Metrics.h"

#include "unittests/TempDirTest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace ponder {
namespace {

class Metrics : public TempDirTest {};

size_t fields(const std::string &line) {
  return size_t(std::count(line.begin(), line.end(), ',')) + 1;
}

std::string slurp(const std::string &path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(Metrics, HeaderAndRowsHaveTheSameColumns) {
  EXPECT_EQ(
      metricsHeader(),
      "step,loss,loss_ce,loss_ponder,loss_policy,grad_norm,"
      "learning_rate,mean_depth,tokens_per_s,heldout_accuracy,reward,"
      "advantage_std,think_per_verbal,think_advantage,thoughts_per_answer,"
      "heldout_thoughts_per_answer,heldout_flops_per_answer,heldout_loss");
  MetricsRow plain;
  plain.step = 7;
  plain.loss = 0.5;
  plain.learningRate = 0.003;
  plain.meanDepth = 1.25;
  plain.tokensPerSecond = 1234.56;
  EXPECT_EQ(formatMetricsRow(plain),
            "7,0.5,0,0,0,0,0.003,1.2500,1234.6,,,,,,,,,");
  MetricsRow thinking = plain;
  thinking.heldOutAccuracy = 0.875;
  thinking.reward = -0.25;
  thinking.advantageStd = 0.5;
  thinking.thinkPerVerbal = 2;
  thinking.thoughtsPerAnswer = 6;
  thinking.heldOutThoughts = 5.5;
  thinking.heldOutFlops = 1.5e6;
  EXPECT_EQ(formatMetricsRow(thinking),
            "7,0.5,0,0,0,0,0.003,1.2500,1234.6,0.8750,-0.25,0.5,2,,6,5.5,"
            "1.5e+06,");
  MetricsRow text = plain;
  text.heldOutLoss = 3.25;
  EXPECT_EQ(formatMetricsRow(text),
            "7,0.5,0,0,0,0,0.003,1.2500,1234.6,,,,,,,,,3.25");
  EXPECT_EQ(fields(formatMetricsRow(plain)), fields(metricsHeader()));
}

TEST_F(Metrics, AResumedRunDropsRowsAfterItsCheckpoint) {
  std::string path = dir + "/run.csv";
  {
    auto log = MetricsLog::open(path, 0);
    ASSERT_TRUE(log) << log.getStatus().message();
    for (int64_t s = 1; s <= 5; ++s) {
      MetricsRow row;
      row.step = s;
      ASSERT_TRUE(log->append(row).isOk());
    }
  }
  auto resumed = MetricsLog::open(path, 3);
  ASSERT_TRUE(resumed);
  std::string text = slurp(path);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4) << text;
  EXPECT_EQ(text.rfind("3,", text.size() - 2) + 2 < text.size(), true);
  EXPECT_EQ(text.find("\n4,"), std::string::npos) << text;
  EXPECT_FALSE(MetricsLog::open(dir + "/nodir/x.csv", 0));
}

TEST(MetricsPaths, WithExtension) {
  EXPECT_EQ(withExtension("a/b.safetensors", ".csv"), "a/b.csv");
  EXPECT_EQ(withExtension("a.d/b", ".csv"), "a.d/b.csv");
  EXPECT_EQ(withExtension("b", ".png"), "b.png");
}

} // namespace
} // namespace ponder
