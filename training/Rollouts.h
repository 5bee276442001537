//===- Rollouts.h - Thinking walks over verbal data -------------*- C++ -*-===//
//
// MODEL.md §6: supervised data holds only verbal tokens; a walk runs the
// compiled decode step over it, and before each target token lets the model
// think (sample think tokens, at most max_think in a row) until it samples a
// verbal token, which closes the span; then the TRUE token is appended
// (teacher forcing). Rollouts are G such walks per example at temperature 1,
// scored by leave-one-out advantages and packed into one training batch;
// evaluation is one greedy walk per example (training/Evaluation.h).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_ROLLOUTS_H
#define PONDER_TRAINING_ROLLOUTS_H

#include "runtime/Decoder.h"
#include "runtime/Generate.h"

#include <cstdint>
#include <vector>

namespace ponder {

/// One thinking span: the think tokens before target position `position` of
/// the example and the verbal decision that closed it.
struct Span {
  int32_t position = 0;    // the target token's position in the example
  int32_t thinkTokens = 0; // think tokens sampled before the decision
  int32_t chosen = 0;      // the verbal token sampled to close the span
  double logProb = 0;      // l_{x_t}: verbal log-prob of the true token
  bool correct = false;    // chosen == x_t
  double thinkDepth = 0;   // sum of the think tokens' depths N
  /// The verbal log-probs l_v of the closing decision (only with
  /// WalkOptions::keepLogProbs).
  std::vector<float> verbalLogProbs;
};

/// A row of a walk: the sequence with its think tokens and, per token, the
/// position in the example it copies (-1 for a think token) and its depth N.
struct WalkRow {
  std::vector<int32_t> ids, source, depth;
  std::vector<Span> spans;
};

struct WalkOptions {
  /// Rows per example (G for rollouts, 1 for evaluation); row r walks
  /// example r / rowsPerExample.
  int64_t rowsPerExample = 1;
  double temperature = 1; // 0: greedy
  int64_t maxThink = 0;   // the longest run of think tokens; 0: never think
  /// Row r samples from its own stream, seeded by (seed, r).
  uint64_t seed = 0;
  bool keepLogProbs = false; // fill Span::verbalLogProbs
};

/// Walks every example of `ids` [B, T] (verbal ids) with `lengths` [B],
/// opening a span before each position t >= 1 whose `opens[b, t]` is
/// nonzero (F32 or I32 [B, T]: target weights for rollouts, `scored` for
/// evaluation). `decoder` must be empty with B * rowsPerExample rows. A think
/// token is sampled only while the row keeps room for the rest of its
/// example within max_seq.
StatusOr<std::vector<WalkRow>> walk(Decoder &decoder, const Tensor &ids,
                                    const Tensor &lengths, const Tensor &opens,
                                    const WalkOptions &options);

/// Leave-one-out advantages (MODEL.md §6): `rewards` holds G rows of K span
/// rewards (row-major, one row per rollout of one example); each reward minus
/// the mean of the other G - 1 rollouts' rewards at the same span. G >= 2.
std::vector<double> leaveOneOutAdvantages(const std::vector<double> &rewards,
                                          int64_t rollouts);

enum class ThinkReward { FirstVerbalLogprob, FirstVerbalCorrect };

/// "first_verbal_logprob" or "first_verbal_correct".
StatusOr<ThinkReward> parseThinkReward(const std::string &name);

struct RolloutStats {
  int64_t spans = 0, thinkTokens = 0;
  double meanReward = 0;
  double advantageStd = 0; // root mean square of the advantages
  /// The fraction of spans whose reward differs across an example's
  /// rollouts: where the leave-one-out baseline leaves a signal.
  double spreadFraction = 0;
  /// The spans that thought (at least one think token) and their mean
  /// advantage: positive when thinking beat the other rollouts.
  int64_t thinkingSpans = 0;
  double thinkingAdvantage = 0;
};

/// The rollout sequences as a training batch (MODEL.md §8 layout; row
/// e * G + g is rollout g of example e): ids [B G, T'], lengths, target
/// weights (the example's weight on copied tokens, 0 on think tokens) and
/// the span advantages on every think token and closing verbal token.
struct RolloutBatch {
  Tensor ids, lengths, targetWeight, advantage;
  RolloutStats stats;
};

struct RolloutOptions {
  int64_t rollouts = 4; // G
  int64_t maxThink = 8;
  ThinkReward reward = ThinkReward::FirstVerbalLogprob;
  uint64_t seed = 0;
};

/// Samples G rollouts per example of (ids, lengths, targetWeight) at
/// temperature 1, with spans before every target of positive weight.
/// `decoder` must be empty with B * G rows.
StatusOr<RolloutBatch> rollout(Decoder &decoder, const Tensor &ids,
                               const Tensor &lengths,
                               const Tensor &targetWeight,
                               const RolloutOptions &options);

} // namespace ponder

#endif // PONDER_TRAINING_ROLLOUTS_H
