//===- HostMemory.cpp - The allocator of CPU artifacts --------------------===//

#include "runtime/HostMemory.h"

#include "runtime/ArtifactContract.h"
#include "runtime/BufferCache.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ponder::host {
namespace {

/// Never destroyed: a tensor that outlives main's statics may still release
/// into it. The OS takes the cached blocks back at exit.
BufferCache &cache() {
  static BufferCache *c = new BufferCache;
  return *c;
}

void *memrefAlloc(uint64_t bytes) { return allocate(bytes); }
void memrefFree(void *pointer) { release(pointer); }

} // namespace

void *tryAllocate(size_t bytes) {
  // Sizes are rounded to the alignment, as aligned_alloc requires; blocks
  // of one rounded size serve each other.
  if (bytes > SIZE_MAX - kAlignment)
    return nullptr;
  bytes =
      (std::max<size_t>(bytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
  if (void *block = cache().reuse(bytes))
    return block;
  for (void *block : cache().takeCachedIfOver(kCacheLimit))
    std::free(block);
  void *block = std::aligned_alloc(kAlignment, bytes);
  if (block)
    cache().add(block, bytes);
  return block;
}

void *allocate(size_t bytes) {
  void *block = tryAllocate(bytes);
  if (!block) {
    std::fprintf(stderr, "ponder: out of memory allocating %zu bytes\n", bytes);
    std::exit(1);
  }
  return block;
}

void release(void *pointer) {
  if (!pointer)
    return;
  if (!cache().release(pointer)) {
    std::free(pointer);
    return;
  }
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  // Under ASan every block goes back at once, so that a use after release
  // is still reported.
  for (void *block : cache().takeCached())
    std::free(block);
#endif
#endif
}

void *lookup(const char *name) {
  if (std::strcmp(name, PONDER_RUNTIME_ALLOC) == 0)
    return reinterpret_cast<void *>(&memrefAlloc);
  if (std::strcmp(name, PONDER_RUNTIME_FREE) == 0)
    return reinterpret_cast<void *>(&memrefFree);
  return nullptr;
}

} // namespace ponder::host
