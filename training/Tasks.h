//===- Tasks.h - Built-in training tasks ------------------------*- C++ -*-===//
//
// The synthetic tasks and byte-level text that `ponder train --task` reads
// (docs/tasks.md). Every example is a pure function of (seed, split, index),
// so a resumed run sees the same data; the train and held-out splits of
// parity, addition, multiplication, reverse and permutations are disjoint
// sets of problems, so held-out accuracy measures generalisation rather than
// memory.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_TASKS_H
#define PONDER_TRAINING_TASKS_H

#include "runtime/Status.h"
#include "runtime/Tensor.h"
#include "training/Vocabulary.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ponder {

enum class Split { Train, HeldOut };

/// One example: verbal ids (from the vocabulary's <bos>; to its <eos> except
/// for text), the loss weight of each token as a target (MODEL.md §5
/// target_weight: 0 on prompt tokens, 1 on the answer and the final <eos>)
/// and which tokens count toward accuracy (`scored`, 1/0).
struct Example {
  std::vector<int32_t> ids;
  std::vector<float> targetWeight; // same length as ids
  std::vector<uint8_t> scored;     // same length as ids
};

/// A padded batch in the layout of MODEL.md §8: ids [B, T] I32 (padding =
/// the vocabulary's <pad> id, or 0 if it has none), lengths [B] I32,
/// target_weight [B, T] F32 (0 on padding), scored [B, T] I32 (0/1).
/// T = the longest example.
struct TaskBatch {
  Tensor ids, lengths, targetWeight, scored;
};

class Task {
public:
  virtual ~Task();

  /// "parity[:BITS]" (8), "parity:M-N" (M to N bits), "addition[:DIGITS]"
  /// (2), "multiplication[:DIGITS]" (2, at most 4), "reverse[:LENGTH]" (6),
  /// "permutations[:N[:K]]" (K = 6 elements of S_N, N = 3; 2 <= N <= 5,
  /// K <= 64; S_5 has its own vocabulary, "permutations5"),
  /// "permutations:N:M-K" (M to K elements, 1 <= M <= K), "oracle-mix",
  /// "text:FILE". Checks that the task's vocabulary fits `verbalVocab` ids
  /// and its longest example `maxSeq` positions; errors are one line naming
  /// the problem.
  static StatusOr<std::unique_ptr<Task>>
  create(const std::string &spec, int64_t verbalVocab, int64_t maxSeq);

  /// The vocabulary of task `spec`, read from its kind (and N for
  /// permutations) without checking the rest: "addition:2" -> addition's,
  /// "permutations:5:8" -> permutations5, "text:FILE" -> bytes; nullopt for
  /// an unknown kind. For comparing tasks (a checkpoint's and --task)
  /// without creating them.
  static std::optional<Vocabulary> vocabularyOf(const std::string &spec);

  /// The canonical spec ("parity:8" for "parity"; "text:FILE").
  virtual std::string name() const = 0;
  virtual const Vocabulary &vocabulary() const = 0;
  /// Example number `index` of `split`, a pure function of
  /// (seed, split, index).
  virtual Example example(Split split, uint64_t seed, uint64_t index) const = 0;
  /// The Bayes-optimal expected cross-entropy per target token (verbal
  /// log-probs, MODEL.md §5), when the task knows it (oracle-mix).
  virtual std::optional<double> optimalLoss() const { return std::nullopt; }
  /// The true distribution over verbal ids of token `position` of `example`
  /// given the tokens before it, at positions where the task knows it and it
  /// is not one-hot (oracle-mix's coins); empty elsewhere.
  virtual std::vector<double> knownDistribution(const Example &example,
                                                int64_t position) const {
    return {};
  }
  /// The most positions an example takes.
  virtual int64_t maxLength() const = 0;
};

/// The batch of training step `step`: examples (seed, Train,
/// step * batchSize + i). Deterministic in (seed, step), so a resumed run
/// sees the same data order.
TaskBatch trainBatch(const Task &task, uint64_t seed, int64_t step,
                     int64_t batchSize);
/// Held-out examples [first, first + count) as one batch.
TaskBatch heldOutBatch(const Task &task, uint64_t seed, int64_t first,
                       int64_t count);
/// Pads `examples` into a batch.
TaskBatch makeTaskBatch(const Task &task, const std::vector<Example> &examples);

} // namespace ponder

#endif // PONDER_TRAINING_TASKS_H
