//===- Rollouts.cpp - Thinking walks over verbal data ---------------------===//

#include "training/Rollouts.h"
#include "runtime/ArtifactContract.h"
#include "runtime/Hash.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ponder {

namespace {

/// What a row of a walk does next.
struct RowState {
  int64_t next = 0;     // the example's next token to place
  int64_t thinkRun = 0; // think tokens since the last verbal one
  std::vector<int32_t> pendingIds, pendingSource;
  Span open;
};

double verbalLogSumExp(const float *z, int64_t verbal) {
  float top = *std::max_element(z, z + verbal);
  double sum = 0;
  for (int64_t v = 0; v < verbal; ++v)
    sum += std::exp(double(z[v]) - top);
  return top + std::log(sum);
}

Status checkBatch(const Tensor &ids, const Tensor &lengths,
                  const Tensor &perPosition, const char *name) {
  if (ids.dtype() != DType::I32 || ids.rank() != 2)
    return Status::error("expected ids I32 [B, T]");
  int64_t b = ids.shape()[0], t = ids.shape()[1];
  if (lengths.dtype() != DType::I32 || lengths.shape() != std::vector{b})
    return Status::error("expected lengths I32 [" + std::to_string(b) + "]");
  if (perPosition.shape() != ids.shape() ||
      (perPosition.dtype() != DType::F32 && perPosition.dtype() != DType::I32))
    return Status::error(std::string("expected ") + name +
                         " F32 or I32 with the shape of ids");
  for (int64_t r = 0; r < b; ++r)
    if (lengths.data<int32_t>()[r] < 1 || lengths.data<int32_t>()[r] > t)
      return Status::error("lengths[" + std::to_string(r) +
                           "] = " + std::to_string(lengths.data<int32_t>()[r]) +
                           " is outside [1, " + std::to_string(t) + "]");
  return Status::ok();
}

/// Checks a walk's inputs against its decoder (WalkOptions, walk()).
Status checkWalk(const Decoder &decoder, const Tensor &ids,
                 const Tensor &lengths, const Tensor &opens,
                 const WalkOptions &options) {
  if (Status s = checkBatch(ids, lengths, opens, "span openings"); !s)
    return s;
  const Artifact &model = decoder.model();
  int64_t examples = ids.shape()[0];
  int64_t g = options.rowsPerExample, rows = examples * g;
  if (g < 1 || decoder.batch() != rows)
    return Status::error("the walk needs a decoder of " + std::to_string(rows) +
                         " rows, got " + std::to_string(decoder.batch()));
  if (std::any_of(decoder.positions().begin(), decoder.positions().end(),
                  [](int32_t n) { return n != 0; }))
    return Status::error("the walk needs an empty decoder");
  for (int64_t e = 0; e < examples; ++e)
    if (lengths.data<int32_t>()[e] > model.maxSeq())
      return Status::error(
          "example " + std::to_string(e) + " has " +
          std::to_string(lengths.data<int32_t>()[e]) +
          " tokens, more than max_seq = " + std::to_string(model.maxSeq()));
  return Status::ok();
}

/// One walk over checked inputs: every row decodes its pending tokens in one
/// decoder call per step, then samples its next decision.
class Walker {
public:
  Walker(Decoder &decoder, const Tensor &ids, const Tensor &lengths,
         const Tensor &opens, const WalkOptions &options)
      : decoder(decoder), model(decoder.model()), ids(ids), lengths(lengths),
        opens(opens), options(options), t(ids.shape()[1]),
        g(options.rowsPerExample), rows(ids.shape()[0] * g),
        verbal(model.verbalVocab()), vocab(model.vocabSize()),
        sampling{verbal, options.temperature, options.maxThink},
        result(static_cast<size_t>(rows)), state(static_cast<size_t>(rows)) {
    samplers.reserve(size_t(rows));
    for (int64_t r = 0; r < rows; ++r) {
      uint64_t mixed = options.seed ^ (0x9e3779b97f4a7c15ull * uint64_t(r + 1));
      samplers.emplace_back(splitmix64(mixed));
    }
  }

