//===- Vocabulary.h - Text <-> verbal token ids -----------------*- C++ -*-===//
//
// MODEL.md §1: ids [0, Vv) are verbal, [Vv, V) think; special tokens (BOS,
// EOS, separators) are verbal ids chosen by the tokenizer. A Vocabulary maps
// text to verbal ids and back, and shows think ids only when asked.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_VOCABULARY_H
#define PONDER_TRAINING_VOCABULARY_H

#include "runtime/Status.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ponder {

class SentencePiece;

class Vocabulary {
public:
  /// Byte-level text: UTF-8 byte b is id b, then <bos> = 256 and
  /// <eos> = 257. Needs verbal_vocab >= 258.
  static Vocabulary bytes();

  /// One symbol per id, in order. Symbols may be several characters long
  /// (`<bos>`); encoding takes the longest symbol that matches.
  static Vocabulary symbols(std::vector<std::string> symbols);

  /// The tokenizer in SentencePiece model file `path` (training/
  /// SentencePiece.h); a missing or malformed file is one line.
  static StatusOr<Vocabulary> sentencePiece(const std::string &path);

  /// The synthetic tasks' vocabularies (docs/tasks.md): "parity",
  /// "addition", "reverse", "oracle-mix", "multiplication", "permutations"
  /// (S_2 to S_4) and "permutations5" (S_5); nullopt for another name.
  static std::optional<Vocabulary> task(std::string_view name);

  /// The number of verbal ids this vocabulary uses.
  int64_t size() const;
  int32_t bos() const { return bos_; }
  bool operator==(const Vocabulary &other) const {
    return isBytes == other.isBytes && table == other.table &&
           bos_ == other.bos_ && eos_ == other.eos_ &&
           tokenizerHash == other.tokenizerHash;
  }
  bool operator!=(const Vocabulary &other) const { return !(*this == other); }
  int32_t eos() const { return eos_; }

  /// Appends the ids of `text` to `ids`. On a character the vocabulary does
  /// not have, returns false and sets `error` to one line naming its byte
  /// offset.
  bool encode(std::string_view text, std::vector<int32_t> &ids,
              std::string &error) const;

  /// The UTF-8 bytes verbal id `id` stands for (0 for <bos>, <eos> and
  /// other control ids): the denominator of bits per byte.
  int64_t byteLength(int32_t id) const;

  /// "bytes", "a tokenizer of N pieces" or "symbols": for messages.
  std::string describe() const;

  /// The text of `ids`. Think ids (>= verbalVocab) appear as `<tK>` (K the
  /// think index) when `showThoughts`, and not at all otherwise.
  std::string decode(const std::vector<int32_t> &ids, int64_t verbalVocab,
                     bool showThoughts) const;

private:
  std::string decodePieces(const std::vector<int32_t> &ids, int64_t verbalVocab,
                           bool showThoughts) const;

  bool isBytes = false;
  std::shared_ptr<const SentencePiece> tokenizer; // sentencePiece() only
  uint64_t tokenizerHash = 0;
  std::vector<std::string> table; // symbol of each id (symbol vocabularies)
  int32_t bos_ = -1, eos_ = -1;
};

} // namespace ponder

#endif // PONDER_TRAINING_VOCABULARY_H
