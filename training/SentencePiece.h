//===- SentencePiece.h - A SentencePiece tokenizer --------------*- C++ -*-===//
//
// Text tokenized by a SentencePiece model (Debian libsentencepiece-dev): the
// tokenizer `[data] tokenizer` names in a model description. The library's
// headers stay in the .cpp; Vocabulary holds one of these behind a pointer.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_SENTENCEPIECE_H
#define PONDER_TRAINING_SENTENCEPIECE_H

#include "runtime/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
} // namespace sentencepiece

namespace ponder {

class SentencePiece {
public:
  /// Loads the model file `path` (spm_train's .model); a missing or
  /// malformed file is one line naming it.
  static StatusOr<std::shared_ptr<const SentencePiece>>
  load(const std::string &path);
  ~SentencePiece();

  int64_t size() const;
  /// <bos> and <eos>, or -1 when the model has none.
  int32_t bos() const;
  int32_t eos() const;
  /// FNV-1a of the serialized model: equal for the same tokenizer wherever
  /// its file lives.
  uint64_t hash() const { return digest; }

  std::vector<int32_t> encode(std::string_view text) const;
  /// The text of verbal ids (all in [0, size())).
  std::string decode(const std::vector<int32_t> &ids) const;
  /// The UTF-8 bytes piece `id` stands for: 1 for a byte piece, 0 for a
  /// control or unknown piece, else its text with each U+2581 (the
  /// library's space) one byte.
  int64_t byteLength(int32_t id) const;

private:
  SentencePiece() = default;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor;
  uint64_t digest = 0;
};

/// How `ponder tokenizer train` trains: byte fallback (any UTF-8 text
/// encodes, newlines and tabs included), no normalisation and no added or
/// removed spaces, so decode(encode(text)) == text.
struct TokenizerTraining {
  std::string corpus; // a UTF-8 text file
  std::string output; // the .model; the readable .vocab goes beside it
  int64_t vocabSize = 1024;
  std::string modelType = "unigram"; // or "bpe"
  uint64_t seed = 0;                 // spm samples at most `maxSentences` lines
  int64_t maxSentences = 1000000;
};

/// Trains a tokenizer and writes it atomically (a failed run leaves no
/// file); errors are one line.
Status trainSentencePiece(const TokenizerTraining &options);

} // namespace ponder

#endif // PONDER_TRAINING_SENTENCEPIECE_H