  /// Walks every row to the end of its example; call once.
  StatusOr<std::vector<WalkRow>> run() {
    for (int64_t r = 0; r < rows; ++r)
      queueCopies(r);
    for (;;) {
      size_t width = 0;
      for (const RowState &s : state)
        width = std::max(width, s.pendingIds.size());
      if (width == 0)
        break;
      if (Status s = decodePending(width); !s)
        return s;
    }
    return std::move(result);
  }

private:
  const int32_t *exampleIds(int64_t r) const {
    return ids.data<int32_t>() + (r / g) * t;
  }
  int64_t exampleLength(int64_t r) const {
    return lengths.data<int32_t>()[r / g];
  }
  bool opensAt(int64_t r, int64_t p) const {
    int64_t e = r / g;
    return opens.dtype() == DType::F32 ? opens.data<float>()[e * t + p] != 0
                                       : opens.data<int32_t>()[e * t + p] != 0;
  }

  Status decodePending(size_t width);
  void queueCopies(int64_t r);
  void recordDecoded(int64_t r, const int32_t *depths, int32_t count);
  void sampleNext(int64_t r, const float *z);
  void closeSpan(int64_t r, int32_t chosen, const float *z);

  Decoder &decoder;
  const Artifact &model;
  const Tensor &ids, &lengths, &opens;
  const WalkOptions &options;
  int64_t t, g, rows, verbal, vocab;
  SamplingOptions sampling;
  std::vector<WalkRow> result;
  std::vector<RowState> state;
  std::vector<Sampler> samplers;
};

/// Queues row r's example tokens from `next` up to (not including) the next
/// one a span opens before.
void Walker::queueCopies(int64_t r) {
  RowState &s = state[r];
  const int32_t *x = exampleIds(r);
  int64_t length = exampleLength(r);
  do {
    s.pendingIds.push_back(x[s.next]);
    s.pendingSource.push_back(int32_t(s.next));
    ++s.next;
  } while (s.next < length && !opensAt(r, s.next));
}

/// Appends every row's pending tokens (`width` at most) to the decoder, then
/// records them and samples what each unfinished row does next.
Status Walker::decodePending(size_t width) {
  Tensor chunk(DType::I32, {rows, int64_t(width)});
  std::vector<int32_t> counts(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<int32_t> &p = state[r].pendingIds;
    std::copy(p.begin(), p.end(), chunk.data<int32_t>() + r * width);
    counts[r] = int32_t(p.size());
  }
  StatusOr<DecodeOutputs> out = decoder.append(chunk, counts);
  if (!out)
    return out.getStatus();

  for (int64_t r = 0; r < rows; ++r) {
    if (counts[r] == 0)
      continue;
    recordDecoded(r, out->steps.data<int32_t>() + r * width, counts[r]);
    if (state[r].next == exampleLength(r))
      continue; // every token placed and decoded
    sampleNext(r, out->logits.data<float>() +
                      (r * int64_t(width) + counts[r] - 1) * vocab);
  }
  return Status::ok();
}

/// Moves row r's `count` decoded tokens, with their depths, into its result.
void Walker::recordDecoded(int64_t r, const int32_t *depths, int32_t count) {
  RowState &s = state[r];
  WalkRow &row = result[r];
  for (int32_t i = 0; i < count; ++i) {
    int32_t depth = depths[i];
    row.ids.push_back(s.pendingIds[i]);
    row.source.push_back(s.pendingSource[i]);
    row.depth.push_back(depth);
    if (s.pendingSource[i] < 0)
      s.open.thinkDepth += depth;
  }
  s.pendingIds.clear();
  s.pendingSource.clear();
}

/// Samples row r's next token from `z`, the logits after its last one: a
/// think token extends the open span, a verbal one closes it.
void Walker::sampleNext(int64_t r, const float *z) {
  RowState &s = state[r];
  // A think token must leave room for the rest of the example.
  bool room = int64_t(result[r].ids.size()) + 1 + (exampleLength(r) - s.next) <=
              model.maxSeq();
  int64_t run = room ? s.thinkRun : std::numeric_limits<int64_t>::max();
  int32_t chosen = samplers[r].sample(z, vocab, sampling, run);
  if (chosen >= verbal) {
    ++s.open.thinkTokens;
    ++s.thinkRun;
    s.pendingIds.push_back(chosen);
    s.pendingSource.push_back(-1);
    return;
  }
  closeSpan(r, chosen, z);
}

/// Closes row r's open span on the verbal decision `chosen` (logits `z`) and
/// queues the true tokens that follow (teacher forcing).
void Walker::closeSpan(int64_t r, int32_t chosen, const float *z) {
  RowState &s = state[r];
  int32_t truth = exampleIds(r)[s.next];
  s.open.position = int32_t(s.next);
  s.open.chosen = chosen;
  double normaliser = verbalLogSumExp(z, verbal);
  s.open.logProb = double(z[truth]) - normaliser;
  if (options.keepLogProbs)
    for (int64_t v = 0; v < verbal; ++v)
      s.open.verbalLogProbs.push_back(float(double(z[v]) - normaliser));
  s.open.correct = chosen == truth;
  result[r].spans.push_back(s.open);
  s.open = Span();
  s.thinkRun = 0;
  queueCopies(r);
}

} // namespace

