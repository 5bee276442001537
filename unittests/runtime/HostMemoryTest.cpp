//===- HostMemoryTest.cpp - The caching allocator of CPU artifacts --------===//

#include "runtime/HostMemory.h"
#include "runtime/BufferCache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

using namespace ponder;

namespace {

TEST(BufferCache, ReusesAReleasedBlockOfTheSameSizeOnly) {
  BufferCache cache;
  int a, b;
  EXPECT_EQ(cache.reuse(64), nullptr);
  cache.add(&a, 64);
  cache.add(&b, 128);
  EXPECT_EQ(cache.reuse(64), nullptr) << "a live block is not handed out";
  EXPECT_TRUE(cache.release(&a));
  EXPECT_EQ(cache.reuse(128), nullptr);
  EXPECT_EQ(cache.reuse(64), &a);
  EXPECT_EQ(cache.reuse(64), nullptr) << "each block is handed out once";
  int stranger;
  EXPECT_FALSE(cache.release(&stranger));
}

TEST(BufferCache, TakeCachedReturnsFreedBlocksOnce) {
  BufferCache cache;
  int a, b;
  cache.add(&a, 8);
  cache.add(&b, 8);
  cache.release(&a);
  std::vector<void *> freed = cache.takeCached();
  EXPECT_EQ(freed, std::vector<void *>{&a});
  EXPECT_TRUE(cache.takeCached().empty());
  EXPECT_EQ(cache.reuse(8), nullptr);
  EXPECT_FALSE(cache.release(&a)) << "a taken block is no longer ours";
  EXPECT_TRUE(cache.release(&b));
}

TEST(BufferCache, TakeCachedIfOverALimit) {
  BufferCache cache;
  int a, b;
  cache.add(&a, 100);
  cache.add(&b, 50);
  cache.release(&a);
  EXPECT_TRUE(cache.takeCachedIfOver(100).empty()) << "100 bytes cached";
  cache.release(&b);
  EXPECT_EQ(cache.takeCachedIfOver(100).size(), 2u) << "150 bytes cached";
  EXPECT_TRUE(cache.takeCachedIfOver(0).empty());
  cache.add(&a, 100);
  cache.release(&a);
  EXPECT_EQ(cache.reuse(100), &a);
  EXPECT_TRUE(cache.takeCachedIfOver(0).empty()) << "a reused block left";
}

TEST(HostMemory, AlignedWritableAndReusedBySize) {
  void *first = host::allocate(1000);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % host::kAlignment, 0u);
  std::memset(first, 0xab, 1000);
  host::release(first);
  // 1000 and 1020 bytes round to the same 1024-byte block (except under
  // ASan, where released blocks go back to the system at once).
  void *again = host::allocate(1020);
#if defined(__has_feature)
#if !__has_feature(address_sanitizer)
  EXPECT_EQ(again, first);
#endif
#endif
  void *other = host::allocate(1000);
  EXPECT_NE(other, first) << "a live block is never handed out twice";
  host::release(other);
  host::release(again);
  void *empty = host::allocate(0);
  EXPECT_NE(empty, nullptr);
  host::release(empty);
}

TEST(HostMemory, LookupNamesTheArtifactsAllocator) {
  EXPECT_NE(host::lookup("_mlir_memref_to_llvm_alloc"), nullptr);
  EXPECT_NE(host::lookup("_mlir_memref_to_llvm_free"), nullptr);
  EXPECT_EQ(host::lookup("malloc"), nullptr);
}

} // namespace
