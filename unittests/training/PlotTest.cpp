//===- PlotTest.cpp - Evaluation plots with gnuplot -----------------------===//
//
// Renders small CSVs (empty fields, columns that older files lack, tokens
// that gnuplot would misread) and checks the PNG; errors must leave no PNG.
// gnuplot reads the CSVs, so the tests that draw or check a CSV's columns
// skip when it is not installed (gnuplot-nox, scripts/setup.sh); the ones
// that fake or hide it always run.
//
//===----------------------------------------------------------------------===//

#include "training/Plot.h"

#include "unittests/TempDirTest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

using namespace ponder;

namespace {

const char *kPositionsHeader =
    "position,token,scored,count,think_tokens,depth,think_depth,accuracy,nll\n";

// An addition example: prompt positions unscored (empty accuracy and nll),
// think tokens only before some targets (empty think_depth elsewhere), and
// tokens that gnuplot's reading could trip on: `#` (a comment unless told
// otherwise), quotes, a backslash.
const char *kPositions = "0,<bos>,0,64,0,1.25,,,\n"
                         "1,1,0,64,0,1.9,,,\n"
                         "2,#,0,64,0,2.1,,,\n"
                         "3,+,0,64,0,2.4,,,\n"
                         "4,',0,64,0,2.2,,,\n"
                         "5,\",0,64,0,2,,,\n"
                         "6,=,0,64,0.5,2.8,3.1,,\n"
                         "7,4,64,64,1.75,3.5,3.9,0.91,0.31\n"
                         "8,\\,64,64,2.5,3.9,4.2,0.875,0.42\n"
                         "9,<eos>,64,64,0,1.4,,1,0.01\n";

const char *kMetricsHeader =
    "step,loss,loss_ce,loss_ponder,loss_policy,grad_norm,learning_rate,"
    "mean_depth,tokens_per_s,heldout_accuracy,reward,advantage_std,"
    "think_per_verbal\n";

bool gnuplotInstalled() {
  const char *path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && access((dir + "/gnuplot").c_str(), X_OK) == 0)
      return true;
  return false;
}

class PlotTest : public TempDirTest {
protected:
  std::string write(const std::string &name, const std::string &text) {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }

