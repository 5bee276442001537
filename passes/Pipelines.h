//===- Pipelines.h - Ponder's pass pipelines --------------------*- C++ -*-===//
//
// The stages of `ponderc --emit=...`, also registered as named pipelines for
// ponder-opt (`--ponder-lower-to-linalg`, `--ponder-lower-to-llvm`).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_PASSES_PIPELINES_H
#define PONDER_PASSES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace ponder {

struct GPUPipelineOptions : PassPipelineOptions<GPUPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("NVIDIA architecture of the kernels"),
      llvm::cl::init("sm_80")};
  PassOptions::Option<bool> fuseEnds{
      *this, "fuse-ends",
      llvm::cl::desc("Products start from their output's fill and apply "
                     "their element-wise epilogue in the kernel"),
      llvm::cl::init(true)};
};

struct LowerToLinalgOptions : PassPipelineOptions<LowerToLinalgOptions> {
  PassOptions::Option<bool> fusedAttention{
      *this, "fused-attention",
      llvm::cl::desc("Attention as online-softmax loops, not score matrices "
                     "(ponderc: always but for --score-attention)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> attentionLanes{
      *this, "attention-lanes",
      llvm::cl::desc("f32 lanes of the vectors that hold a head's row in "
                     "the online-softmax attention loops (1: scalars)"),
      llvm::cl::init(1)};
  PassOptions::Option<bool> compactHalting{
      *this, "compact-halting",
      llvm::cl::desc("Run an ACT loop's block on the running positions only "
                     "(ponder-compact-halting-loops); false keeps the dense "
                     "masked loop"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseKernels{
      *this, "fuse-kernels",
      llvm::cl::desc("Fuse row reductions with their producers and consumers "
                     "(ponder-fuse-rows) and contractions with the fill "
                     "before and the element-wise op after them; false "
                     "keeps one kernel per linalg op (for comparison)"),
      llvm::cl::init(true)};
};

/// ponder dialect -> linalg/tensor/scf on tensors.
void buildLowerToLinalgPipeline(OpPassManager &pm,
                                const LowerToLinalgOptions &options = {});

struct CPUPipelineOptions : PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<bool> runtimeAllocator{
      *this, "runtime-allocator",
      llvm::cl::desc("Allocate through _mlir_memref_to_llvm_alloc/_free "
                     "(the runtime's caching allocator in artifacts), not "
                     "malloc/free"),
      llvm::cl::init(false)};
  // The register tile of ponder-vectorize-contractions. The defaults fit
  // AVX-512 (16 f32 lanes, 32 vector registers); ponderc chooses them for
  // the CPU it compiles for (tools/ponderc/CpuTarget.h).
  PassOptions::Option<int64_t> lanes{*this, "lanes",
                                     llvm::cl::desc("f32 lanes per vector"),
                                     llvm::cl::init(16)};
  PassOptions::Option<int64_t> rows{
      *this, "rows", llvm::cl::desc("Output rows per outer-product tile"),
      llvm::cl::init(8)};
  PassOptions::Option<int64_t> vectors{
      *this, "vectors",
      llvm::cl::desc("Vectors per row of an outer-product tile"),
      llvm::cl::init(2)};
  PassOptions::Option<int64_t> dotRows{
      *this, "dot-rows", llvm::cl::desc("Output rows per dot-product tile"),
      llvm::cl::init(4)};
  PassOptions::Option<int64_t> dotCols{
      *this, "dot-cols", llvm::cl::desc("Output columns per dot-product tile"),
      llvm::cl::init(4)};
  PassOptions::Option<bool> fuseEnds{
      *this, "fuse-ends",
      llvm::cl::desc("Products start from their output's fill and apply "
                     "their element-wise epilogue in the kernel"),
      llvm::cl::init(true)};
};

/// linalg on tensors -> the LLVM dialect for the host CPU: bufferization
/// (function boundaries included), loops, and the conversions to LLVM.
void buildLinalgToLLVMPipeline(OpPassManager &pm,
                               const CPUPipelineOptions &options = {});

/// Registers both (and their composition) with the global pass registry.
/// Bufferized linalg -> one gpu.module of NVVM kernels (not yet serialised)
/// and LLVM-dialect host code that launches them (docs/gpu.md).
void buildLinalgToGPUPipeline(OpPassManager &pm,
                              const GPUPipelineOptions &options);

/// The same mapping with every launch run as loops on the host
/// (ponder-emulate-gpu-launches), lowered for the CPU: checks the CUDA
/// path's mapping and host code on machines without a GPU.
void buildLinalgToGPUEmulatedPipeline(OpPassManager &pm);

void registerPonderPipelines();

} // namespace ponder
} // namespace mlir

#endif // PONDER_PASSES_PIPELINES_H
