//===- Pipelines.h - Ponder's pass pipelines --------------------*- C++ -*-===//
//
// The stages of `ponderc --emit=...`, also registered as named pipelines for
// ponder-opt (`--ponder-lower-to-linalg`, `--ponder-lower-to-llvm`).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_PASSES_PIPELINES_H
#define PONDER_PASSES_PIPELINES_H

namespace mlir {
class OpPassManager;
namespace ponder {

/// ponder dialect -> linalg/tensor/scf on tensors.
void buildLowerToLinalgPipeline(OpPassManager &pm);

/// linalg on tensors -> the LLVM dialect for the host CPU: bufferization
/// (function boundaries included), loops, and the conversions to LLVM.
void buildLinalgToLLVMPipeline(OpPassManager &pm);

/// Registers both (and their composition) with the global pass registry.
void registerPonderPipelines();

} // namespace ponder
} // namespace mlir

#endif // PONDER_PASSES_PIPELINES_H
