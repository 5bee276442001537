//===- PonderTrainTest.cpp - `ponder train` end to end --------------------===//
//
// A run killed mid-way and resumed from its last checkpoint follows exactly
// the loss trajectory of an uninterrupted run; checkpoints have MODEL.md §8's
// names and metadata and feed `ponder generate`; bad options are one line.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"
#include "unittests/tools/Csv.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace ponder;

namespace {

constexpr const char *kModel = "[model]\nverbal_vocab = 6\nthink_vocab = 0\n"
                               "d_model = 16\nn_heads = 2\nd_ff = 32\n"
                               "max_seq = 12\n\n[depth]\nhalting = \"act\"\n"
                               "max_steps = 4\nact_epsilon = 0.05\n";

/// The CSV's rows as "step,loss,..." without the timing column.
std::vector<std::string> trajectory(const std::string &csv) {
  std::vector<std::string> rows;
  std::stringstream in(slurp(csv));
  std::string line;
  std::getline(in, line); // header
  while (std::getline(in, line)) {
    // step,loss,ce,ponder,policy,grad_norm,lr,depth,tokens_per_s,accuracy,
    // reward,advantage_std,think_per_verbal,think_advantage
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');)
      cells.push_back(cell);
    cells.resize(14);
    cells[8].clear(); // tokens/s depends on the machine's load
    std::string kept;
    for (const std::string &c : cells)
      kept += c + ",";
    rows.push_back(kept);
  }
  return rows;
}

/// True if both files hold the same tensors with the same bytes.
::testing::AssertionResult sameTensors(const std::string &a,
                                       const std::string &b) {
  auto x = readSafetensors(a), y = readSafetensors(b);
  if (!x || !y)
    return ::testing::AssertionFailure() << "unreadable checkpoint";
  if (x->tensors.size() != y->tensors.size())
    return ::testing::AssertionFailure() << "different tensor counts";
  for (size_t i = 0; i < x->tensors.size(); ++i) {
    const auto &[name, t] = x->tensors[i];
    const Tensor *u = y->find(name);
    if (!u || u->shape() != t.shape() ||
        std::memcmp(u->bytes(), t.bytes(), t.byteSize()) != 0)
      return ::testing::AssertionFailure() << "'" << name << "' differs";
  }
  return ::testing::AssertionSuccess();
}

class PonderTrain : public ::testing::Test {
protected:
  void SetUp() override {
    // One directory per test (ctest runs them in parallel); one shared
    // compile cache, which ponder writes atomically.
    dir = ::testing::TempDir() + "/ponder_train_" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()),
              0);
    setenv("PONDER_CACHE_DIR", (::testing::TempDir() + "/ponder_cache").c_str(),
           1);
    model = dir + "/model.toml";
    std::ofstream(model) << kModel;
  }
  int ponder(const std::string &args) {
    return std::system((std::string(PONDER_PATH) + " " + args + " > " + dir +
                        "/out.txt 2> " + dir + "/err.txt")
                           .c_str());
  }
  /// Starts `ponder ARGS` in the background, its output discarded.
  static pid_t start(const std::string &args) {
    pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c",
            ("exec " + std::string(PONDER_PATH) + " " + args +
             " > /dev/null 2>&1")
                .c_str(),
            static_cast<char *>(nullptr));
      _exit(127);
    }
    return pid;
  }
  /// Kills `pid` with SIGKILL and reaps it; true if the signal ended it
  /// (false if it had already finished).
  static bool killNow(pid_t pid) {
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status);
  }
  /// Starts `ponder ARGS`, waits until `file` exists (up to 10 s) and kills
  /// the run with SIGKILL: a crash at an arbitrary point after a save.
  static void killOnceWritten(const std::string &args,
                              const std::string &file) {
    pid_t pid = start(args);
    for (int i = 0; i < 2000 && !std::ifstream(file).good(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    killNow(pid);
  }

  std::string dir, model;
};

TEST_F(PonderTrain, KillAndResumeFollowsTheSameTrajectory) {
  std::string common = "train " + model +
                       " --task parity:6 --steps 60 --batch 8 --lr 0.01 "
                       "--eval-every 20 --save-every 5 --seed 3";
  ASSERT_EQ(ponder(common + " --out " + dir + "/full.safetensors"), 0)
      << slurp(dir + "/err.txt");
  std::vector<std::string> full = trajectory(dir + "/full.csv");
  ASSERT_EQ(full.size(), 60u);

  // Start the same run, kill it once a checkpoint exists, then resume.
  std::string cut = dir + "/cut.safetensors";
  killOnceWritten(common + " --out " + cut, cut);
  ASSERT_TRUE(std::ifstream(cut).good());
  auto checkpoint = readSafetensors(cut);
  ASSERT_TRUE(checkpoint) << checkpoint.getStatus().message();
  int64_t step = std::stoll(checkpoint->metadata.at("step"));
  ASSERT_GE(step, 5);
  if (step < 60) {
    ASSERT_EQ(ponder("train " + model +
                     " --steps 60 --eval-every 20 "
                     "--save-every 5 --resume " +
                     cut),
              0)
        << slurp(dir + "/err.txt");
  }
  EXPECT_EQ(trajectory(dir + "/cut.csv"), full);

  // The checkpoint: parameters, adam moments, the model and the step.
  auto final = readSafetensors(cut);
  ASSERT_TRUE(final);
  EXPECT_EQ(final->metadata.at("step"), "60");
  EXPECT_EQ(final->metadata.at("model"), kModel);
  EXPECT_EQ(final->metadata.at("task"), "parity:6");
  EXPECT_TRUE(final->find("block.ffn.up.weight"));
  EXPECT_TRUE(final->find("adam.m.block.ffn.up.weight"));
  EXPECT_TRUE(final->find("adam.v.halt.bias"));
  // It generates.
  EXPECT_EQ(ponder("generate " + model + " --weights " + cut +
                   " --vocab parity --prompt 010|"),
            0)
      << slurp(dir + "/err.txt");
}

// Rollouts are drawn from (seed, step): a --think run killed after a
// checkpoint and resumed repeats the uninterrupted one, rewards and
// advantages included.
TEST_F(PonderTrain, ThinkingRunResumesOnTheSameTrajectory) {
  std::string thinking = kModel;
  thinking.replace(thinking.find("think_vocab = 0"), 15, "think_vocab = 3");
  thinking += "[think]\nmax_think = 2\nrollouts = 3\n";
  std::ofstream(dir + "/think.toml") << thinking;
  std::string common = "train " + dir +
                       "/think.toml --task parity:4 --think --steps 40 "
                       "--batch 4 --lr 0.01 --save-every 4 --seed 2";
  ASSERT_EQ(ponder(common + " --out " + dir + "/full.safetensors"), 0)
      << slurp(dir + "/err.txt");
  std::vector<std::string> full = trajectory(dir + "/full.csv");
  ASSERT_EQ(full.size(), 40u);
  for (const std::string &row : full) // reward and the rest on every row
    EXPECT_EQ(row.find(",,,,,"), std::string::npos) << row;

  std::string cut = dir + "/cut.safetensors";
  killOnceWritten(common + " --out " + cut, cut);
  auto checkpoint = readSafetensors(cut);
  ASSERT_TRUE(checkpoint) << checkpoint.getStatus().message();
  if (std::stoll(checkpoint->metadata.at("step")) < 40)
    ASSERT_EQ(ponder("train " + dir + "/think.toml --steps 40 --resume " + cut),
              0)
        << slurp(dir + "/err.txt");
  EXPECT_EQ(trajectory(dir + "/cut.csv"), full);
}

// Saves are atomic (write, fsync, rename): a run killed with SIGKILL at
// any moment, here over and over while it saves after every step, leaves
// the last checkpoint readable, and resuming from wherever it stopped ends
// on the uninterrupted run's trajectory, bit for bit.
TEST_F(PonderTrain, RepeatedKillsDuringSavesKeepTheCheckpoint) {
  std::string common = "train " + model +
                       " --task parity:4 --steps 30 --batch 4 --lr 0.01 "
                       "--eval-every 10 --save-every 1 --seed 5";
  ASSERT_EQ(ponder(common + " --out " + dir + "/full.safetensors"), 0)
      << slurp(dir + "/err.txt");
  std::vector<std::string> full = trajectory(dir + "/full.csv");
  ASSERT_EQ(full.size(), 30u);

  std::string cut = dir + "/cut.safetensors";
  int64_t last = 0;
  int kills = 0;
  // Each round waits for the next save to land, then kills the run 0-9 ms
  // later: in the step after it or in the middle of the following save.
  auto saved = [&] { // the checkpoint's modification time, or -1
    struct stat st;
    if (stat(cut.c_str(), &st) != 0)
      return int64_t(-1);
    return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  };
  for (int delay = 0; delay < 10 && last < 30; ++delay) {
    int64_t before = saved();
    std::string args = before >= 0 ? "train " + model +
                                         " --steps 30 --eval-every 10 "
                                         "--save-every 1 --resume " +
                                         cut
                                   : common + " --out " + cut;
    pid_t pid = start(args);
    for (int i = 0; i < 2000 && saved() == before; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    kills += killNow(pid);
    if (!std::ifstream(cut).good())
      continue;
    auto checkpoint = readSafetensors(cut);
    ASSERT_TRUE(checkpoint) << "after a kill at " << delay
                            << " ms: " << checkpoint.getStatus().message();
    int64_t step = std::stoll(checkpoint->metadata.at("step"));
    EXPECT_GE(step, last);
    last = step;
  }
  EXPECT_GT(kills, 0);
  if (last < 30)
    ASSERT_EQ(ponder("train " + model +
                     " --steps 30 --eval-every 10 --save-every 1 --resume " +
                     cut),
              0)
        << slurp(dir + "/err.txt");
  EXPECT_EQ(trajectory(dir + "/cut.csv"), full);
  // Bit for bit: the resumed run ends on exactly the uninterrupted weights
  // and moments.
  EXPECT_TRUE(sameTensors(dir + "/full.safetensors", cut));
  // And a second uninterrupted run with the same seed does too.
  ASSERT_EQ(ponder(common + " --out " + dir + "/again.safetensors"), 0)
      << slurp(dir + "/err.txt");
  EXPECT_TRUE(
      sameTensors(dir + "/full.safetensors", dir + "/again.safetensors"));
}

// A step whose loss overflows is refused with one line; the checkpoint of
// the last good step stays, readable and finite.
TEST_F(PonderTrain, NonFiniteLossStopsAndKeepsTheCheckpoint) {
  std::string out = dir + "/t.safetensors";
  // AdamW moves every weight by about the learning rate per step: at 1e30
  // the activations overflow after the first update.
  EXPECT_NE(ponder("train " + model +
                   " --task parity:4 --steps 20 --batch 4 --lr 1e30 "
                   "--save-every 1 --out " +
                   out),
            0);
  std::string err = slurp(dir + "/err.txt");
  EXPECT_NE(err.find(": the loss is "), std::string::npos) << err;
  EXPECT_NE(err.find("; the step is not applied; the last checkpoint is kept"),
            std::string::npos)
      << err;
  // Progress lines come first (stderr is not a terminal here); the error
  // is the one last line.
  size_t at = err.find("ponder: step ");
  EXPECT_EQ(err.find('\n', at), err.size() - 1) << err;
  ASSERT_NE(at, std::string::npos) << err;
  int64_t failed = std::stoll(err.substr(at + 13));
  auto checkpoint = readSafetensors(out);
  ASSERT_TRUE(checkpoint) << checkpoint.getStatus().message();
  EXPECT_EQ(std::stoll(checkpoint->metadata.at("step")), failed - 1);
  for (const auto &[name, t] : checkpoint->tensors)
    EXPECT_TRUE(checkFinite(t, name).isOk()) << name;
}

TEST_F(PonderTrain, BadOptionsAreOneLine) {
  auto failure = [&](const std::string &args) {
    EXPECT_NE(ponder(args), 0) << args;
    return slurp(dir + "/err.txt");
  };
  std::string t = "train " + model;
  EXPECT_EQ(failure(t + " --steps 5 --out " + dir + "/x.safetensors"),
            "ponder: missing option '--task' (or --data)\n");
  EXPECT_EQ(failure(t + " --task parity --steps 5"),
            "ponder: missing option '--out'\n");
  EXPECT_EQ(failure(t + " --task sorting --steps 5 --out " + dir + "/x"),
            "ponder: unknown task 'sorting' (parity[:BITS], addition[:DIGITS], "
            "multiplication[:DIGITS], reverse[:LENGTH], permutations[:N[:K]], "
            "oracle-mix, text:FILE)\n");
  EXPECT_EQ(failure(t + " --task addition --steps 5 --out " + dir + "/x"),
            "ponder: task 'addition' needs 16 verbal ids, the model has "
            "verbal_vocab = 6\n");
  EXPECT_EQ(failure(t + " --task parity --steps 0 --out " + dir + "/x"),
            "ponder: --steps: expected an integer >= 1, got '0'\n");
  EXPECT_EQ(failure(t + " --task parity --steps 5 --lr -1 --out " + dir + "/x"),
            "ponder: --lr: expected a number >= 0, got '-1'\n");
  ASSERT_EQ(ponder(t + " --task parity:4 --steps 2 --batch 2 --out " + dir +
                   "/r.safetensors"),
            0)
      << slurp(dir + "/err.txt");
  EXPECT_EQ(
      failure(t + " --steps 4 --batch 3 --resume " + dir + "/r.safetensors"),
      "ponder: --batch 3 differs from the resumed run's 2\n");
  EXPECT_EQ(failure(t + " --steps 2 --resume " + dir + "/r.safetensors"),
            "ponder: the checkpoint is at step 2, nothing to do for --steps "
            "2\n");
  // Without --steps a resume goes to the planned last step: here, done.
  EXPECT_EQ(failure("train --resume " + dir + "/r.safetensors"),
            "ponder: the checkpoint is at step 2, nothing to do for --steps "
            "2\n");
  EXPECT_EQ(failure(t + " --task parity --out " + dir + "/x"),
            "ponder: missing option '--steps'\n");
  std::string other = kModel;
  other.replace(other.find("d_ff = 32"), 9, "d_ff = 24");
  std::ofstream(dir + "/other.toml") << other;
  EXPECT_NE(failure("train " + dir + "/other.toml --steps 4 --resume " + dir +
                    "/r.safetensors")
                .find("the checkpoint is of another model description"),
            std::string::npos);

  // Thinking and reference targets need a model that has them.
  EXPECT_EQ(
      failure(t + " --task parity:4 --steps 2 --think --out " + dir + "/x"),
      "ponder: --think: " + model +
          " has no think tokens to sample (think_vocab or max_think is "
          "0)\n");
  EXPECT_EQ(failure(t + " --task parity:4 --steps 2 --reference " + dir +
                    "/r.safetensors --out " + dir + "/x"),
            "ponder: --reference: a reference model is only used by models "
            "with [loss] reference_mix > 0\n");
  EXPECT_EQ(failure("eval " + model + " --weights " + dir +
                    "/r.safetensors --task parity:4 --think"),
            "ponder: --think: " + model +
                " has no think tokens (think_vocab or max_think is 0)\n");
  std::string mixed = kModel + std::string("[loss]\nreference_mix = 0.5\n");
  std::ofstream(dir + "/mixed.toml") << mixed;
  EXPECT_EQ(failure("train " + dir +
                    "/mixed.toml --task parity:4 --steps 2 "
                    "--out " +
                    dir + "/x"),
            "ponder: step 1: the model has [loss] reference_mix > 0 and needs "
            "a reference model (ponder train --reference CKPT)\n");
  EXPECT_EQ(failure("train " + dir +
                    "/mixed.toml --task parity:4 --steps 2 "
                    "--reference " +
                    dir + "/missing.safetensors --out " + dir + "/x"),
            dir + "/missing.safetensors: cannot open: No such file or "
                  "directory\n");
  // A reference of the same description trains.
  EXPECT_EQ(ponder("train " + dir +
                   "/mixed.toml --task parity:4 --steps 2 "
                   "--batch 2 --reference " +
                   dir + "/r.safetensors --reference-model " + model +
                   " --out " + dir + "/m.safetensors"),
            0)
      << slurp(dir + "/err.txt");
}

} // namespace

namespace {

// MODEL.md's adaptive-depth example end to end: the act parity model trained
// with a curriculum of 1- to 8-bit strings (as in Graves' ACT parity task)
// gets at least 99% of held-out 8-bit strings right: strings it never saw.
// A fixed seed and a step budget, not a wall-clock limit.
TEST(PonderTrainParity, LearnsEightBitParity) {
  std::string dir = ::testing::TempDir() + "/ponder_train_parity";
  ASSERT_EQ(std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()), 0);
  setenv("PONDER_CACHE_DIR", (::testing::TempDir() + "/ponder_cache").c_str(),
         1);
  std::string ponder = PONDER_PATH;
  std::string model =
      std::string(PONDER_SOURCE_DIR) + "/examples/models/parity.toml";
  std::string train = ponder + " train " + model +
                      " --task parity:1-8 --steps 2500 --batch 64 --lr 0.003 "
                      "--seed 0 --out " +
                      dir + "/p.safetensors > " + dir + "/train.txt 2>&1";
  ASSERT_EQ(std::system(train.c_str()), 0) << slurp(dir + "/train.txt");
  std::string eval = ponder + " eval " + model + " --weights " + dir +
                     "/p.safetensors --task parity:8 --examples 512 > " + dir +
                     "/eval.txt 2>&1";
  ASSERT_EQ(std::system(eval.c_str()), 0) << slurp(dir + "/eval.txt");
  std::string line = slurp(dir + "/eval.txt");
  size_t at = line.find("accuracy ");
  ASSERT_NE(at, std::string::npos) << line;
  double accuracy = std::stod(line.substr(at + 9));
  EXPECT_GE(accuracy, 99.0) << line << slurp(dir + "/train.txt");
}

} // namespace

