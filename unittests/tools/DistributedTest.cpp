//===- DistributedTest.cpp - `mpirun -np N ponder train`
//-------------------===//
//
// Data-parallel training (docs/distributed.md), run with Open MPI's mpirun
// --oversubscribe on whatever cores the machine has: 2 ranks with half the
// batch each give the loss curve and final weights of 1 rank with all of
// it, and of a plain single process, for every halting mode, with uneven
// shards (rows and token counts differ between the ranks) and with
// rollouts (--think); a 2-rank
// checkpoint resumes in 1 rank and the reverse; a killed rank ends the job
// within a bounded time, naming the rank. The tolerance: the ranks' sums
// of gradients round differently from one process's, by ~1e-7 relative a
// step; after 20 steps weights agree within 1e-4 of each tensor's largest
// magnitude and losses within 1e-4.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"
#include "unittests/TempDirTest.h"
#include "unittests/tools/Csv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

using namespace ponder;

namespace {

std::string modelText(const std::string &halting) {
  return "[model]\nverbal_vocab = 6\nthink_vocab = 0\nd_model = 16\n"
         "n_heads = 2\nd_ff = 32\nmax_seq = 12\n\n[depth]\nhalting = \"" +
         halting + "\"\nmax_steps = 4\nact_epsilon = 0.05\n";
}

/// The loss column of a metrics CSV.
std::vector<double> losses(const std::string &csv) {
  std::vector<double> out;
  for (const std::string &cell : csvColumn(csv, "loss"))
    out.push_back(std::stod(cell));
  return out;
}

::testing::AssertionResult close(const std::string &a, const std::string &b) {
  auto x = readSafetensors(a), y = readSafetensors(b);
  if (!x || !y)
    return ::testing::AssertionFailure() << "unreadable checkpoint";
  for (const auto &[name, t] : x->tensors) {
    const Tensor *u = y->find(name);
    if (!u || u->numel() != t.numel())
      return ::testing::AssertionFailure() << name << " differs in shape";
    double largest = 1e-6, worst = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      largest = std::max(largest, std::fabs(double(t.data<float>()[i])));
      worst = std::max(worst, std::fabs(double(t.data<float>()[i]) -
                                        double(u->data<float>()[i])));
    }
    if (worst > 1e-4 * largest)
      return ::testing::AssertionFailure() << name << " differs by " << worst
                                           << " (largest " << largest << ")";
  }
  return ::testing::AssertionSuccess();
}

class Distributed : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    if (std::system("command -v mpirun > /dev/null") != 0)
      GTEST_SKIP() << "mpirun not installed (Debian openmpi-bin)";
    setenv("PONDER_CACHE_DIR",
           (::testing::TempDir() + "/ponder_distributed_cache").c_str(), 1);
    // CI runs as root; mpirun refuses that unless told.
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  }
  /// `ponder ARGS` under mpirun with `ranks` ranks (0: no mpirun).
  int run(int ranks, const std::string &args) {
    std::string launcher =
        ranks ? "mpirun --oversubscribe -np " + std::to_string(ranks) + " "
              : "";
    return std::system((launcher + PONDER_PATH + " " + args + " > " +
                        path("out.txt") + " 2> " + path("err.txt"))
                           .c_str());
  }
  std::string train(const std::string &model, const std::string &task,
                    int batch, int steps, const std::string &out) {
    return "train " + path(model) + " --task " + task + " --batch " +
           std::to_string(batch) + " --steps " + std::to_string(steps) +
           " --lr 0.01 --seed 4 --threads 1 --eval-every 10 --out " + path(out);
  }
};

TEST_F(Distributed, TwoRanksTrainAsOne) {
  for (const char *halting : {"fixed", "act", "pondernet"}) {
    SCOPED_TRACE(halting);
    std::ofstream(path("m.toml")) << modelText(halting);
    // parity:1-6 rows differ in length; 5 rows split 2 + 3.
    for (auto [ranks, name] :
         {std::pair<int, const char *>{0, "plain"}, {1, "np1"}, {2, "np2"}})
      ASSERT_EQ(run(ranks, train("m.toml", "parity:1-6", 5, 20,
                                 std::string(name) + ".safetensors")),
                0)
          << slurp(path("err.txt"));
    std::vector<double> plain = losses(path("plain.csv")),
                        one = losses(path("np1.csv")),
                        two = losses(path("np2.csv"));
    ASSERT_EQ(two.size(), 20u);
    for (size_t i = 0; i < two.size(); ++i) {
      EXPECT_NEAR(two[i], one[i], 1e-4) << "step " << i + 1;
      EXPECT_NEAR(two[i], plain[i], 1e-4) << "step " << i + 1;
    }
    EXPECT_TRUE(close(path("np2.safetensors"), path("np1.safetensors")));
    EXPECT_TRUE(close(path("np2.safetensors"), path("plain.safetensors")));
  }
}

