//===- JitModel.h - Run a compiled model in-process -------------*- C++ -*-===//
//
// Compiles a model description through Ponder's CPU pipeline and runs @forward
// and @loss with MLIR's ExecutionEngine, so compiler tests can check the
// lowered numerics against the independent reference without the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_UNITTESTS_COMPILER_JITMODEL_H
#define PONDER_UNITTESTS_COMPILER_JITMODEL_H

#include "frontend/ModelDescription.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mlir {
class ExecutionEngine;
class MLIRContext;
} // namespace mlir

namespace ponder::testing {

/// Parameters by contract name (MODEL.md §3), row-major float32.
using WeightMap = std::map<std::string, std::vector<float>>;

struct BatchInput {
  int64_t batch = 0, length = 0;
  std::vector<int32_t> ids;           // [B, T]
  std::vector<int32_t> lengths;       // [B]
  std::vector<float> targetWeight;    // [B, T] (@loss)
  std::vector<float> advantage;       // [B, T] (@loss)
  std::vector<float> referenceLogits; // [B, T, V] (@loss, mu > 0)
};

struct ModelOutputs {
  std::vector<float> logits;                      // [B, T, V]
  std::vector<int32_t> steps;                     // [B, T]
  std::vector<float> remainder;                   // [B, T]
  float loss = 0, ce = 0, ponder = 0, policy = 0; // @loss only
};

class JitModel {
public:
  /// How linalg is lowered: the CPU pipeline (attention as vectorised
  /// online-softmax loops, as ponderc compiles it, or through score
  /// matrices, as `--score-attention` does), or the CUDA pipeline's mapping
  /// with every kernel launch run as host loops
  /// (ponder-linalg-to-gpu-emulated).
  enum class Backend { Cpu, CpuScoreMatrices, EmulatedGpu };

  /// Compiles `desc`; returns null and sets `error` on failure.
  static std::unique_ptr<JitModel> compile(const ModelDescription &desc,
                                           std::string &error,
                                           Backend backend = Backend::Cpu);
  ~JitModel();

  ModelOutputs forward(const WeightMap &weights, const BatchInput &batch);
  ModelOutputs loss(const WeightMap &weights, const BatchInput &batch);

private:
  JitModel() = default;
  ModelOutputs run(bool withLoss, const WeightMap &weights,
                   const BatchInput &batch);

  ModelDescription desc;
  std::unique_ptr<mlir::MLIRContext> context;
  std::unique_ptr<mlir::ExecutionEngine> engine;
};

} // namespace ponder::testing

#endif // PONDER_UNITTESTS_COMPILER_JITMODEL_H
