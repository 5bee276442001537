//===- Hash.h - FNV-1a and splitmix64 ---------------------------*- C++ -*-===//
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

/// splitmix64 (Steele, Lea, Flood 2014): a full-period 64-bit generator whose
/// every output is a fixed function of the state, so streams are portable.
inline uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

} // namespace ponder

#endif // PONDER_RUNTIME_HASH_H