// Rollouts (--think): an example's G rollouts stay on its rank and sample
// from the streams of their global rows, so the ranks sample what one
// process samples; the rollout columns are summed over the ranks.
TEST_F(Distributed, RolloutsOverTwoRanksSampleAsOneProcess) {
  std::string model =
      std::string(PONDER_SOURCE_DIR) + "/examples/models/addition.toml";
  for (auto [ranks, name] :
       {std::pair<int, const char *>{0, "plain"}, {2, "np2"}}) {
    std::string args = "train " + model +
                       " --task addition:1 --steps 12 --batch 5 --think "
                       "--threads 1 --seed 2 --eval-every 100 --out " +
                       path(std::string(name) + ".safetensors");
    ASSERT_EQ(run(ranks, args), 0) << slurp(path("err.txt"));
  }
  std::vector<double> a = losses(path("np2.csv")),
                      b = losses(path("plain.csv"));
  ASSERT_EQ(a.size(), 12u);
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], b[i], 1e-4) << "step " << i + 1;
  EXPECT_TRUE(close(path("np2.safetensors"), path("plain.safetensors")));
  // The reward column is the whole batch's on both.
  EXPECT_EQ(csvColumn(path("np2.csv"), "reward"),
            csvColumn(path("plain.csv"), "reward"));
}

TEST_F(Distributed, CheckpointsResumeWithAnyNumberOfRanks) {
  std::ofstream(path("m.toml")) << modelText("act");
  std::string task = "parity:1-6";
  ASSERT_EQ(run(0, train("m.toml", task, 6, 10, "plain.safetensors")), 0);
  ASSERT_EQ(run(0, "train --resume " + path("plain.safetensors") +
                       " --steps 20 --threads 1"),
            0)
      << slurp(path("err.txt"));
  // Two ranks then one, and one then two.
  ASSERT_EQ(run(2, train("m.toml", task, 6, 10, "a.safetensors")), 0)
      << slurp(path("err.txt"));
  ASSERT_EQ(run(1, "train --resume " + path("a.safetensors") +
                       " --steps 20 --threads 1"),
            0)
      << slurp(path("err.txt"));
  ASSERT_EQ(run(1, train("m.toml", task, 6, 10, "b.safetensors")), 0);
  ASSERT_EQ(run(2, "train --resume " + path("b.safetensors") +
                       " --steps 20 --threads 1"),
            0)
      << slurp(path("err.txt"));
  EXPECT_TRUE(close(path("a.safetensors"), path("plain.safetensors")));
  EXPECT_TRUE(close(path("b.safetensors"), path("plain.safetensors")));
  std::vector<double> a = losses(path("a.csv")), p = losses(path("plain.csv"));
  ASSERT_EQ(a.size(), 20u);
  EXPECT_NEAR(a.back(), p.back(), 1e-4);
}

TEST_F(Distributed, BenchTrainReportsTheAllReduce) {
  std::ofstream(path("m.toml")) << modelText("act");
  ASSERT_EQ(run(2, "bench train " + path("m.toml") +
                       " --batch 4 --seq 8 --iters 2 --threads 1"),
            0)
      << slurp(path("err.txt"));
  std::string out = slurp(path("out.txt"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out; // rank 0
  EXPECT_NE(out.find("train  batch 4  seq 8"), std::string::npos) << out;
  EXPECT_NE(out.find("ranks 2  all-reduce median"), std::string::npos) << out;
}

TEST_F(Distributed, AKilledRankEndsTheJob) {
  std::ofstream(path("m.toml")) << modelText("act");
  // Rank 1 is killed (SIGKILL) 3 s into a run of many steps.
  std::string command =
      "mpirun --oversubscribe -np 2 sh -c 'if [ \"$OMPI_COMM_WORLD_RANK\" = 1 "
      "]; then (sleep 3; kill -9 $$) & fi; exec " +
      std::string(PONDER_PATH) + " " +
      train("m.toml", "parity:6", 8, 1000000, "k.safetensors") + "' > " +
      path("out.txt") + " 2> " + path("err.txt");
  auto began = std::chrono::steady_clock::now();
  EXPECT_NE(std::system(("timeout 120 " + command).c_str()), 0);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began)
          .count();
  EXPECT_LT(seconds, 60) << "the job hung after a rank died";
  std::string err = slurp(path("err.txt")) + slurp(path("out.txt"));
  EXPECT_NE(err.find("rank 1"), std::string::npos) << err;
}

} // namespace
