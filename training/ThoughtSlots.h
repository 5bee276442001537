//===- ThoughtSlots.h - Thoughts at placed positions ------------*- C++ -*-===//
//
// Placed thoughts (`ponder train --thought-slots SPEC`, docs/training.md):
// rather than letting rollouts decide where to think (MODEL.md §6), a task's
// examples get K thought slots at fixed places: after every prompt token that
// carries information (state tracking needs thoughts while it reads), or
// before every answer token. A slot holds the first think id Vv; under
// [think] channel = "hidden" (MODEL.md §9) its input is the previous
// position's final state, so the chain of thoughts is trained by
// back-propagation alone. The placed batch also teaches the decision to think:
// an advantage of 1 at every position turns the policy term of MODEL.md §5
// into the cross-entropy of think-vs-speak, so that at evaluation the model
// emits the thoughts itself. Everything here is a pure function of its
// inputs.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_THOUGHTSLOTS_H
#define PONDER_TRAINING_THOUGHTSLOTS_H

#include "runtime/Status.h"
#include "runtime/Tensor.h"
#include "training/Tasks.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ponder {

/// Where the slots go. The prompt is the run of target-weight-0 tokens at
/// the start of an example (docs/tasks.md): `<bos>`, the problem and its
/// separator (`=` or `|`).
enum class SlotPlace {
  /// After every prompt token strictly between `<bos>` and the separator:
  /// the tokens that carry the problem.
  AfterPrompt,
  /// Before every answer token (target weight > 0) except the example's
  /// last token (its `<eos>`, which needs no thought).
  BeforeAnswer,
};

/// K slots at each place: "after-prompt:K" or "before-answer:K".
struct ThoughtSlots {
  SlotPlace place = SlotPlace::AfterPrompt;
  int64_t count = 1; // K

  /// Parses SPEC; K from 1 to 64. Errors are one line naming the spec.
  static StatusOr<ThoughtSlots> parse(const std::string &spec);
  /// The canonical spec: "after-prompt:2".
  std::string spec() const;
};

/// The thoughts that stand before each position of one example of `length`
/// tokens with target weights `targetWeight`: K at the places of `slots`,
/// else 0. Index 0 (`<bos>`) never has any.
std::vector<int32_t> thoughtsBefore(const float *targetWeight, int64_t length,
                                    const ThoughtSlots &slots);

/// The same for every row of a batch: I32 [B, T] from target_weight
/// [B, T] and lengths [B].
Tensor thoughtCounts(const Tensor &targetWeight, const Tensor &lengths,
                     const ThoughtSlots &slots);

/// `example` with its slots in place: each slot holds `thinkId`, with target
/// weight 0 and scored 0 (a thought is neither predicted nor scored).
Example placeThoughtSlots(const Example &example, const ThoughtSlots &slots,
                          int32_t thinkId);

/// A training batch with thought slots (MODEL.md §8 layout) and the
/// advantage that trains the decision to think.
struct PlacedBatch {
  Tensor ids, lengths, targetWeight, scored;
  /// 1 at every position 1 <= t < length: with it MODEL.md §5's L_pg is the
  /// mean cross-entropy of think (at a slot) versus speak (elsewhere).
  Tensor advantage;
  int64_t thoughts = 0; // slots placed over the batch
};

/// `batch` with the slots of `slots` placed in every row (padding keeps the
/// batch's own pad id). An example that would exceed `maxSeq` positions is
/// an error naming its length.
StatusOr<PlacedBatch> placeThoughtSlots(const TaskBatch &batch,
                                        const ThoughtSlots &slots,
                                        int32_t thinkId, int64_t maxSeq);

} // namespace ponder

#endif // PONDER_TRAINING_THOUGHTSLOTS_H
