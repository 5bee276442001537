//===- Artifact.h - Loading and calling compiled models ---------*- C++ -*-===//
//
// An artifact is the shared object `ponderc --emit=artifact` writes
// (docs/artifact-abi.md; its names and keys are in ArtifactContract.h).
// Artifact::load checks the ABI version and reads the descriptor; call()
// builds memref descriptors of any rank from it, so nothing model-specific
// is written by hand here.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_ARTIFACT_H
#define PONDER_RUNTIME_ARTIFACT_H

#include "runtime/ArtifactContract.h"
#include "runtime/Status.h"
#include "runtime/Tensor.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ponder {

constexpr int kArtifactAbi = PONDER_ARTIFACT_ABI_VERSION;

/// A named value of an entry point: dtype and shape (-1 = dynamic).
struct ValueSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  bool isParameter = false;
};

struct EntryPoint {
  std::string name;
  std::vector<ValueSpec> arguments, results;
  void (*function)(void **) = nullptr;
};

class Artifact {
public:
  /// dlopens `path` (a bare file name is taken in the current directory,
  /// not searched for), checks the ABI version and reads the descriptor:
  /// an unknown key, a key of the wrong type or a missing one is an error
  /// that names it.
  static StatusOr<std::unique_ptr<Artifact>> load(const std::string &path);
  ~Artifact();

  const std::vector<ValueSpec> &parameters() const { return params; }
  const EntryPoint *entry(const std::string &name) const;
  int64_t verbalVocab() const { return verbal; }
  int64_t vocabSize() const { return verbal + think; }
  int64_t maxSeq() const { return maxSequence; }
  /// The longest run of think tokens generation allows ([think] max_think).
  int64_t maxThink() const { return maxThinkRun; }
  /// [think] rollouts (G) and reward ("first_verbal_logprob" or
  /// "first_verbal_correct"), the defaults of rollout training (MODEL.md §6).
  int64_t rollouts() const { return rolloutCount; }
  const std::string &thinkReward() const { return reward; }
  /// Whether a think position reads the previous position's final normed
  /// state ([think] channel = "hidden", MODEL.md §9) rather than its token.
  bool hiddenThoughts() const { return hiddenChannel; }
  const std::string &modelHash() const { return hash; }
  /// Where the compiled code runs: "cpu" or "cuda" (runtime/Cuda.h).
  const std::string &target() const { return targetName; }
  /// The CPU a "cpu" artifact was compiled for ("" when the descriptor does
  /// not say) and the vector instructions it needs ("avx512", "avx2",
  /// "avx", "sse" or ""); load() refuses code this CPU cannot run.
  const std::string &cpu() const { return cpuName; }
  const std::string &cpuIsa() const { return isa; }

  /// The number of threads the compiled code runs its parallel loops on
  /// (OpenMP; by default one per core, or OMP_NUM_THREADS). Results do not
  /// depend on it.
  int64_t threads() const;
  void setThreads(int64_t n) const;

  /// Checks that `weights` has exactly the parameters, each with the
  /// descriptor's dtype and shape and finite values (one error line naming
  /// the first problem).
  Status checkWeights(const std::map<std::string, const Tensor *> &weights,
                      const std::string &source) const;

  /// Calls `entry` with arguments looked up by name in `values` (inputs and
  /// parameters) and returns its results by name. Dtypes and ranks are
  /// checked here; the caller validates batch contents (ids, lengths).
  StatusOr<std::map<std::string, Tensor>>
  call(const EntryPoint &entry,
       const std::map<std::string, const Tensor *> &values) const;

private:
  Artifact() = default;
  void *handle = nullptr;
  std::vector<ValueSpec> params;
  std::vector<EntryPoint> entries;
  int64_t verbal = 0, think = 0, maxSequence = 0, maxThinkRun = 0;
  int64_t rolloutCount = 4;
  bool hiddenChannel = false;
  std::string hash, reward = PONDER_THINK_REWARD_FIRST_VERBAL_LOGPROB;
  std::string targetName = PONDER_TARGET_CPU;
  std::string cpuName, isa;

  /// Fills the fields above and `entries` (their functions looked up in
  /// `handle`) from the descriptor's JSON text.
  Status readDescriptor(const std::string &text);
};

} // namespace ponder

#endif // PONDER_RUNTIME_ARTIFACT_H
