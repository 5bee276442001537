//===- CudaBackendTest.cpp - `--device cuda` without a GPU ----------------===//
//
// The CUDA backend on machines without a GPU: no driver and no device give
// one clear line; with a stand-in driver (FakeCudaDriver.cpp) the host side of
// a CUDA artifact runs for real: binding, kernel-module load, every launch
// with a valid geometry and a kernel of the compiled module, and a failing
// launch reported as one line with no output left behind.
//
//===----------------------------------------------------------------------===//

#include "unittests/TempDirTest.h"

#include "runtime/Artifact.h"
#include "runtime/Safetensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

using namespace ponder;

namespace {

constexpr const char *kModel = "[model]\nverbal_vocab = 6\nthink_vocab = 2\n"
                               "d_model = 16\nn_heads = 2\nd_ff = 32\n"
                               "max_seq = 12\n\n[depth]\nhalting = \"act\"\n"
                               "max_steps = 3\nact_epsilon = 0.05\n";

class CudaBackend : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    // One compile cache for every test: the cuda artifact is built once.
    setenv("PONDER_CACHE_DIR",
           (::testing::TempDir() + "/ponder_cuda_cache").c_str(), 1);
    setenv("PONDER_LIBCUDA", FAKE_CUDA_DRIVER, 1);
    setenv("FAKE_CUDA_LOG", path("driver.log").c_str(), 1);
    unsetenv("FAKE_CUDA_FAIL");
    unsetenv("FAKE_CUDA_DEVICES");
    std::ofstream(path("model.toml")) << kModel;
    ASSERT_EQ(ponder("init " + path("model.toml") + " --seed 3 -o " +
                     path("w.safetensors")),
              0)
        << text("err.txt");
    Tensor ids(DType::I32, {2, 5}), lengths(DType::I32, {2});
    for (int64_t i = 0; i < 10; ++i)
      ids.data<int32_t>()[i] = int32_t(i % 8);
    lengths.data<int32_t>()[0] = 5;
    lengths.data<int32_t>()[1] = 3;
    ASSERT_TRUE(writeSafetensors(path("batch.safetensors"),
                                 {{"ids", &ids}, {"lengths", &lengths}}, {})
                    .isOk());
  }
  /// Runs `ponder ARGS` (stdout and stderr to out.txt, err.txt).
  int ponder(const std::string &args) {
    return std::system((std::string(PONDER_PATH) + " " + args + " > " +
                        path("out.txt") + " 2> " + path("err.txt"))
                           .c_str());
  }
  std::string text(const std::string &name) {
    std::ifstream in(path(name));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string runOnCuda() {
    return "run " + path("model.toml") + " --weights " + path("w.safetensors") +
           " --batch " + path("batch.safetensors") + " --dump " +
           path("dump.safetensors") + " --device cuda";
  }
};

TEST_F(CudaBackend, NoDriverIsOneLine) {
  setenv("PONDER_LIBCUDA", path("no-such-libcuda.so.1").c_str(), 1);
  EXPECT_NE(ponder(runOnCuda()), 0);
  std::string err = text("err.txt");
  EXPECT_NE(err.find("ponder: --device cuda: no CUDA driver"),
            std::string::npos)
      << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(std::ifstream(path("dump.safetensors")).good());
}