namespace {

/// The value of CSV column `column` in every row of `csv`.
std::vector<double> column(const std::string &csv, size_t column) {
  std::vector<double> values;
  for (const std::string &row : trajectory(csv)) {
    std::stringstream cells(row);
    std::string cell;
    for (size_t i = 0; i <= column; ++i)
      std::getline(cells, cell, ',');
    values.push_back(std::stod(cell));
  }
  return values;
}

TEST_F(PonderTrain, SigintSavesACheckpointAtTheStepReached) {
  std::string out = dir + "/t.safetensors";
  pid_t pid = fork();
  if (pid == 0) {
    std::string command = std::string(PONDER_PATH) + " train " + model +
                          " --task parity:4 --steps 100000 --batch 4 "
                          "--save-every 100000 --out " +
                          out + " > /dev/null 2> " + dir + "/err.txt";
    execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(),
          static_cast<char *>(nullptr));
    _exit(127);
  }
  // Wait for a few steps in the metrics, then interrupt.
  std::string csv = dir + "/t.csv";
  for (int i = 0; i < 4000 && trajectory(csv).size() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_FALSE(std::ifstream(out).good()) << "saved before the signal";
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
  auto checkpoint = readSafetensors(out);
  ASSERT_TRUE(checkpoint) << checkpoint.getStatus().message();
  int64_t step = std::stoll(checkpoint->metadata.at("step"));
  EXPECT_GE(step, 3);
  EXPECT_EQ(int64_t(trajectory(csv).size()), step);
  std::string err = slurp(dir + "/err.txt");
  EXPECT_NE(err.find("ponder: stopped by signal 2 at step " +
                     std::to_string(step) + "; checkpoint " + out),
            std::string::npos)
      << err;
  // It resumes from there.
  EXPECT_EQ(ponder("train " + model + " --steps " + std::to_string(step + 2) +
                   " --resume " + out),
            0)
      << slurp(dir + "/err.txt");
}

TEST_F(PonderTrain, ALongerResumeContinuesTheLearningRate) {
  std::string out = dir + "/t.safetensors";
  ASSERT_EQ(ponder("train " + model +
                   " --task parity:4 --steps 20 --batch 4 --out " + out),
            0)
      << slurp(dir + "/err.txt");
  // An edited comment leaves the model the same.
  std::ofstream(model) << "# edited\n" << kModel;
  ASSERT_EQ(ponder("train " + model + " --steps 40 --resume " + out), 0)
      << slurp(dir + "/err.txt");
  std::vector<double> rates = column(dir + "/t.csv", 6);
  ASSERT_EQ(rates.size(), 40u);
  EXPECT_LE(rates[20], rates[19] * (1 + 1e-6));
  for (size_t s = 20; s + 1 < rates.size(); ++s)
    EXPECT_LE(rates[s + 1], rates[s] * (1 + 1e-6)) << s;
}

TEST_F(PonderTrain, InitFromFineTunesGivenWeightsOnAnotherTask) {
  std::string base = dir + "/base.safetensors";
  ASSERT_EQ(ponder("train " + model +
                   " --task parity:4 --steps 60 --batch 8 --lr 0.01 --out " +
                   base),
            0)
      << slurp(dir + "/err.txt");
  std::string tuned = dir + "/tuned.safetensors";
  ASSERT_EQ(ponder("train " + model +
                   " --task parity:6 --steps 2 --batch 8 --init-from " + base +
                   " --out " + tuned),
            0)
      << slurp(dir + "/err.txt");
  auto c = readSafetensors(tuned);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->metadata.at("init_from"), base);
  EXPECT_EQ(c->metadata.at("task"), "parity:6");
  EXPECT_EQ(c->metadata.at("step"), "2");
  // Its first step starts from the trained weights: a lower loss than a
  // fresh run's first step.
  ASSERT_EQ(ponder("train " + model +
                   " --task parity:6 --steps 2 --batch 8 --out " + dir +
                   "/fresh.safetensors"),
            0);
  EXPECT_LT(column(dir + "/tuned.csv", 1)[0], column(dir + "/fresh.csv", 1)[0]);
  EXPECT_NE(ponder("train " + model + " --steps 4 --init-from " + base +
                   " --resume " + tuned),
            0);
  EXPECT_EQ(slurp(dir + "/err.txt"),
            "ponder: --resume and --init-from: give one\n");
}

} // namespace

