//===- Tasks.h - Built-in training tasks ------------------------*- C++ -*-===//
//
// The synthetic tasks and byte-level text that `ponder train --task` reads
// (docs/tasks.md). Every example is a pure function of (seed, split, index),
// and the train and held-out splits are disjoint sets of problems, so a
// resumed run sees the same data and held-out accuracy measures
// generalisation.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_TASKS_H
#define PONDER_RUNTIME_TASKS_H

#include "runtime/Status.h"
#include "runtime/Tensor.h"
#include "runtime/Vocabulary.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ponder {

enum class Split { Train, HeldOut };

/// One example: verbal ids from <bos> (to <eos> except for text), the loss
/// weight of each token as a target (MODEL.md §5 target_weight: 0 on prompt
/// tokens) and the tokens that count toward accuracy.
struct Example {
  std::vector<int32_t> ids;
  std::vector<float> targetWeight;
  std::vector<uint8_t> scored;
};

/// A padded batch in the layout of MODEL.md §8, plus `scored` [B, T] I32.
struct TaskBatch {
  Tensor ids, lengths, targetWeight, scored;
};

class Task {
public:
  virtual ~Task();
  /// "parity[:BITS]" (8), "addition[:DIGITS]" (2), "reverse[:LENGTH]" (6),
  /// "oracle-mix", "text:FILE". The vocabulary must fit `verbalVocab` and
  /// the longest example `maxSeq`.
  static StatusOr<std::unique_ptr<Task>>
  create(const std::string &spec, int64_t verbalVocab, int64_t maxSeq);

  virtual std::string name() const = 0;
  virtual const Vocabulary &vocabulary() const = 0;
  virtual Example example(Split split, uint64_t seed, uint64_t index) const = 0;
  /// The Bayes-optimal expected cross-entropy per target token, when known.
  virtual std::optional<double> optimalLoss() const { return std::nullopt; }
  /// The most positions an example takes.
  virtual int64_t maxLength() const = 0;
};

/// Pads `examples` into a batch (padding id: <pad>, or 0).
TaskBatch makeTaskBatch(const Task &task, const std::vector<Example> &examples);
/// Training step `step`'s batch: examples step * batchSize + i of Train.
TaskBatch trainBatch(const Task &task, uint64_t seed, int64_t step,
                     int64_t batchSize);
/// Held-out examples [first, first + count).
TaskBatch heldOutBatch(const Task &task, uint64_t seed, int64_t first,
                       int64_t count);

} // namespace ponder

#endif // PONDER_RUNTIME_TASKS_H
