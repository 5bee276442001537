//===- Hash.h - FNV-1a, shared by the compiler and the runtime --*- C++ -*-===//
//
// Header-only so the compiler (ponderc's model hash) and the runtime
// (artifact cache keys, initialisation streams) compute identical values
// without the runtime linking anything of the compiler.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_HASH_H
#define PONDER_RUNTIME_HASH_H

#include <cstdint>
#include <string_view>

namespace ponder {

constexpr uint64_t kFnv1aOffset = 1469598103934665603ull;

/// 64-bit FNV-1a of `bytes`, continuing from `hash`.
inline uint64_t fnv1a(std::string_view bytes, uint64_t hash = kFnv1aOffset) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

} // namespace ponder

#endif // PONDER_RUNTIME_HASH_H