namespace {

/// A model with think ids for placed and chosen thoughts.
std::string thinkingModel(int64_t maxThink = 2,
                          const std::string &channel = "token") {
  std::string text = kModel;
  text.replace(text.find("think_vocab = 0"), 15, "think_vocab = 3");
  text.replace(text.find("max_seq = 12"), 12, "max_seq = 16");
  return text + "[think]\nmax_think = " + std::to_string(maxThink) +
         "\nrollouts = 3\nchannel = \"" + channel + "\"\n";
}

/// Column `name` of a metrics CSV, row by row (empty fields kept).

// Placed thoughts: the slots are in every batch (4 per 4-bit parity
// answer), the policy term (the think-vs-speak cross-entropy) falls, and
// the model then thinks at the slots by itself; the checkpoint keeps the
// slots for a resume and for `ponder eval`.
TEST_F(PonderTrain, PlacedThoughtsTeachTheModelWhereToThink) {
  std::ofstream(dir + "/think.toml") << thinkingModel();
  std::string out = dir + "/p.safetensors";
  ASSERT_EQ(ponder("train " + dir +
                   "/think.toml --task parity:4 --thought-slots "
                   "after-prompt:1 --steps 80 --batch 16 --lr 0.01 --out " +
                   out),
            0)
      << slurp(dir + "/err.txt");
  std::vector<std::string> slots =
      csvColumn(dir + "/p.csv", "thoughts_per_answer");
  ASSERT_EQ(slots.size(), 80u);
  for (const std::string &v : slots)
    EXPECT_EQ(v, "4");
  std::vector<double> policy = column(dir + "/p.csv", 4);
  EXPECT_LT(policy.back(), policy.front() / 20)
      << policy.front() << " -> " << policy.back();
  std::vector<std::string> chosen =
      csvColumn(dir + "/p.csv", "heldout_thoughts_per_answer");
  EXPECT_NEAR(std::stod(chosen.back()), 4.0, 0.25);
  EXPECT_NE(csvColumn(dir + "/p.csv", "heldout_flops_per_answer").back(), "");
  EXPECT_NE(slurp(dir + "/out.txt").find("thoughts per answer"),
            std::string::npos);
  auto c = readSafetensors(out);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->metadata.at("thought_slots"), "after-prompt:1");

