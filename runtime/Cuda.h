//===- Cuda.h - The CUDA backend: driver, memory, launches ------*- C++ -*-===//
//
// Ponder's CUDA backend loads the NVIDIA driver (libcuda.so.1) with dlopen, so
// the runtime builds and runs on machines without one; choosing the cuda
// device there fails with one line that says why. A CUDA artifact's host code
// calls the functions of MLIR's GPU launch ABI (mgpuModuleLoad,
// mgpuLaunchKernel, ...) and its allocator; this backend implements them on
// the driver API and hands them to the artifact by name (docs/gpu.md).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_CUDA_H
#define PONDER_RUNTIME_CUDA_H

#include "runtime/Status.h"

#include <cstddef>

namespace ponder::cuda {

/// Loads the driver ($PONDER_LIBCUDA, default libcuda.so.1), initialises it
/// and makes device 0's primary context current. The first call decides;
/// later calls return the same answer.
Status initialize();

/// The backend's implementation of a function a CUDA artifact calls, by
/// its C name, or null if there is none.
void *lookup(const char *name);

/// The first driver error since the last call ("" if none), naming the
/// driver call; clears it. Artifact::call checks it after each entry.
Status takeError();

/// Memory that host code and kernels both address (CUDA managed memory),
/// and its release. Freed blocks are kept for reuse by size.
void *allocate(size_t bytes);
void release(void *pointer);

} // namespace ponder::cuda

#endif // PONDER_RUNTIME_CUDA_H
