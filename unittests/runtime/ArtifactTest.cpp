//===- ArtifactTest.cpp - Loading an artifact and reading its descriptor --===//
//
// Against FakeArtifact.c, a hand-written artifact whose descriptor each test
// edits: the loader needs no compiler, and every way a descriptor can be
// wrong gives one line that names the key.
//
//===----------------------------------------------------------------------===//

#include "runtime/Artifact.h"
#include "runtime/StrictJson.h"

#include "unittests/TempDirTest.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <filesystem>
#include <functional>
#include <unistd.h>

using namespace ponder;

namespace {

class ArtifactTest : public TempDirTest {
protected:
  void SetUp() override {
    TempDirTest::SetUp();
    handle = dlopen(PONDER_FAKE_ARTIFACT, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr) << dlerror();
    auto describe = reinterpret_cast<ponder_artifact_descriptor_fn>(
        dlsym(handle, PONDER_SYMBOL_DESCRIPTOR));
    ASSERT_NE(describe, nullptr);
    original = describe();
    auto parsed = json::parse(original);
    ASSERT_TRUE(parsed) << parsed.getStatus().message();
    valid = *parsed;
  }
  void TearDown() override {
    // dlclose need not unload the fake, so the next test may see this one's
    // descriptor.
    setDescriptor(original);
    dlclose(handle);
    TempDirTest::TearDown();
  }
  void setDescriptor(const char *text) {
    reinterpret_cast<void (*)(const char *)>(
        dlsym(handle, "fake_artifact_set_descriptor"))(text);
  }
  /// The error of loading the artifact with `text` as its descriptor.
  std::string errorWith(const std::string &text) {
    setDescriptor(text.c_str());
    auto a = Artifact::load(PONDER_FAKE_ARTIFACT);
    EXPECT_FALSE(a) << text;
    std::string prefix = std::string(PONDER_FAKE_ARTIFACT) + ": descriptor: ";
    std::string message = a ? "" : a.getStatus().message();
    EXPECT_EQ(message.substr(0, prefix.size()), prefix);
    return message.substr(std::min(prefix.size(), message.size()));
  }
  /// The same for the fake's own descriptor after `edit`.
  std::string errorAfter(const std::function<void(json::Value &)> &edit) {
    json::Value d = valid;
    edit(d);
    return errorWith(d.dump());
  }

  void *handle = nullptr;
  const char *original = nullptr;
  json::Value valid;
};

TEST_F(ArtifactTest, ReadsTheDescriptor) {
  auto a = Artifact::load(PONDER_FAKE_ARTIFACT);
  ASSERT_TRUE(a) << a.getStatus().message();
  EXPECT_EQ((*a)->modelHash(), "f00d");
  EXPECT_EQ((*a)->target(), PONDER_TARGET_CPU);
  EXPECT_EQ((*a)->verbalVocab(), 3);
  EXPECT_EQ((*a)->vocabSize(), 4);
  EXPECT_EQ((*a)->maxSeq(), 8);
  // Absent optional keys keep their defaults.
  EXPECT_EQ((*a)->maxThink(), 0);
  EXPECT_EQ((*a)->rollouts(), 4);
  EXPECT_EQ((*a)->thinkReward(), PONDER_THINK_REWARD_FIRST_VERBAL_LOGPROB);
  ASSERT_EQ((*a)->parameters().size(), 1u);
  EXPECT_TRUE((*a)->parameters()[0].isParameter);
  const EntryPoint *forward = (*a)->entry(PONDER_ENTRY_FORWARD);
  ASSERT_NE(forward, nullptr);
  EXPECT_EQ(forward->function,
            dlsym(handle, PONDER_ENTRY_SYMBOL_PREFIX PONDER_ENTRY_FORWARD));
  ASSERT_EQ(forward->arguments.size(), 2u);
  EXPECT_EQ(forward->arguments[0].name, PONDER_VALUE_IDS);
  EXPECT_EQ(forward->arguments[0].dtype, DType::I32);
  EXPECT_FALSE(forward->arguments[0].isParameter);
  EXPECT_TRUE(forward->arguments[1].isParameter);
  ASSERT_EQ(forward->results.size(), 1u);
  EXPECT_EQ(forward->results[0].shape,
            (std::vector<int64_t>{PONDER_DYNAMIC_DIM, 3}));
}

// dlopen searches the library path, not the current directory, for a name
// without a slash.
TEST_F(ArtifactTest, LoadsABareFileNameFromTheCurrentDirectory) {
  std::filesystem::copy_file(PONDER_FAKE_ARTIFACT, path("bare-artifact.so"));
  std::string previous = std::filesystem::current_path();
  ASSERT_EQ(::chdir(dir.c_str()), 0);
  auto a = Artifact::load("bare-artifact.so");
  auto missing = Artifact::load("no-such-artifact.so");
  ASSERT_EQ(::chdir(previous.c_str()), 0);
  ASSERT_TRUE(a) << a.getStatus().message();
  EXPECT_NE((*a)->entry(PONDER_ENTRY_FORWARD), nullptr);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.getStatus().message().substr(0, 60),
            "no-such-artifact.so: cannot load artifact: ./no-such-artifac");
}