  EXPECT_NE(ponder("train --steps 90 --thought-slots before-answer:1 "
                   "--resume " +
                   out),
            0);
  EXPECT_EQ(slurp(dir + "/err.txt"),
            "ponder: --thought-slots before-answer:1 differs from the resumed "
            "run's after-prompt:1\n");
  ASSERT_EQ(ponder("train --steps 82 --resume " + out), 0)
      << slurp(dir + "/err.txt");
  EXPECT_EQ(csvColumn(dir + "/p.csv", "thoughts_per_answer").size(), 82u);

  // Evaluation: chosen (the default for its slots) and forced thoughts.
  ASSERT_EQ(ponder("eval --weights " + out + " --think --examples 32"), 0)
      << slurp(dir + "/err.txt");
  std::string chosenReport = slurp(dir + "/out.txt");
  EXPECT_NE(chosenReport.find("(greedy, thinking before every token)"),
            std::string::npos)
      << chosenReport;
  ASSERT_EQ(ponder("eval --weights " + out + " --forced-slots --examples 32"),
            0)
      << slurp(dir + "/err.txt");
  std::string forced = slurp(dir + "/out.txt");
  EXPECT_NE(forced.find("(thoughts forced at after-prompt:1)"),
            std::string::npos)
      << forced;
  EXPECT_NE(forced.find("\n4.000 thoughts per answer; 12.00 tokens decoded "
                        "per answer"),
            std::string::npos)
      << forced;
}

