//===- Init.h - Deterministic parameter initialisation ----------*- C++ -*-===//
//
// `ponder init --seed S` (MODEL.md §3): matrices and embeddings ~ N(0, 0.02),
// norm weights 1, halt.bias 1. The same seed gives the same bytes on every
// machine: the generator is fixed here and documented in
// docs/contract-notes.md.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_INIT_H
#define PONDER_RUNTIME_INIT_H

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ponder {

/// How MODEL.md §3 initialises the parameter called `name`.
enum class InitKind { Normal, Ones };
InitKind initKindOf(std::string_view name);

/// The standard deviation of Normal parameters.
constexpr float kInitStd = 0.02f;

/// Fills `data[0, count)` for parameter `name` from `seed`. Each parameter
/// draws from its own stream (seed mixed with the name's FNV-1a hash), so a
/// parameter's values do not depend on the others or their order.
/// `embedStd` is the std of the input embeddings `embed.token` and
/// `embed.position` (MODEL.md §3: kInitStd). A larger one puts a token's
/// input on the scale of a thought's, the final normed state (RMS 1), under
/// [think] channel = "hidden" (docs/contract-notes.md).
void initParameter(std::string_view name, uint64_t seed, float *data,
                   size_t count, float embedStd = kInitStd);

/// Normal(0, std) samples of the stream (seed, name): splitmix64 pairs
/// through Box-Muller in double precision, rounded to float.
void fillNormal(uint64_t seed, std::string_view name, float std, float *data,
                size_t count);

} // namespace ponder

#endif // PONDER_RUNTIME_INIT_H
