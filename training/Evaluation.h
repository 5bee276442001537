//===- Evaluation.h - Held-out evaluation with thinking ---------*- C++ -*-===//
//
// `ponder eval`: one greedy walk per example (training/Rollouts.h) through
// the compiled decode step. Before every target token (or every prompt
// token, or every token: EvaluateOptions::at) the model may think (greedy
// over the full vocabulary, or on the grouped think probability under
// channel "hidden"; at most max_think think tokens in a row) until it
// chooses a verbal token; the example is right when every choice at a
// scored token is the true token. Without thinking (maxThink = 0) this is
// teacher-forced argmax accuracy over the verbal logits; with forced slots
// it is the same on the sequence with thoughts at placed positions
// (training/ThoughtSlots.h).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_EVALUATION_H
#define PONDER_TRAINING_EVALUATION_H

#include "training/Rollouts.h"
#include "training/ThoughtSlots.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace ponder {

/// Sums over the examples that have a token at one position.
struct PositionStats {
  int64_t count = 0;       // examples with a token here
  int32_t token = -1;      // the token when every example has the same one
  int64_t spans = 0;       // examples where a span opened before it
  int64_t targets = 0;     // examples where this token is a target
  int64_t scored = 0;      // examples that score this position
  int64_t correct = 0;     // of those, chosen right
  int64_t thinkTokens = 0; // think tokens before this position's token
  double nll = 0;          // sum of -l_{x_t} over the targets
  double depth = 0;        // sum of this token's depth N
  double thinkDepth = 0;   // sum of the depths of those think tokens
  int64_t known = 0;       // targets with a known true distribution
  double kl = 0;           // sum of KL(true || model) over them
};

/// Sums over the examples of one length (a difficulty measure for tasks of
/// varying length, e.g. parity:M-N).
struct LengthStats {
  int64_t length = 0, count = 0, exact = 0;
  double depth = 0;       // sum of the depth of every verbal token
  double targetDepth = 0; // sum of the depth of the token before each
                          // target (the position whose logits choose it)
  int64_t targets = 0, thinkTokens = 0;
  int64_t tokens = 0; // decoded tokens, thoughts included
  double flops = 0;   // their estimated cost (Evaluation::flops)
};

struct Evaluation {
  int64_t examples = 0, exact = 0;
  int64_t targets = 0;     // target tokens (spans)
  double nll = 0;          // sum of -l_{x_t} over them
  int64_t thinkTokens = 0; // over all spans
  int64_t tokens = 0;      // decoded tokens, think tokens included
  double depth = 0;        // sum of their depths
  /// An estimate of their floating-point operations: per depth step twice
  /// the block's and the halting unit's multiply-adds plus attention over
  /// the cached positions (4 d per key), and once the unembedding (2 d V).
  /// A thought costs what a token costs: compute per answer.
  double flops = 0;
  int64_t known = 0; // targets with a known true distribution
  double kl = 0;     // sum of KL(true || model's verbal) over them
  std::vector<PositionStats> positions; // by position in the example
  std::vector<LengthStats> lengths;     // by example length, ascending

  double accuracy() const { return examples ? double(exact) / examples : 0; }
  double meanNll() const { return targets ? nll / double(targets) : 0; }
  double thinkPerVerbal() const {
    return targets ? double(thinkTokens) / double(targets) : 0;
  }
  double meanDepth() const { return tokens ? depth / double(tokens) : 0; }
  /// Per example, i.e. per answer.
  double thoughtsPerExample() const {
    return examples ? double(thinkTokens) / double(examples) : 0;
  }
  double tokensPerExample() const {
    return examples ? double(tokens) / double(examples) : 0;
  }
  double flopsPerExample() const {
    return examples ? flops / double(examples) : 0;
  }
};

/// An estimate of a decoded token's floating-point operations (see
/// Evaluation::flops), from the model's parameter shapes.
struct FlopModel {
  double perStep = 0;  // twice the block's and halting unit's weights
  double perKey = 0;   // attention per cached key and step: 4 d
  double perToken = 0; // the unembedding: 2 d V
  static FlopModel estimate(const Artifact &artifact);
  /// A token at `position` (0-based, thoughts included) of depth N.
  double of(int64_t position, int32_t depth) const {
    return double(depth) * (perStep + perKey * double(position + 1)) + perToken;
  }
};

struct EvaluateOptions {
  int64_t maxThink = 0;   // 0: no thinking
  double temperature = 0; // 0: greedy
  uint64_t seed = 0;
  int64_t chunk = 256; // examples per decoder
  /// Where spans may open when thinking (maxThink > 0). Under [think]
  /// channel = "hidden" the decision is the grouped one (chooseNext).
  ThinkAt at = ThinkAt::Answer;
  /// When set, thoughts are not chosen: exactly these slots' thoughts stand
  /// before their positions (teacher forced), a diagnostic of placed
  /// training.
  std::optional<ThoughtSlots> forcedSlots;
  /// A control (hidden channel): every thought reads a random vector of the
  /// carried state's norm instead of it (Decoder::randomizeThoughts).
  bool randomThoughts = false;
  /// The true distribution over verbal ids of target `position` of example
  /// `index` when the task knows it (Task::knownDistribution), else empty.
  std::function<std::vector<double>(int64_t index, int64_t position)> known;
};

/// Evaluates a task batch (ids, lengths, target_weight, scored; [B, T])
/// with the decode entry of `artifact` and `weights` (checked against it).
/// Spans open where `options.at` says (before every target by default, as
/// in rollouts); accuracy counts the scored tokens, the NLL every target,
/// the thoughts every span.
StatusOr<Evaluation>
evaluate(const Artifact &artifact,
         const std::map<std::string, const Tensor *> &weights,
         const Tensor &ids, const Tensor &lengths, const Tensor &targetWeight,
         const Tensor &scored, const EvaluateOptions &options,
         const std::string &weightsSource);

} // namespace ponder

#endif // PONDER_TRAINING_EVALUATION_H
