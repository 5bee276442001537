//===- Rollouts.h - Thinking walks over verbal data -------------*- C++ -*-===//
//
// MODEL.md §6: supervised data holds only verbal tokens; a walk runs the
// compiled decode step over it, and before each target token (or wherever
// spans may open: ThinkAt) lets the model think (sample think tokens, at
// most max_think in a row) until it samples a verbal token, which closes
// the span; then the TRUE token is appended (teacher forcing). Under
// [think] channel = "hidden" the decision is §9's grouped think-vs-speak.
// Rollouts are G such walks per example at temperature 1, scored by
// leave-one-out advantages and packed into one training batch; evaluation
// is one greedy walk per example (training/Evaluation.h).
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
  /// l_{x_t} at the span's first decision: what speaking at once would have
  /// scored (the baseline of the information-gain reward, MODEL.md §9).
  double startLogProb = 0;
  bool correct = false;  // chosen == x_t
  double thinkDepth = 0; // sum of the think tokens' depths N
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
  /// Row r samples from its own stream, seeded by (seed, firstRow + r):
  /// a shard of a batch (data-parallel training) that starts at global
  /// row firstRow samples as the whole batch's rows do.
  uint64_t seed = 0;
  int64_t firstRow = 0;
  bool keepLogProbs = false; // fill Span::verbalLogProbs
  /// Think-vs-speak from the grouped probabilities, a thought writing the
  /// id Vv ([think] channel = "hidden", MODEL.md §9); otherwise v1's draw
  /// over the full vocabulary.
  bool grouped = false;
  /// While sampling and allowed to think, think with probability at least
  /// this (exploration: no-think is then not absorbing).
  double thinkFloor = 0;
  /// When set (I32 [B, T]), thoughts are not chosen: exactly forced[b, t]
  /// think ids Vv stand before position t, and a span opens there too.
  const Tensor *forced = nullptr;
  /// When set (I32 [B, T]), a span before position t may think only where
  /// it is nonzero; elsewhere it decides at once (a target must still be
  /// predicted and scored where no thought may go).
  const Tensor *mayThink = nullptr;
};

/// How a row chooses its next token (WalkOptions).
struct ThinkChoice {
  int64_t verbal = 0, vocab = 0; // ids >= verbal are think ids
  double temperature = 1;        // 0: greedy
  bool grouped = false;
  double thinkFloor = 0;
};

/// The grouped think probability: softmax(z)'s mass on the think ids.
/// At `temperature`, softmax(z / T)'s.
double thinkProbability(const float *logits, int64_t verbal, int64_t vocab,
                        double temperature = 1);

/// The next token from `logits` ([vocab]): a think id or a verbal one.
/// Grouped: greedy thinks iff the think probability exceeds 0.5, sampling
/// thinks with that probability (at least thinkFloor) and a thought is Vv;
/// the verbal choice is then over the verbal ids alone. Not grouped and no
/// floor: exactly v1's Sampler::sample over the full vocabulary.
/// `mayThink` false masks every think id.
int32_t chooseNext(Sampler &sampler, const float *logits,
                   const ThinkChoice &choice, bool mayThink);

/// Where spans may open (`--think-at`): before target tokens (v1), before
/// prompt tokens after `<bos>` (target weight 0), or before every token
/// t >= 1.
enum class ThinkAt { Answer, Prompt, All };

/// "answer", "prompt" or "all".
StatusOr<ThinkAt> parseThinkAt(const std::string &name);
const char *thinkAtName(ThinkAt at);

/// The positions `at` names for a batch: I32 [B, T], 1 where a span may
/// think before position t (1 <= t < lengths[b]).
Tensor spanOpenings(const Tensor &targetWeight, const Tensor &lengths,
                    ThinkAt at);

/// Where a walk that thinks at `at` opens spans: there and before every
/// target, which is decided (and rewarded or scored) even where no thought
/// may go.
Tensor decisionPoints(const Tensor &targetWeight, const Tensor &lengths,
                      ThinkAt at);

/// Walks every example of `ids` [B, T] (verbal ids) with `lengths` [B],
/// opening a span before each position t >= 1 whose `opens[b, t]` (or
/// forced count) is nonzero (F32 or I32 [B, T]: target weights for v1
/// rollouts and evaluation, spanOpenings() otherwise). `decoder` must be
/// empty with B * rowsPerExample rows. A think token is chosen only while
/// the row keeps room for the rest of its example within max_seq.
StatusOr<std::vector<WalkRow>> walk(Decoder &decoder, const Tensor &ids,
                                    const Tensor &lengths, const Tensor &opens,
                                    const WalkOptions &options);

/// Leave-one-out advantages (MODEL.md §6): `rewards` holds G rows of K span
/// rewards (row-major, one row per rollout of one example); each reward minus
/// the mean of the other G - 1 rollouts' rewards at the same span. G >= 2.
std::vector<double> leaveOneOutAdvantages(const std::vector<double> &rewards,
                                          int64_t rollouts);

enum class ThinkReward {
  FirstVerbalLogprob,
  FirstVerbalCorrect,
  InformationGain
};

/// "first_verbal_logprob", "first_verbal_correct" or "information_gain".
StatusOr<ThinkReward> parseThinkReward(const std::string &name);

/// A span's reward before costs (MODEL.md §6, §9): l_{x_t}, [chosen ==
/// x_t], or the information gain l_{x_t} - startLogProb (exactly 0 for a
/// span without thoughts).
double spanReward(const Span &span, ThinkReward reward);

/// Leave-one-out advantages as above, each negative one set to 0
/// (Quiet-STaR: thoughts are pushed toward the ones that helped, never
/// away from the baseline's).
std::vector<double> clampAdvantages(std::vector<double> advantages);

/// Per rollout row of K spans (as in leaveOneOutAdvantages), each reward
/// replaced by the sum of it and the row's later ones: the return-to-go,
/// which credits a thought in the prompt with the answer it helped.
std::vector<double> returnsToGo(const std::vector<double> &rewards,
                                int64_t rollouts);

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
  int64_t firstRow = 0;         // WalkOptions::firstRow
  bool grouped = false;         // channel "hidden" (WalkOptions::grouped)
  ThinkAt at = ThinkAt::Answer; // where spans may open
  /// Subtracted from a span's reward per thought.
  double thinkCost = 0;
  double thinkFloor = 0; // WalkOptions::thinkFloor
  bool clampAdvantages = false;
  /// Advantages from returns-to-go rather than each span's own reward.
  bool returnToGo = false;
};

/// Samples G rollouts per example of (ids, lengths, targetWeight) at
/// temperature 1, with spans where `options.at` says. A span's reward is
/// spanReward() before a target (target weight > 0) and 0 before a prompt
/// token (not a prediction the model is trained on), minus thinkCost per
/// thought.
/// `decoder` must be empty with B * G rows.
StatusOr<RolloutBatch> rollout(Decoder &decoder, const Tensor &ids,
                               const Tensor &lengths,
                               const Tensor &targetWeight,
                               const RolloutOptions &options);

} // namespace ponder

#endif // PONDER_TRAINING_ROLLOUTS_H