// Under channel "hidden" (thoughts read the previous state, MODEL.md §9)
// placed thoughts train through the chain and the model emits them itself;
// rollouts with the grouped decision and the information gain run.
TEST_F(PonderTrain, HiddenThoughtsPlacedAndChosen) {
  std::string hidden = thinkingModel(2, "hidden");
  std::ofstream(dir + "/hidden.toml") << hidden;
  std::string out = dir + "/h.safetensors";
  ASSERT_EQ(ponder("train " + dir +
                   "/hidden.toml --task parity:4 --thought-slots "
                   "after-prompt:1 --steps 80 --batch 16 --lr 0.01 --out " +
                   out),
            0)
      << slurp(dir + "/err.txt");
  std::vector<std::string> chosen =
      csvColumn(dir + "/h.csv", "heldout_thoughts_per_answer");
  ASSERT_EQ(chosen.size(), 80u);
  EXPECT_NEAR(std::stod(chosen.back()), 4.0, 0.25);
  // Chosen at the slots, the walk is the forced one: the same NLL.
  auto nllOf = [&](const std::string &flags) {
    EXPECT_EQ(ponder("eval --weights " + out + " --examples 32 " + flags), 0)
        << slurp(dir + "/err.txt");
    std::string report = slurp(dir + "/out.txt");
    return report.substr(report.find("verbal NLL"), 20);
  };
  EXPECT_EQ(nllOf("--think"), nllOf("--forced-slots"));

  std::ofstream(dir + "/gain.toml")
      << hidden + "reward = \"information_gain\"\n";
  ASSERT_EQ(ponder("train " + dir +
                   "/gain.toml --task parity:4 --think --think-at all "
                   "--think-floor 0.2 --return-to-go --steps 4 --batch 4 "
                   "--out " +
                   dir + "/g.safetensors"),
            0)
      << slurp(dir + "/err.txt");
  for (const std::string &v : csvColumn(dir + "/g.csv", "thoughts_per_answer"))
    EXPECT_GT(std::stod(v), 0.0); // the floor makes rollouts think
}

