//===- Pipelines.cpp - Ponder's pass pipelines ----------------------------===//

#include "passes/Pipelines.h"

#include "passes/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ConvertToLLVM/ToLLVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::ponder::buildLowerToLinalgPipeline(
    OpPassManager &pm, const LowerToLinalgOptions &options) {
  if (options.compactHalting)
    pm.addPass(createCompactHaltingLoops());
  pm.addPass(createAutodiff());
  ConvertPonderToLinalgOptions lowering;
  lowering.fusedAttention = options.fusedAttention;
  lowering.attentionLanes = options.attentionLanes;
  pm.addPass(createConvertPonderToLinalg(lowering));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createFuseElementwise());
  if (options.fuseKernels)
    pm.addPass(createFuseRows());
  pm.addPass(createFastMath());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Bufferization shared by the CPU and GPU pipelines: dense row-major
/// buffers at function boundaries, every intermediate freed, no calls into
/// MLIR's runner utilities.
static void buildBufferizePipeline(OpPassManager &pm) {
  using namespace mlir::ponder;
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  // The halting loop's carried tensors are rewritten every step.
  bufferize.allowReturnAllocsFromLoops = true;
  // Contiguous buffers at function boundaries (the runtime passes dense
  // row-major tensors), so kernels may use unit-stride vector loads.
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Free every intermediate buffer; results are owned by the caller.
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass()); // bufferization.clone
  pm.addPass(createExpandStridedCopies()); // no memrefCopy runtime calls
  // ponder-fuse-rows' loops over rows; their bodies stay sequential and
  // allocate nothing.
  pm.addPass(createForallToParallelLoopPass());
  pm.addPass(createExpandLoopBuffers());
}

void mlir::ponder::buildLinalgToLLVMPipeline(
    OpPassManager &pm, const CPUPipelineOptions &options) {
  buildBufferizePipeline(pm);
  mlir::ponder::VectorizeContractionsOptions tile;
  tile.lanes = options.lanes;
  tile.rows = options.rows;
  tile.vectors = options.vectors;
  tile.dotRows = options.dotRows;
  tile.dotCols = options.dotCols;
  tile.fuseEnds = options.fuseEnds;
  pm.addPass(mlir::ponder::createVectorizeContractions(tile));
  // Every parallel loop runs on OpenMP threads (LLVM's libomp); reductions
  // stay sequential inside them, so results do not depend on thread count.
  pm.addPass(createParallelizeOuterLoops());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createConvertSCFToOpenMPPass());
  // Inlines the alloca scopes wrapped around loop bodies that allocate on
  // the stack: none do, and scf-to-cf needs single-block scopes.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToLLVMPass());
  FinalizeMemRefToLLVMConversionPassOptions memref;
  memref.useGenericFunctions = options.runtimeAllocator;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memref));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

/// Bufferized linalg -> gpu.launch ops in host functions. Every parallel
/// loop of a linalg op becomes a kernel, threads along its contiguous
/// innermost dimension; reductions run sequentially inside a thread. Host
/// code (the halting loop, scalar bookkeeping) stays on the host and reads
/// results from managed memory.
static void buildGPUMappingPipeline(OpPassManager &pm, bool fuseEnds) {
  buildBufferizePipeline(pm);
  OpPassManager &func = pm.nest<func::FuncOp>();
  mlir::ponder::TileContractionsForGPUOptions tile;
  tile.fuseEnds = fuseEnds;
  func.addPass(mlir::ponder::createTileContractionsForGPU(tile));
  func.addPass(mlir::ponder::createReduceOnDevice());
  func.addPass(createConvertLinalgToParallelLoopsPass());
  func.addPass(mlir::ponder::createMapParallelLoopsToGPU());
  func.addPass(createConvertParallelLoopToGpuPass());
  func.addPass(mlir::ponder::createSinkGlobalsIntoKernels());
}

void mlir::ponder::buildLinalgToGPUPipeline(OpPassManager &pm,
                                            const GPUPipelineOptions &options) {
  buildGPUMappingPipeline(pm, options.fuseEnds);
  std::string pipeline =
      "gpu-kernel-outlining,ponder-merge-kernel-modules,"
      "func.func(lower-affine),convert-scf-to-cf,"
      "nvvm-attach-target{chip=" +
      options.chip +
      " features=+ptx80 O=3},"
      // Kernel math becomes native instructions before convert-gpu-to-nvvm
      // would turn it into libdevice calls.
      "gpu.module(ponder-approximate-math,convert-gpu-to-nvvm),"
      "convert-nvvm-to-llvm,"
      "expand-strided-metadata,lower-affine,"
      // The host allocates through the runtime (managed memory), never
      // with malloc: kernels read and write every buffer.
      "finalize-memref-to-llvm{use-generic-functions=true},"
      "convert-math-to-llvm,convert-to-llvm,gpu-to-llvm,"
      "reconcile-unrealized-casts,canonicalize,cse";
  if (failed(parsePassPipeline(pipeline, pm)))
    llvm::report_fatal_error("ponder: malformed GPU pass pipeline");
}

void mlir::ponder::buildLinalgToGPUEmulatedPipeline(OpPassManager &pm) {
  buildGPUMappingPipeline(pm, /*fuseEnds=*/true);
  // The kernels' math as the GPU runs it (host code's math too, here).
  pm.addNestedPass<func::FuncOp>(mlir::ponder::createApproximateMath());
  pm.addPass(mlir::ponder::createEmulateGPULaunches());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass()); // blocks with barriers
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::ponder::registerPonderPipelines() {
  PassPipelineRegistration<LowerToLinalgOptions>(
      "ponder-lower-to-linalg", "ponder dialect -> linalg/tensor/scf",
      buildLowerToLinalgPipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "ponder-linalg-to-llvm", "linalg on tensors -> LLVM dialect (CPU)",
      buildLinalgToLLVMPipeline);
  PassPipelineRegistration<>("ponder-lower-to-llvm",
                             "ponder dialect -> LLVM dialect (CPU)",
                             [](OpPassManager &pm) {
                               buildLowerToLinalgPipeline(pm);
                               buildLinalgToLLVMPipeline(pm);
                             });
  PassPipelineRegistration<GPUPipelineOptions>(
      "ponder-linalg-to-gpu",
      "linalg on tensors -> NVVM kernels and LLVM host code (CUDA)",
      buildLinalgToGPUPipeline);
  PassPipelineRegistration<>(
      "ponder-linalg-to-gpu-emulated",
      "linalg on tensors -> the GPU mapping run as host loops (LLVM, CPU)",
      buildLinalgToGPUEmulatedPipeline);
}
