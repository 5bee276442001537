//===- Corpus.h - Text corpora as windows of token ids ----------*- C++ -*-===//
//
// `ponder train --data FILE [--val FILE]` (docs/training.md): a UTF-8 text
// file is tokenized once, line by line, into a flat file of ids beside it
// (FILE.ids), which every later run memory-maps, so a corpus larger than
// memory trains. The cache is rebuilt when the corpus (its size or
// modification time) or the tokenizer changes.
//
// Training examples are windows of max_seq - 1 ids after <bos>, starting
// at offsets drawn from the run's seed; held-out windows tile the
// validation file, or the last 10% of the corpus when there is none, so an
// evaluation of all of them reads each held-out id once.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_CORPUS_H
#define PONDER_TRAINING_CORPUS_H

#include "training/Tasks.h"

#include <cstdint>
#include <memory>
#include <string>

namespace ponder {

/// A corpus's ids, tokenized once and memory-mapped.
class TokenFile {
public:
  /// The ids of text file `corpus` under `vocab`, from the cache beside it
  /// when that is current, else tokenized and cached first (atomically).
  /// Errors are one line: a missing, empty or non-UTF-8 file (naming the
  /// line), an id the vocabulary cannot make, a cache that cannot be
  /// written.
  static StatusOr<std::shared_ptr<const TokenFile>>
  open(const std::string &corpus, const Vocabulary &vocab);
  ~TokenFile();
  TokenFile(const TokenFile &) = delete;
  TokenFile &operator=(const TokenFile &) = delete;

  const int32_t *ids() const { return first; }
  int64_t size() const { return count; }
  /// The cache file, and whether this open() wrote it.
  const std::string &cachePath() const { return cache; }
  bool built() const { return wasBuilt; }

private:
  TokenFile() = default;
  std::string cache;
  void *mapping = nullptr;
  size_t mappedBytes = 0;
  const int32_t *first = nullptr;
  int64_t count = 0;
  bool wasBuilt = false;
};

/// The task of `ponder train --data`, named "data:CORPUS".
class CorpusTask : public Task {
public:
  /// Windows of `window` ids (0: as many as max_seq holds after <bos>) of
  /// `corpus` (and of `val`, when not empty) under `vocab`, checked
  /// against the model's `verbalVocab` and `maxSeq`.
  static StatusOr<std::unique_ptr<CorpusTask>>
  create(const std::string &corpus, const std::string &val,
         const Vocabulary &vocab, int64_t verbalVocab, int64_t maxSeq,
         int64_t window = 0);

  std::string name() const override { return "data:" + corpusPath; }
  const Vocabulary &vocabulary() const override { return vocab; }
  int64_t maxLength() const override { return window + (vocab.bos() >= 0); }
  Example example(Split split, uint64_t seed, uint64_t index) const override;

  /// Held-out windows: example(HeldOut, _, i) for i below this are
  /// distinct and cover the held-out ids once.
  int64_t heldOutWindows() const { return heldOutCount; }
  /// Ids in the training and held-out ranges.
  int64_t trainIds() const { return trainEnd; }
  int64_t heldOutIds() const;
  /// Where windows start: training window `index` of `seed` in the
  /// corpus, held-out window `index` in the validation file (or the
  /// corpus, when there is none).
  int64_t trainOffset(uint64_t seed, uint64_t index) const;
  int64_t heldOutOffset(uint64_t index) const;

private:
  CorpusTask(Vocabulary vocab) : vocab(std::move(vocab)) {}
  std::string corpusPath;
  Vocabulary vocab;
  std::shared_ptr<const TokenFile> train, heldOut; // may be one file
  int64_t window = 0;                              // ids after <bos>
  int64_t trainEnd = 0; // training windows lie in train[0, trainEnd)
  int64_t heldOutBegin = 0, heldOutCount = 0;
};

/// The corpus of task spec "data:FILE", or "" for another task.
std::string corpusOf(const std::string &taskSpec);

/// The vocabulary of a corpus: the SentencePiece model at `tokenizer`, or
/// bytes when it is "".
StatusOr<Vocabulary> corpusVocabulary(const std::string &tokenizer);

} // namespace ponder

#endif // PONDER_TRAINING_CORPUS_H
