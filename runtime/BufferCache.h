//===- BufferCache.h - Freed blocks kept for reuse by size ------*- C++ -*-===//
//
// Compiled code allocates its buffers per call and frees them before it
// returns; a training step allocates the same sizes every step. Handing the
// freed blocks back out by size means that after the first step nothing
// reaches the system allocator: no mmap, no page faults on fresh memory, no
// driver call (docs/performance.md measured 1.6x on a training step).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_BUFFERCACHE_H
#define PONDER_RUNTIME_BUFFERCACHE_H

#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace ponder {

/// The bookkeeping of a caching allocator, for any underlying one (host
/// memory, CUDA managed memory). Thread-safe.
class BufferCache {
public:
  /// A freed block of exactly `bytes`, now live again, or null.
  void *reuse(size_t bytes);
  /// Records a block of `bytes` fresh from the underlying allocator.
  void add(void *block, size_t bytes);
  /// Keeps a live block for reuse. False if the block is not one of ours.
  bool release(void *block);
  /// Forgets every cached (freed) block and returns them, to hand back to
  /// the underlying allocator.
  std::vector<void *> takeCached();
  /// takeCached() if the cached blocks hold more than `limit` bytes, else
  /// nothing. Callers use it on a miss: a program whose sizes keep changing
  /// (other batch shapes) does not hold on to every size it ever used.
  std::vector<void *> takeCachedIfOver(size_t limit);

private:
  std::mutex mutex;
  size_t cachedBytes = 0;
  std::unordered_map<void *, size_t> sizes; // live and cached blocks
  std::multimap<size_t, void *> cached;     // freed blocks by size
};

} // namespace ponder

#endif // PONDER_RUNTIME_BUFFERCACHE_H
