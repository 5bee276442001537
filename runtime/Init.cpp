//===- Init.cpp - Deterministic parameter initialisation ------------------===//

#include "runtime/Init.h"
#include "runtime/Hash.h"

#include <cmath>

namespace ponder {

namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr double kInv53 = 1.0 / 9007199254740992.0; // 2^-53

} // namespace

InitKind initKindOf(std::string_view name) {
  auto endsWith = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.substr(name.size() - suffix.size()) == suffix;
  };
  // Norm weights and halt.bias are 1; every matrix and embedding is normal.
  if (name == "halt.bias" || (endsWith("norm.weight")))
    return InitKind::Ones;
  return InitKind::Normal;
}

void fillNormal(uint64_t seed, std::string_view name, float std, float *data,
                size_t count) {
  uint64_t state = seed ^ fnv1a(name);
  for (size_t i = 0; i < count; i += 2) {
    // u1 in (0, 1] keeps the logarithm finite; u2 in [0, 1).
    double u1 = static_cast<double>((splitmix64(state) >> 11) + 1) * kInv53;
    double u2 = static_cast<double>(splitmix64(state) >> 11) * kInv53;
    double r = std::sqrt(-2.0 * std::log(u1));
    data[i] = static_cast<float>(std * r * std::cos(kTwoPi * u2));
    if (i + 1 < count)
      data[i + 1] = static_cast<float>(std * r * std::sin(kTwoPi * u2));
  }
}

void initParameter(std::string_view name, uint64_t seed, float *data,
                   size_t count, float embedStd) {
  if (initKindOf(name) == InitKind::Ones) {
    for (size_t i = 0; i < count; ++i)
      data[i] = 1.0f;
    return;
  }
  bool input = name == "embed.token" || name == "embed.position";
  fillNormal(seed, name, input ? embedStd : kInitStd, data, count);
}

} // namespace ponder