  /// The bytes of `file`.
  static std::string read(const std::string &file) {
    std::ifstream in(file, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  }

  /// The files in the temporary directory, sorted.
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    for (const auto &entry : std::filesystem::directory_iterator(dir))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  /// Checks that `png` is a 1000x800 PNG of plausible size.
  static void expectPng(const std::string &png) {
    ASSERT_TRUE(std::filesystem::exists(png)) << png << " was not written";
    std::string bytes = read(png);
    ASSERT_GE(bytes.size(), 24u);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    // IHDR: width and height, big-endian, at bytes 16 and 20.
    auto be32 = [&](size_t at) {
      uint32_t v = 0;
      for (size_t i = 0; i < 4; ++i)
        v = v << 8 | static_cast<unsigned char>(bytes[at + i]);
      return v;
    };
    EXPECT_EQ(bytes.substr(12, 4), "IHDR");
    EXPECT_EQ(be32(16), 1000u);
    EXPECT_EQ(be32(20), 800u);
    // Axes, text and bars: far more than a blank image, far less than raw.
    EXPECT_GT(bytes.size(), 10000u);
    EXPECT_LT(bytes.size(), 4000000u);
  }
};

TEST_F(PlotTest, RendersPositionsAndMetricsWithEmptyFields) {
  if (!gnuplotInstalled())
    GTEST_SKIP() << "gnuplot is not installed (gnuplot-nox)";
  std::string positions =
      write("eval.csv", std::string(kPositionsHeader) + kPositions);
  // Held-out accuracy every 50 steps, reward from step 100 on: empty fields
  // on most rows.
  std::string metrics = kMetricsHeader;
  for (int step = 1; step <= 200; ++step) {
    std::ostringstream row;
    row << step << "," << 3.0 / step << ",0.5,0.01,0,1.2,0.001,2.5,9000,";
    if (step % 50 == 0)
      row << step / 200.0;
    row << ",";
    if (step >= 100)
      row << (step - 100) / 100.0;
    row << ",,\n";
    metrics += row.str();
  }
  std::string metricsPath = write("train.csv", metrics);
  std::string png = path("eval.png");
  Status s = plotEvaluation(positions, metricsPath, png,
                            "addition:2, \"a\".safetensors, it's thinking");
  ASSERT_TRUE(s) << s.message();
  expectPng(png);
  // No script or partial image is left behind.
  EXPECT_EQ(files(),
            (std::vector<std::string>{"eval.csv", "eval.png", "train.csv"}));
}

TEST_F(PlotTest, OlderMetricsAndSeriesWithoutValues) {
  if (!gnuplotInstalled())
    GTEST_SKIP() << "gnuplot is not installed (gnuplot-nox)";
  std::string positions =
      write("eval.csv", std::string(kPositionsHeader) + kPositions);
  // No reward columns; held-out accuracy empty on every row; the last row
  // cut short by a run that is still writing.
  std::string metrics = "step,loss,loss_ce,loss_ponder,loss_policy,grad_norm,"
                        "learning_rate,mean_depth,tokens_per_s,"
                        "heldout_accuracy\n";
  for (int step = 1; step <= 30; ++step)
    metrics += std::to_string(step) + "," + std::to_string(2.0 - step * 0.05) +
               ",1,0,0,1,0.001,2,9000,\n";
  metrics += "31,0.4";
  std::string png = path("eval.png");
  Status s =
      plotEvaluation(positions, write("train.csv", metrics), png, "parity");
  ASSERT_TRUE(s) << s.message();
  expectPng(png);
}

TEST_F(PlotTest, WithoutMetricsOnlyThePositions) {
  if (!gnuplotInstalled())
    GTEST_SKIP() << "gnuplot is not installed (gnuplot-nox)";
  // Many positions (labels rotated and thinned), no thinking at all, and a
  // metrics path that does not exist: a single panel.
  std::string csv = kPositionsHeader;
  for (int p = 0; p < 120; ++p)
    csv += std::to_string(p) + "," + std::string(1, char('a' + p % 26)) + "," +
           (p % 2 ? "16" : "0") + ",16,0," + std::to_string(1 + p % 4) +
           ",,,\n";
  std::string png = path("long.png");
  Status s = plotEvaluation(write("long.csv", csv), "", png, "no metrics");
  ASSERT_TRUE(s) << s.message();
  expectPng(png);
  s = plotEvaluation(path("long.csv"), path("absent.csv"), png, "absent");
  ASSERT_TRUE(s) << s.message();
  expectPng(png);
}

TEST_F(PlotTest, MissingPositionsIsAnErrorAndLeavesNoPng) {
  std::string png = path("eval.png");
  Status s = plotEvaluation(path("eval.csv"), "", png, "t");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), path("eval.csv") + ": no such file");
  EXPECT_TRUE(files().empty());
  std::filesystem::create_directory(path("dir.csv"));
  s = plotEvaluation(path("dir.csv"), "", png, "t");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), path("dir.csv") + ": not a regular file");
  EXPECT_EQ(files(), std::vector<std::string>{"dir.csv"});
}

TEST_F(PlotTest, BadCsvsNameTheFile) {
  if (!gnuplotInstalled())
    GTEST_SKIP() << "gnuplot is not installed (gnuplot-nox)";
  std::string png = path("eval.png");
  Status s = plotEvaluation(write("empty.csv", ""), "", png, "t");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), path("empty.csv") + ": empty file, expected a CSV "
                                             "header");
  s = plotEvaluation(write("header.csv", kPositionsHeader), "", png, "t");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), path("header.csv") + ": no rows after the header");
  s = plotEvaluation(write("cols.csv", "position,token\n0,a\n"), "", png, "t");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(),
            path("cols.csv") + ": no column 'depth' in the header");
  s = plotEvaluation(write("scored.csv", "position,token,depth\n0,a,1\n"), "",
                     png, "t");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(),
            path("scored.csv") + ": no column 'scored' in the header");
  std::string positions =
      write("eval.csv", std::string(kPositionsHeader) + kPositions);
  s = plotEvaluation(positions, write("train.csv", "loss\n1\n"), png, "t");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), path("train.csv") + ": no column 'step' in the "
                                             "header");
  s = plotEvaluation(positions, write("empty-train.csv", ""), png, "t");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), path("empty-train.csv") + ": empty file, expected a "
                                                   "CSV header");
  // Neither the PNG nor a partial one.
  for (const std::string &name : files())
    EXPECT_EQ(name.find(".png"), std::string::npos) << name << " left behind";
}

