//===- Decoder.h - Cached decoding with a compiled model --------*- C++ -*-===//
//
// Runs an artifact's @decode entry (docs/decoding.md): each call appends new
// tokens to every row, costing their own depth steps plus attention over the
// per-(step, position) key/value cache; the prefix is never recomputed.
// Under the hidden channel (MODEL.md §9) it also keeps each row's last final
// normed state, which a thought at the next call's first token reads.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_DECODER_H
#define PONDER_RUNTIME_DECODER_H

#include "runtime/Artifact.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ponder {

/// What one decode call returns for its new tokens.
struct DecodeOutputs {
  Tensor logits;    // [B, T, V]
  Tensor steps;     // [B, T] i32: N of each new token
  Tensor remainder; // [B, T]
};

class Decoder {
public:
  /// A decoder of `batch` empty rows. `artifact` and `weights` must outlive
  /// it; the weights are checked against the artifact's descriptor.
  static StatusOr<std::unique_ptr<Decoder>>
  create(const Artifact &artifact,
         const std::map<std::string, const Tensor *> &weights, int64_t batch,
         const std::string &weightsSource);

  /// Appends the first `lengths[b]` tokens of row b of `ids` ([B, T] i32) and
  /// returns their outputs. Ids must be in [0, V), lengths in [0, T] with at
  /// least one positive, and every row that grows must have room:
  /// positions()[b] + T <= max_seq. A row of length 0 is left as it is (its
  /// outputs are padding), so rows can advance at their own pace.
  StatusOr<DecodeOutputs> append(const Tensor &ids,
                                 const std::vector<int32_t> &lengths);

  /// Appends one token to each row (`ids` has one id per row).
  StatusOr<DecodeOutputs> append(const std::vector<int32_t> &ids);

  /// The number of tokens cached in each row.
  const std::vector<int32_t> &positions() const { return cached; }
  int64_t batch() const { return int64_t(cached.size()); }
  const Artifact &model() const { return artifact; }
  /// The most tokens a row holds (the model's max_seq).
  int64_t maxSeq() const { return artifact.maxSeq(); }
  /// Empties every row.
  void reset();
  /// Keeps only `rows` (ascending row numbers), which become rows 0, 1, ...
  /// with their caches: rows that finished stop costing work in later calls.
  Status keepRows(const std::vector<int64_t> &rows);

  /// A control for the hidden channel (MODEL.md §9): from now on, a thought
  /// that opens a call reads a random vector of the carried state's norm,
  /// drawn from (seed, row, position), instead of that state. A no-op for
  /// the token channel.
  void randomizeThoughts(uint64_t seed) {
    noise = true;
    noiseSeed = seed;
  }

private:
  Decoder(const Artifact &artifact, const EntryPoint &entry,
          std::map<std::string, const Tensor *> values, int64_t batch);

  const Artifact &artifact;
  const EntryPoint &entry;
  std::map<std::string, const Tensor *> values; // parameters
  Tensor keys, values_;                         // [N_max, B, max_seq, d]
  /// [B, d]: each row's last normed state (hidden channel only).
  Tensor carry;
  bool hidden = false;
  bool noise = false;
  uint64_t noiseSeed = 0;
  std::vector<int32_t> cached;
  /// Each row's number when the decoder was made: the random thoughts of a
  /// row do not change when others are dropped.
  std::vector<int64_t> origin;

  /// Replaces the carry of each row whose first new id is a thought.
  void replaceCarriedThoughts(const Tensor &ids,
                              const std::vector<int32_t> &lengths);
  /// Writes each growing row's new keys or values (`fresh`, [N_max, B, T,
  /// d], from decode) into `cache` after its cached positions.
  void writeNewPositions(const Tensor &fresh, Tensor &cache,
                         const std::vector<int32_t> &lengths) const;
  /// Copies each grown row's last normed state into `carry`.
  void keepCarry(const Tensor &normed, const std::vector<int32_t> &lengths);
};

} // namespace ponder

#endif // PONDER_RUNTIME_DECODER_H