// The rollout options are settings of the run: kept in the checkpoint,
// restored by a resume and refused when a resume names other values.
TEST_F(PonderTrain, ChosenThoughtOptionsAreKeptForAResume) {
  std::ofstream(dir + "/think.toml") << thinkingModel();
  std::string out = dir + "/c.safetensors";
  ASSERT_EQ(ponder("train " + dir +
                   "/think.toml --task parity:4 --think --think-at all "
                   "--think-floor 0.25 --think-cost 0.01 --return-to-go "
                   "--clamp-advantages --steps 4 --batch 4 --out " +
                   out),
            0)
      << slurp(dir + "/err.txt");
  auto c = readSafetensors(out);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->metadata.at("think_at"), "all");
  EXPECT_EQ(c->metadata.at("think_floor"), "0.25");
  EXPECT_EQ(c->metadata.at("think_cost"), "0.01");
  EXPECT_EQ(c->metadata.at("return_to_go"), "1");
  EXPECT_EQ(c->metadata.at("clamp_advantages"), "1");
  for (const std::string &v : csvColumn(dir + "/c.csv", "thoughts_per_answer"))
    EXPECT_NE(v, "");
  EXPECT_NE(ponder("train --steps 6 --think-floor 0.5 --resume " + out), 0);
  EXPECT_EQ(slurp(dir + "/err.txt"),
            "ponder: --think-floor 0.5 differs from the resumed run's 0.25\n");
  EXPECT_EQ(ponder("train --steps 6 --resume " + out), 0)
      << slurp(dir + "/err.txt");
}