TEST_F(PlotTest, RowsGnuplotCannotReadAreLeftOut) {
  if (!gnuplotInstalled())
    GTEST_SKIP() << "gnuplot is not installed (gnuplot-nox)";
  // Byte-level tokens that the unquoted CSV cannot hold: a comma (one field
  // more: read as it stands, the row would bring 64 examples, 64 think
  // tokens and a think depth), a quote (gnuplot reads the rest of the line
  // as one string); and a depth that is not a number.
  std::string bad = std::string(kPositionsHeader) + "0,<bos>,0,1,0,1.5,,,\n" +
                    "1,,,64,64,0,2.5,,1,0.1\n" + "2,\",0,1,0,2,,,\n" +
                    "3,a,0,1,0,deep,,,\n" + "4,<eos>,1,1,0,3,,1,0.2\n";
  // The same picture: the comma's row without values, no quote row, no
  // depth at `a` (PNGs of the same plot are the same bytes).
  std::string same = std::string(kPositionsHeader) + "0,<bos>,0,1,0,1.5,,,\n" +
                     "1,,0,1,0,,,,\n" + "3,a,0,1,0,,,,\n" +
                     "4,<eos>,1,1,0,3,,1,0.2\n";
  Status s = plotEvaluation(write("bad.csv", bad), "", path("bad.png"), "t");
  ASSERT_TRUE(s) << s.message();
  s = plotEvaluation(write("same.csv", same), "", path("same.png"), "t");
  ASSERT_TRUE(s) << s.message();
  expectPng(path("bad.png"));
  EXPECT_TRUE(read(path("bad.png")) == read(path("same.png")))
      << "a row that gnuplot cannot read was drawn";
}

TEST_F(PlotTest, MetricsWithoutValuesDrawOnlyThePositions) {
  if (!gnuplotInstalled())
    GTEST_SKIP() << "gnuplot is not installed (gnuplot-nox)";
  // A run that has not logged its first step yet, and one whose steps have
  // no loss, accuracy or reward: the same picture as no metrics at all.
  std::string positions =
      write("eval.csv", std::string(kPositionsHeader) + kPositions);
  Status s = plotEvaluation(positions, "", path("none.png"), "t");
  ASSERT_TRUE(s) << s.message();
  expectPng(path("none.png"));
  s = plotEvaluation(positions, write("header.csv", kMetricsHeader),
                     path("header.png"), "t");
  ASSERT_TRUE(s) << s.message();
  EXPECT_TRUE(read(path("header.png")) == read(path("none.png")));
  s = plotEvaluation(positions,
                     write("empty.csv", std::string(kMetricsHeader) +
                                            "1,,,,,,,,,,,,\n2,,,,,,,,,,,,\n"),
                     path("empty.png"), "t");
  ASSERT_TRUE(s) << s.message();
  EXPECT_TRUE(read(path("empty.png")) == read(path("none.png")));
}

TEST_F(PlotTest, NamesAndTitleNeedNoQuoting) {
  if (!gnuplotInstalled())
    GTEST_SKIP() << "gnuplot is not installed (gnuplot-nox)";
  // gnuplot gets the names as arguments, never as script text.
  std::string odd = "it's \"a\" $x @y \\z";
  std::string positions =
      write(odd + ".csv", std::string(kPositionsHeader) + kPositions);
  std::string metrics = write(odd + ".metrics.csv",
                              std::string(kMetricsHeader) +
                                  "1,2.5,,,,,,,,0.5,,,\n2,2.25,,,,,,,,,,,\n");
  std::string png = path(odd + ".png");
  Status s = plotEvaluation(positions, metrics, png, odd + "\nline two");
  ASSERT_TRUE(s) << s.message();
  expectPng(png);
}

/// Sets PATH for the scope of a test.
class ScopedPath {
public:
  explicit ScopedPath(const std::string &value) {
    const char *old = std::getenv("PATH");
    hadOld = old != nullptr;
    if (old)
      saved = old;
    ::setenv("PATH", value.c_str(), 1);
  }
  ~ScopedPath() {
    if (hadOld)
      ::setenv("PATH", saved.c_str(), 1);
    else
      ::unsetenv("PATH");
  }

private:
  bool hadOld = false;
  std::string saved;
};

