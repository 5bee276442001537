//===- Generate.h - Sampling and the generation loop ------------*- C++ -*-===//
//
// Token choice for generation and rollouts (MODEL.md §6): greedy or softmax
// sampling at a temperature over the full vocabulary, think ids masked out
// after `max_think` consecutive think tokens; and the loop that prefills a
// prompt and decodes with a Decoder until an end token, a token budget or
// max_seq.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_GENERATE_H
#define PONDER_RUNTIME_GENERATE_H

#include "runtime/Decoder.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace ponder {

struct SamplingOptions {
  int64_t verbalVocab = 0; // ids >= verbalVocab are think tokens
  double temperature = 0;  // 0: greedy (argmax, first on ties)
  int64_t maxThink = 0;    // longest run of think tokens
};

/// Chooses tokens from logits with its own splitmix64 stream, so the same
/// seed and logits give the same tokens on every machine.
class Sampler {
public:
  explicit Sampler(uint64_t seed) : state(seed) {}

  /// The next token from `logits` ([vocab]) after `thinkRun` consecutive
  /// think tokens: think ids are excluded once thinkRun >= maxThink.
  int32_t sample(const float *logits, int64_t vocab,
                 const SamplingOptions &options, int64_t thinkRun);

  /// A uniform double in [0, 1).
  double uniform();

private:
  uint64_t state;
};

struct GenerateOptions {
  SamplingOptions sampling;
  int64_t maxNew = 64; // new tokens at most, think tokens included
  int32_t eos = -1;    // stops generation (and is not returned); -1: none
  uint64_t seed = 0;
};

struct Generation {
  std::vector<int32_t> ids; // the new tokens, without the end token
  /// The depth N of each new token that was decoded (appended to the cache);
  /// the last new token is chosen but not decoded.
  std::vector<int32_t> decodedSteps;
  bool sawEos = false;
  bool reachedMaxSeq = false; // stopped because the row is full
  double prefillSeconds = 0, decodeSeconds = 0;
};

/// Appends `prompt` to row 0 of an empty single-row `decoder`, then samples
/// and appends one token at a time. `onToken` sees each new token as it is
/// chosen (to stream output).
StatusOr<Generation>
generate(Decoder &decoder, const std::vector<int32_t> &prompt,
         const GenerateOptions &options,
         const std::function<void(int32_t)> &onToken = nullptr);

/// Generates from every prompt together: row r of an empty `decoder` of
/// prompts.size() rows samples with its own stream, seeded options.seed + r,
/// and gives what generate() gives for its prompt with that seed. A row stops
/// at its own end token, budget or max_seq and then leaves the decoder
/// (Decoder::keepRows), so finished rows cost no further work. `onToken(r,
/// id)` sees each new token of row r as it is chosen. Every generation's
/// prefill and decode seconds are those of the whole batch.
StatusOr<std::vector<Generation>>
generateBatch(Decoder &decoder,
              const std::vector<std::vector<int32_t>> &prompts,
              const GenerateOptions &options,
              const std::function<void(int64_t, int32_t)> &onToken = nullptr);

} // namespace ponder

#endif // PONDER_RUNTIME_GENERATE_H