StatusOr<std::vector<WalkRow>> walk(Decoder &decoder, const Tensor &ids,
                                    const Tensor &lengths, const Tensor &opens,
                                    const WalkOptions &options) {
  if (Status s = checkWalk(decoder, ids, lengths, opens, options); !s)
    return s;
  return Walker(decoder, ids, lengths, opens, options).run();
}

std::vector<double> leaveOneOutAdvantages(const std::vector<double> &rewards,
                                          int64_t rollouts) {
  size_t spans = rewards.size() / size_t(rollouts);
  std::vector<double> advantages(rewards.size());
  for (size_t k = 0; k < spans; ++k) {
    double total = 0;
    for (int64_t g = 0; g < rollouts; ++g)
      total += rewards[size_t(g) * spans + k];
    for (int64_t g = 0; g < rollouts; ++g) {
      double r = rewards[size_t(g) * spans + k];
      advantages[size_t(g) * spans + k] =
          r - (total - r) / double(rollouts - 1);
    }
  }
  return advantages;
}

StatusOr<ThinkReward> parseThinkReward(const std::string &name) {
  if (name == PONDER_THINK_REWARD_FIRST_VERBAL_LOGPROB)
    return ThinkReward::FirstVerbalLogprob;
  if (name == PONDER_THINK_REWARD_FIRST_VERBAL_CORRECT)
    return ThinkReward::FirstVerbalCorrect;
  return Status::error("unknown think reward '" + name +
                       "'; expected " PONDER_THINK_REWARD_FIRST_VERBAL_LOGPROB
                       " or " PONDER_THINK_REWARD_FIRST_VERBAL_CORRECT);
}