TEST_F(PonderTrain, BadThinkingOptionsAreOneLine) {
  auto failure = [&](const std::string &args) {
    EXPECT_NE(ponder(args), 0) << args;
    return slurp(dir + "/err.txt");
  };
  std::ofstream(dir + "/think.toml") << thinkingModel();
  std::string t = "train " + model + " --task parity:4 --steps 2 --out " + dir +
                  "/x.safetensors";
  std::string thinking = "train " + dir +
                         "/think.toml --task parity:4 --steps 2 --out " + dir +
                         "/x.safetensors";
  EXPECT_EQ(failure(t + " --thought-slots middle:1"),
            "ponder: --thought-slots: expected after-prompt:K or "
            "before-answer:K (K from 1 to 64), got 'middle:1'\n");
  EXPECT_EQ(failure(t + " --thought-slots after-prompt:1"),
            "ponder: --thought-slots after-prompt:1: " + model +
                " has no think ids (think_vocab is 0)\n");
  EXPECT_EQ(failure(thinking + " --thought-slots after-prompt:3"),
            "ponder: --thought-slots after-prompt:3: " + dir +
                "/think.toml allows max_think = 2 thoughts in a row, fewer "
                "than 3 per slot\n");
  // parity:7 has 11 tokens; a slot after each of its bits makes 18.
  EXPECT_EQ(failure("train " + dir +
                    "/think.toml --task parity:7 --steps 2 --thought-slots "
                    "after-prompt:1 --out " +
                    dir + "/x.safetensors"),
            "ponder: --thought-slots: thought slots after-prompt:1 make an "
            "example of 11 tokens 18 long, more than max_seq = 16\n");
  EXPECT_EQ(failure(thinking + " --thought-slots after-prompt:1 --think"),
            "ponder: --thought-slots and --think: give one (placed thoughts "
            "train by back-propagation, chosen ones by rollouts)\n");
  EXPECT_EQ(failure(thinking + " --think-cost 0.1"),
            "ponder: --think-cost needs --think (it shapes rollouts)\n");
  EXPECT_EQ(failure(thinking + " --return-to-go"),
            "ponder: --return-to-go needs --think (it shapes rollouts)\n");
  EXPECT_EQ(failure(thinking + " --think --think-floor 1.5"),
            "ponder: --think-floor: expected a number from 0 to 1, got "
            "'1.5'\n");
  EXPECT_EQ(failure(thinking + " --think --think-at everywhere"),
            "ponder: --think-at: expected answer, prompt or all, got "
            "'everywhere'\n");
  // ponder eval: forced slots need slots, and not --think as well.
  std::string w = dir + "/w.safetensors";
  ASSERT_EQ(ponder(thinking.substr(0, thinking.find(" --out")) + " --out " + w),
            0)
      << slurp(dir + "/err.txt");
  EXPECT_EQ(failure("eval --weights " + w + " --forced-slots"),
            "ponder: --forced-slots: give --thought-slots SPEC (" + w +
                " records none)\n");
  EXPECT_EQ(failure("eval --weights " + w +
                    " --forced-slots --think --thought-slots after-prompt:1"),
            "ponder: --forced-slots and --think: give one (thoughts forced at "
            "the slots or chosen)\n");
  EXPECT_EQ(failure("eval --weights " + w +
                    " --task parity:7 --forced-slots --thought-slots "
                    "after-prompt:1"),
            "ponder: thought slots after-prompt:1 make an example of 11 "
            "tokens 18 long, more than max_seq = 16\n");
  // The random-thoughts control needs hidden-state thoughts: one line.
  std::string noHidden = failure("eval --weights " + w + " --random-thoughts");
  EXPECT_EQ(noHidden.rfind("ponder: --random-thoughts: ", 0), 0u) << noHidden;
  EXPECT_NE(noHidden.find("has no hidden-state thoughts ([think] channel = "
                          "\"hidden\")\n"),
            std::string::npos)
      << noHidden;
  EXPECT_EQ(std::count(noHidden.begin(), noHidden.end(), '\n'), 1);
  std::string badStd = failure(thinking + " --embed-std 0");
  EXPECT_NE(badStd.find("--embed-std"), std::string::npos) << badStd;
  EXPECT_EQ(std::count(badStd.begin(), badStd.end(), '\n'), 1) << badStd;
}

} // namespace
