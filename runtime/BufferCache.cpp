//===- BufferCache.cpp - Freed blocks kept for reuse by size --------------===//

#include "runtime/BufferCache.h"

namespace ponder {

void *BufferCache::reuse(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cached.find(bytes);
  if (it == cached.end())
    return nullptr;
  void *block = it->second;
  cached.erase(it);
  cachedBytes -= bytes;
  return block;
}

void BufferCache::add(void *block, size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  sizes[block] = bytes;
}

bool BufferCache::release(void *block) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = sizes.find(block);
  if (it == sizes.end())
    return false;
  cached.emplace(it->second, block);
  cachedBytes += it->second;
  return true;
}

std::vector<void *> BufferCache::takeCached() {
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<void *> blocks;
  for (const auto &[bytes, block] : cached) {
    blocks.push_back(block);
    sizes.erase(block);
  }
  cached.clear();
  cachedBytes = 0;
  return blocks;
}

std::vector<void *> BufferCache::takeCachedIfOver(size_t limit) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (cachedBytes <= limit)
      return {};
  }
  return takeCached();
}

} // namespace ponder