TEST_F(PlotTest, GnuplotNotOnPath) {
  std::string positions =
      write("eval.csv", std::string(kPositionsHeader) + kPositions);
  std::filesystem::create_directory(path("bin"));
  ScopedPath scoped(path("bin"));
  Status s = plotEvaluation(positions, "", path("eval.png"), "t");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), "gnuplot not found on PATH; install gnuplot-nox");
  EXPECT_FALSE(std::filesystem::exists(path("eval.png")));
}

TEST_F(PlotTest, GnuplotFailureKeepsTheOldPngAndLeavesNoPartial) {
  std::string positions =
      write("eval.csv", std::string(kPositionsHeader) + kPositions);
  // A gnuplot that writes half an image to the output, then fails the way
  // gnuplot does: the script line, a caret, the error, a detail.
  std::filesystem::create_directory(path("bin"));
  std::string fake = write(
      "bin/gnuplot", "#!/bin/sh\n"
                     "printf '\\211PNG' > '" +
                         path("eval.png.partial") +
                         "'\n"
                         "echo 'set output \"x\"' >&2\n"
                         "echo '             ^' >&2\n"
                         "echo '\"/tmp/plot.gp\" line 7: no such font' >&2\n"
                         "echo 'system error: oops' >&2\n"
                         "exit 1\n");
  ASSERT_EQ(::chmod(fake.c_str(), 0755), 0);
  std::string png = write("eval.png", "the previous plot");
  ScopedPath scoped(path("bin"));
  Status s = plotEvaluation(positions, "", png, "t");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), png + ": gnuplot failed (exit 1): line 7: no such "
                               "font (system error: oops)");
  EXPECT_EQ(read(png), "the previous plot");
  EXPECT_EQ(files(), (std::vector<std::string>{"bin", "eval.csv", "eval.png"}));
}

TEST_F(PlotTest, WhatGnuplotIsGivenAndHowItsEndsRead) {
  std::string positions =
      write("eval.csv", std::string(kPositionsHeader) + kPositions);
  std::string metrics = write("train.csv", kMetricsHeader);
  std::string png = path("eval.png"), partial = path("eval.png.partial");
  std::filesystem::create_directory(path("bin"));
  ScopedPath scoped(path("bin") + ":/usr/bin:/bin");
  // A fake gnuplot that keeps its arguments and its stdin, writes half an
  // image, then ends as `body` says.
  auto run = [&](const std::string &body) {
    std::string fake =
        write("bin/gnuplot",
              "#!/bin/sh\n"
              "printf '%s|' \"$@\" > '" +
                  path("args") + "'\n" + "cat > '" + path("stdin") + "'\n" +
                  "printf '\\211PNG' > '" + partial + "'\n" + body);
    EXPECT_EQ(::chmod(fake.c_str(), 0755), 0);
    return plotEvaluation(positions, metrics, png, "a title");
  };

  // The script rejects a CSV (exit status 3): its last line is the error.
  Status s = run("echo 'a warning'\necho 'x.csv: no column' >&2\nexit 3\n");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), "x.csv: no column");
  EXPECT_EQ(read(path("args")), "-d|-c|/dev/stdin|" + positions + "|" +
                                    metrics + "|" + partial + "|a title|");
  EXPECT_NE(read(path("stdin")).find("set datafile separator comma"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(partial));

  s = run("kill -9 $$\n");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), png + ": gnuplot was killed by signal 9");
  EXPECT_FALSE(std::filesystem::exists(partial));

  s = run("rm '" + partial + "'\n");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message(), png + ": gnuplot wrote no image");
  EXPECT_FALSE(std::filesystem::exists(png));
  EXPECT_FALSE(std::filesystem::exists(partial));

  // Success: the image moves into place; no metrics file, no metrics.
  s = run("exit 0\n");
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(read(png), "\211PNG");
  std::filesystem::remove(metrics);
  s = run("exit 0\n");
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(read(path("args")),
            "-d|-c|/dev/stdin|" + positions + "||" + partial + "|a title|");
  EXPECT_FALSE(std::filesystem::exists(partial));
}

} // namespace
