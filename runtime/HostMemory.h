//===- HostMemory.h - The allocator of CPU artifacts ------------*- C++ -*-===//
//
// A CPU artifact's compiled code allocates and frees its buffers through
// the runtime (MLIR's `_mlir_memref_to_llvm_alloc` / `_free`, bound when
// the artifact is loaded; docs/artifact-abi.md), so that freed buffers are
// reused by size instead of returned to the system (BufferCache.h). Tensor
// storage comes from here too.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_HOSTMEMORY_H
#define PONDER_RUNTIME_HOSTMEMORY_H

#include <cstddef>

namespace ponder::host {

/// Every block is aligned to this many bytes (one AVX-512 vector, one cache
/// line).
constexpr size_t kAlignment = 64;

/// Freed blocks are kept while they hold at most this many bytes; past it, a
/// request no cached block fits returns them all to the system first.
constexpr size_t kCacheLimit = size_t(1) << 30;

/// A block of at least `bytes` bytes (a cached one when a block of that
/// size was released), or null if the system has no memory.
void *tryAllocate(size_t bytes);

/// tryAllocate, but exits with one line if the system has no memory: the
/// compiled code that calls it does not check its allocations.
void *allocate(size_t bytes);

/// Keeps a block from (try)allocate for reuse; passes any other pointer to
/// free().
void release(void *pointer);

/// The function a CPU artifact calls by this C name, or null.
void *lookup(const char *name);

} // namespace ponder::host

#endif // PONDER_RUNTIME_HOSTMEMORY_H
