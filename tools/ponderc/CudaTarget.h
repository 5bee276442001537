//===- CudaTarget.h - Kernels for NVIDIA GPUs -------------------*- C++ -*-===//
//
// `ponderc --target=cuda`: after the GPU pipeline (ponder-linalg-to-gpu) the
// module holds one gpu.module of NVVM kernels. These functions turn it into
// PTX through LLVM's NVPTX backend and, where the CUDA toolkit is present,
// into cubins that ptxas assembles (docs/gpu.md).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TOOLS_PONDERC_CUDATARGET_H
#define PONDER_TOOLS_PONDERC_CUDATARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace ponder {

/// The CUDA toolkit's root (holding bin/ptxas and nvvm/libdevice): $CUDA_HOME,
/// $CUDA_PATH, the parent of the ptxas found on PATH (symbolic links
/// resolved), or /usr/local/cuda; "" when none is a toolkit.
std::string findCudaToolkit();

/// Serialises the module's gpu.module to a gpu.binary holding its PTX (the
/// NVPTX backend). The kernels call no libdevice function
/// (ponder-approximate-math), so `toolkit` may be "".
mlir::LogicalResult serializeKernelsToPTX(mlir::ModuleOp module,
                                          llvm::StringRef toolkit);

/// The PTX text of the module's gpu.binary ("" if there is none).
std::string kernelPTX(mlir::ModuleOp module);

/// Replaces the gpu.binary's PTX by a fatbin with a cubin for each of
/// `archs` (ptxas) and the PTX itself, for GPUs newer than all of them
/// (fatbinary). Returns false with `error` set if a tool fails.
bool embedCubins(mlir::ModuleOp module, llvm::StringRef toolkit,
                 llvm::ArrayRef<llvm::StringRef> archs, std::string &error);

} // namespace ponder

#endif // PONDER_TOOLS_PONDERC_CUDATARGET_H