namespace {

/// The span rewards of example e's G rollouts, one row of spans per rollout.
std::vector<double> exampleRewards(const std::vector<WalkRow> &rows, int64_t e,
                                   int64_t g, ThinkReward reward) {
  std::vector<double> rewards;
  for (int64_t i = 0; i < g; ++i)
    for (const Span &s : rows[e * g + i].spans)
      rewards.push_back(reward == ThinkReward::FirstVerbalLogprob
                            ? s.logProb
                            : double(s.correct));
  return rewards;
}

/// The spans of one example whose reward differs across its G rollouts.
int64_t spreadSpans(const std::vector<double> &rewards, int64_t g,
                    size_t spans) {
  int64_t spread = 0;
  for (size_t k = 0; k < spans; ++k) {
    bool differs = false;
    for (int64_t i = 1; i < g; ++i)
      differs |= rewards[i * spans + k] != rewards[k];
    spread += differs;
  }
  return spread;
}

/// Writes walk row `row` into row r of `batch`: its ids and length, the
/// example's weights `weight` on copied tokens and the span advantages
/// `advantages` (one per span of the row).
void packRow(RolloutBatch &batch, const WalkRow &row, int64_t r,
             const float *weight, const double *advantages) {
  int64_t width = batch.ids.shape()[1];
  batch.lengths.data<int32_t>()[r] = int32_t(row.ids.size());
  size_t span = 0;
  for (size_t p = 0; p < row.ids.size(); ++p) {
    int64_t at = r * width + int64_t(p);
    batch.ids.data<int32_t>()[at] = row.ids[p];
    int32_t source = row.source[p];
    if (source >= 0)
      batch.targetWeight.data<float>()[at] = weight[source];
    // Think tokens and the copied token that closes their span carry the
    // span's advantage.
    if (span < row.spans.size() &&
        (source < 0 || source == row.spans[span].position)) {
      batch.advantage.data<float>()[at] = float(advantages[span]);
      span += source >= 0;
    }
  }
}

/// Adds the first `spans` spans of `row`, with their advantages, to the
/// thinking statistics.
void addThinking(RolloutStats &stats, const WalkRow &row,
                 const double *advantages, size_t spans) {
  for (size_t k = 0; k < spans; ++k) {
    const Span &s = row.spans[k];
    stats.thinkTokens += s.thinkTokens;
    if (s.thinkTokens > 0) {
      ++stats.thinkingSpans;
      stats.thinkingAdvantage += advantages[k];
    }
  }
}

} // namespace

StatusOr<RolloutBatch> rollout(Decoder &decoder, const Tensor &ids,
                               const Tensor &lengths,
                               const Tensor &targetWeight,
                               const RolloutOptions &options) {
  if (options.rollouts < 2)
    return Status::error("rollouts need G >= 2 for the leave-one-out "
                         "baseline, got " +
                         std::to_string(options.rollouts));
  if (targetWeight.dtype() != DType::F32)
    return Status::error("expected target_weight F32");
  WalkOptions walkOptions{options.rollouts, 1.0, options.maxThink,
                          options.seed};
  auto rows = walk(decoder, ids, lengths, targetWeight, walkOptions);
  if (!rows)
    return rows.getStatus();

  int64_t g = options.rollouts, count = int64_t(rows->size());
  int64_t t = ids.shape()[1], width = 1;
  for (const WalkRow &row : *rows)
    width = std::max(width, int64_t(row.ids.size()));
  RolloutBatch batch;
  batch.ids = Tensor(DType::I32, {count, width});
  batch.lengths = Tensor(DType::I32, {count});
  batch.targetWeight = Tensor(DType::F32, {count, width});
  batch.advantage = Tensor(DType::F32, {count, width});
  RolloutStats &stats = batch.stats;
  double rewardSum = 0, squareSum = 0;
  int64_t spread = 0;
  for (int64_t e = 0; e < count / g; ++e) {
    size_t spans = (*rows)[e * g].spans.size();
    std::vector<double> rewards = exampleRewards(*rows, e, g, options.reward);
    std::vector<double> advantages = leaveOneOutAdvantages(rewards, g);
    spread += spreadSpans(rewards, g, spans);
    for (int64_t i = 0; i < g; ++i) {
      const WalkRow &row = (*rows)[e * g + i];
      const double *rowAdvantages = advantages.data() + size_t(i) * spans;
      packRow(batch, row, e * g + i, targetWeight.data<float>() + e * t,
              rowAdvantages);
      addThinking(stats, row, rowAdvantages, spans);
    }
    for (size_t k = 0; k < rewards.size(); ++k) {
      rewardSum += rewards[k];
      squareSum += advantages[k] * advantages[k];
    }
    stats.spans += int64_t(rewards.size());
  }
  if (stats.spans > 0) {
    stats.meanReward = rewardSum / double(stats.spans);
    stats.advantageStd = std::sqrt(squareSum / double(stats.spans));
    stats.spreadFraction = double(spread) * double(g) / double(stats.spans);
  }
  if (stats.thinkingSpans > 0)
    stats.thinkingAdvantage /= double(stats.thinkingSpans);
  return batch;
}

} // namespace ponder