TEST_F(ArtifactTest, KeysOfTheWrongTypeAreNamed) {
  EXPECT_EQ(errorAfter([](json::Value &d) { d["max_seq"] = "8"; }),
            "key 'max_seq': expected an integer, found a string");
  EXPECT_EQ(errorAfter([](json::Value &d) { d["rollouts"] = 4.5; }),
            "key 'rollouts': expected an integer, found a number");
  EXPECT_EQ(errorAfter([](json::Value &d) { d["think_reward"] = 1; }),
            "key 'think_reward': expected a string, found an integer");
  EXPECT_EQ(errorAfter([](json::Value &d) { d["vocab"]["verbal"] = "3"; }),
            "key 'vocab.verbal': expected an integer, found a string");
  EXPECT_EQ(errorAfter([](json::Value &d) { d["entries"] = json::Value(); }),
            "key 'entries': expected an array, found null");
  EXPECT_EQ(errorAfter([](json::Value &d) {
              d["entries"][0]["arguments"][0]["shape"][0] = 1.5;
            }),
            "key 'entries[0].arguments[0].shape[0]': expected an integer, "
            "found a number");
  EXPECT_EQ(errorAfter([](json::Value &d) { d["parameters"][0] = "w"; }),
            "key 'parameters[0]': expected an object, found a string");
  EXPECT_EQ(errorWith("[]"), "expected an object, found an array");
}

TEST_F(ArtifactTest, UnknownAndMissingKeysAreNamed) {
  EXPECT_EQ(errorAfter([](json::Value &d) { d["max_seqs"] = 8; }),
            "unknown key 'max_seqs' (expected one of: abi_version, "
            "model_hash, target, vocab, max_seq, max_think, rollouts, "
            "think_reward, think_channel, cpu, cpu_isa, parameters, "
            "entries)");
  EXPECT_EQ(errorAfter([](json::Value &d) {
              d["entries"][0]["results"][0]["stride"] = 1;
            }),
            "unknown key 'entries[0].results[0].stride' (expected one of: "
            "name, dtype, shape, kind)");
  EXPECT_EQ(errorAfter([](json::Value &d) { d.erase("entries"); }),
            "missing key 'entries'");
  EXPECT_EQ(errorAfter([](json::Value &d) { d["vocab"].erase("think"); }),
            "missing key 'vocab.think'");
  EXPECT_EQ(errorAfter([](json::Value &d) {
              d["entries"][0]["arguments"][1].erase("dtype");
            }),
            "missing key 'entries[0].arguments[1].dtype'");
}

TEST_F(ArtifactTest, BadValuesAreNamed) {
  EXPECT_EQ(errorAfter([](json::Value &d) { d["abi_version"] = 4; }),
            "key 'abi_version': expected 3, found 4");
  EXPECT_EQ(errorAfter([](json::Value &d) { d["target"] = "tpu"; }),
            "key 'target': unknown target 'tpu' (expected cpu or cuda)");
  EXPECT_EQ(
      errorAfter([](json::Value &d) { d["parameters"][0]["dtype"] = "F16"; }),
      "key 'parameters[0].dtype': unknown dtype 'F16' (expected F32, "
      "I32 or I64)");
  EXPECT_EQ(errorAfter([](json::Value &d) {
              d["entries"][0]["arguments"][0]["kind"] = "output";
            }),
            "key 'entries[0].arguments[0].kind': unknown kind 'output' "
            "(expected input or param)");
  EXPECT_EQ(errorAfter([](json::Value &d) {
              d["entries"][0]["symbol"] = "ponder_entry_nope";
            }),
            "key 'entries[0].symbol': the artifact does not export "
            "ponder_entry_nope");
}

// A CPU artifact names the vector instructions its code needs; one this CPU
// lacks is refused at load, not met as an illegal instruction later.
TEST_F(ArtifactTest, CodeForAWiderCpuIsRefused) {
  EXPECT_EQ(errorAfter([](json::Value &d) { d["cpu_isa"] = "avx1024"; }),
            "key 'cpu_isa': unknown instruction set 'avx1024' (expected "
            "avx512, avx2, avx or sse)");
#if defined(__x86_64__)
  __builtin_cpu_init();
  for (auto [isa, has] :
       {std::pair("avx512", __builtin_cpu_supports("avx512f") != 0),
        std::pair("avx2", __builtin_cpu_supports("avx2") != 0),
        std::pair("avx", __builtin_cpu_supports("avx") != 0),
        std::pair("sse", true)}) {
    json::Value d = valid;
    d["cpu"] = "somecpu";
    d["cpu_isa"] = isa;
    std::string text = d.dump();
    setDescriptor(text.c_str());
    auto a = Artifact::load(PONDER_FAKE_ARTIFACT);
    ASSERT_EQ(bool(a), has) << isa;
    if (has) {
      EXPECT_EQ((*a)->cpu(), "somecpu");
      EXPECT_EQ((*a)->cpuIsa(), isa);
    } else {
      EXPECT_EQ(a.getStatus().message(),
                std::string(PONDER_FAKE_ARTIFACT) + ": compiled for somecpu (" +
                    isa +
                    "), which this CPU cannot run; recompile it for this "
                    "machine (ponderc --target-cpu=native)");
    }
  }
#endif
}

TEST_F(ArtifactTest, DescriptorJsonIsStrict) {
  std::string text = valid.dump();
  EXPECT_EQ(errorWith(text + " x"),
            "JSON at byte " + std::to_string(text.size() + 1) +
                ": expected the end of the text after the value, found 'x'");
  // The second "target" is where it is in `text`, 17 bytes further on.
  EXPECT_EQ(errorWith("{\"target\": \"cpu\", " + text.substr(1)),
            "JSON at byte " + std::to_string(text.find("\"target\"") + 17) +
                ": duplicate key \"target\"");
}

TEST(ArtifactContract, DtypesAreTheRuntimes) {
  EXPECT_EQ(parseDType(PONDER_DTYPE_F32), DType::F32);
  EXPECT_EQ(parseDType(PONDER_DTYPE_I32), DType::I32);
  EXPECT_EQ(kArtifactAbi, PONDER_ARTIFACT_ABI_VERSION);
}

} // namespace