// A trainer that loads a cuda artifact itself gets the same one line from
// Artifact::load, naming the artifact.
TEST_F(CudaBackend, LoadingACudaArtifactWithoutDriverIsOneLine) {
  std::string artifact = path("model-cuda.so");
  ASSERT_EQ(std::system((std::string(PONDERC_PATH) + " " + path("model.toml") +
                         " --target=cuda --emit=artifact -o " + artifact)
                            .c_str()),
            0);
  setenv("PONDER_LIBCUDA", path("no-such-libcuda.so.1").c_str(), 1);
  auto loaded = Artifact::load(artifact);
  ASSERT_FALSE(loaded);
  const std::string &message = loaded.getStatus().message();
  EXPECT_EQ(
      message.rfind(artifact + ": compiled for cuda: no CUDA driver: ", 0), 0u)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST_F(CudaBackend, NoDeviceIsOneLine) {
  setenv("FAKE_CUDA_DEVICES", "0", 1);
  EXPECT_NE(ponder(runOnCuda()), 0);
  EXPECT_EQ(text("err.txt"), "ponder: --device cuda: no CUDA device\n");
}

TEST_F(CudaBackend, UnknownDeviceIsRefused) {
  EXPECT_NE(ponder("run " + path("model.toml") + " --weights " +
                   path("w.safetensors") + " --batch " +
                   path("batch.safetensors") + " --dump " +
                   path("dump.safetensors") + " --device tpu"),
            0);
  EXPECT_EQ(text("err.txt"),
            "ponder: --device: expected cpu or cuda, got 'tpu'\n");
}

TEST_F(CudaBackend, LaunchesKernelsOfTheCompiledModule) {
  ASSERT_EQ(ponder(runOnCuda()), 0) << text("err.txt");
  // The kernels the compiler emits for this model.
  std::string ptx = path("kernels.ptx");
  ASSERT_EQ(std::system((std::string(PONDERC_PATH) + " " + path("model.toml") +
                         " --target=cuda --emit=ptx -o " + ptx)
                            .c_str()),
            0);
  std::set<std::string> kernels;
  std::istringstream ptxLines(text("kernels.ptx"));
  for (std::string line; std::getline(ptxLines, line);)
    if (line.rfind(".visible .entry ", 0) == 0)
      kernels.insert(line.substr(16, line.find('(') - 16));
  ASSERT_FALSE(kernels.empty());

  std::istringstream log(text("driver.log"));
  std::string first;
  std::getline(log, first);
  // The artifact carries a fatbin (cubins + PTX) where the toolkit is
  // installed, PTX otherwise; it is loaded once, before any launch.
  EXPECT_TRUE(first == "load fatbin" || first == "load ptx") << first;
  int launches = 0, streams = 0;
  for (std::string line; std::getline(log, line);) {
    if (line == "stream") { // every launch runs on one stream
      ++streams;
      continue;
    }
    std::istringstream fields(line);
    std::string what, name;
    uint64_t grid[3], block[3];
    fields >> what >> name >> grid[0] >> grid[1] >> grid[2] >> block[0] >>
        block[1] >> block[2];
    ASSERT_EQ(what, "launch") << line;
    EXPECT_TRUE(kernels.count(name)) << line;
    EXPECT_GE(grid[0] * grid[1] * grid[2], 1u) << line;
    EXPECT_LE(grid[1], 65535u) << line;
    EXPECT_LE(grid[2], 65535u) << line;
    EXPECT_GE(block[0] * block[1] * block[2], 1u) << line;
    EXPECT_LE(block[0] * block[1] * block[2], 1024u) << line;
    ++launches;
  }
  EXPECT_GT(launches, 10);
  EXPECT_EQ(streams, 1);
  // Every result comes back with the contract's shape.
  auto dump = readSafetensors(path("dump.safetensors"));
  ASSERT_TRUE(dump) << dump.getStatus().message();
  auto logits =
      std::find_if(dump->tensors.begin(), dump->tensors.end(),
                   [](const auto &named) { return named.first == "logits"; });
  ASSERT_NE(logits, dump->tensors.end());
  EXPECT_EQ(logits->second.shape(), (std::vector<int64_t>{2, 5, 8}));
}

TEST_F(CudaBackend, FailedLaunchIsOneLineAndWritesNothing) {
  setenv("FAKE_CUDA_FAIL", "cuLaunchKernel", 1);
  EXPECT_NE(ponder(runOnCuda()), 0);
  std::string err = text("err.txt");
  EXPECT_NE(err.find("cuda: cuLaunchKernel: CUDA_ERROR_LAUNCH_FAILED"),
            std::string::npos)
      << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(std::ifstream(path("dump.safetensors")).good());
}

TEST_F(CudaBackend, FailedModuleLoadIsOneLine) {
  setenv("FAKE_CUDA_FAIL", "cuModuleLoadData", 1);
  EXPECT_NE(ponder(runOnCuda()), 0);
  std::string err = text("err.txt");
  EXPECT_NE(err.find("loading the kernels: cuda: cuModuleLoadData: "
                     "CUDA_ERROR_INVALID_VALUE"),
            std::string::npos)
      << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

} // namespace
