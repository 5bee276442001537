//===- Rollouts.cpp - Thinking walks over verbal data ---------------------===//

#include "training/Rollouts.h"
#include "runtime/ArtifactContract.h"
#include "runtime/Hash.h"

#include <algorithm>
#include <cmath>

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
  for (const Tensor *mask : {options.forced, options.mayThink})
    if (mask && (mask->dtype() != DType::I32 || mask->shape() != ids.shape()))
      return Status::error(
          "expected forced thoughts and think masks I32 with the shape of ids");
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
        choice{verbal, vocab, options.temperature, options.grouped,
               options.thinkFloor},
        result(static_cast<size_t>(rows)), state(static_cast<size_t>(rows)) {
    samplers.reserve(size_t(rows));
    for (int64_t r = 0; r < rows; ++r) {
      uint64_t mixed = options.seed ^ (0x9e3779b97f4a7c15ull *
                                       uint64_t(options.firstRow + r + 1));
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
  /// The thoughts forced before position p of row r's example (0 when
  /// thoughts are chosen).
  int32_t forcedAt(int64_t r, int64_t p) const {
    return options.forced ? options.forced->data<int32_t>()[(r / g) * t + p]
                          : 0;
  }
  /// Whether a span before position p of row r's example may think.
  bool thinkableAt(int64_t r, int64_t p) const {
    return !options.mayThink ||
           options.mayThink->data<int32_t>()[(r / g) * t + p] != 0;
  }
  bool opensAt(int64_t r, int64_t p) const {
    int64_t e = r / g;
    bool open = opens.dtype() == DType::F32
                    ? opens.data<float>()[e * t + p] != 0
                    : opens.data<int32_t>()[e * t + p] != 0;
    return open || forcedAt(r, p) > 0;
  }
  /// l_{x_t} of row r's next true token under logits z.
  double truthLogProb(int64_t r, const float *z) const {
    return double(z[exampleIds(r)[state[r].next]]) - verbalLogSumExp(z, verbal);
  }

  Status decodePending(size_t width);
  void queueCopies(int64_t r);
  void recordDecoded(int64_t r, const int32_t *depths, int32_t count);
  void sampleNext(int64_t r, const float *z);
  int32_t chosenNext(int64_t r, const float *z);
  int32_t forcedNext(int64_t r, const float *z);
  void closeSpan(int64_t r, int32_t chosen, const float *z);

  Decoder &decoder;
  const Artifact &model;
  const Tensor &ids, &lengths, &opens;
  const WalkOptions &options;
  int64_t t, g, rows, verbal, vocab;
  ThinkChoice choice;
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

/// Chooses row r's next token from `z`, the logits after its last one: a
/// think token extends the open span, a verbal one closes it.
void Walker::sampleNext(int64_t r, const float *z) {
  RowState &s = state[r];
  if (s.open.thinkTokens == 0)
    s.open.startLogProb = truthLogProb(r, z);
  int32_t chosen = options.forced ? forcedNext(r, z) : chosenNext(r, z);
  if (chosen >= verbal) {
    ++s.open.thinkTokens;
    ++s.thinkRun;
    s.pendingIds.push_back(chosen);
    s.pendingSource.push_back(-1);
    return;
  }
  closeSpan(r, chosen, z);
}

/// The model's own choice for row r: a think token only where thoughts may
/// go, below max_think and while it leaves room for the rest of the
/// example.
int32_t Walker::chosenNext(int64_t r, const float *z) {
  const RowState &s = state[r];
  bool room = int64_t(result[r].ids.size()) + 1 + (exampleLength(r) - s.next) <=
              model.maxSeq();
  bool mayThink =
      room && s.thinkRun < options.maxThink && thinkableAt(r, s.next);
  return chooseNext(samplers[r], z, choice, mayThink);
}

/// Forced thoughts: Vv until the span holds its count, then the verbal
/// choice.
int32_t Walker::forcedNext(int64_t r, const float *z) {
  const RowState &s = state[r];
  if (s.open.thinkTokens < forcedAt(r, s.next))
    return int32_t(verbal);
  return chooseNext(samplers[r], z, choice, /*mayThink=*/false);
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
  if (s.open.thinkTokens == 0) // the same logits: a gain of exactly 0
    s.open.startLogProb = s.open.logProb;
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

double thinkProbability(const float *logits, int64_t verbal, int64_t vocab,
                        double temperature) {
  if (vocab <= verbal)
    return 0;
  float top = *std::max_element(logits, logits + vocab);
  double speak = 0, think = 0;
  for (int64_t v = 0; v < vocab; ++v)
    (v < verbal ? speak : think) +=
        std::exp((double(logits[v]) - top) / temperature);
  return think / (speak + think);
}

namespace {

/// Think or speak, from the grouped probability: greedy above 0.5,
/// sampled with the floor.
bool decideThink(Sampler &sampler, const float *z, const ThinkChoice &c) {
  if (c.temperature <= 0)
    return thinkProbability(z, c.verbal, c.vocab) > 0.5;
  double p = thinkProbability(z, c.verbal, c.vocab, c.temperature);
  return sampler.uniform() < std::max(p, c.thinkFloor);
}

} // namespace

int32_t chooseNext(Sampler &sampler, const float *logits, const ThinkChoice &c,
                   bool mayThink) {
  bool floored = c.temperature > 0 && c.thinkFloor > 0;
  if (!c.grouped && !floored) // v1: one draw over the full vocabulary
    return sampler.sample(logits, c.vocab, {c.verbal, c.temperature, 1},
                          mayThink ? 0 : 1);
  if (mayThink && c.vocab > c.verbal && decideThink(sampler, logits, c)) {
    if (c.grouped)
      return int32_t(c.verbal);
    int64_t think = c.vocab - c.verbal;
    return int32_t(c.verbal) + sampler.sample(logits + c.verbal, think,
                                              {think, c.temperature, 0}, 0);
  }
  // Over the verbal ids alone: thinkRun 0 >= maxThink 0 masks the rest.
  return sampler.sample(logits, c.verbal, {c.verbal, c.temperature, 0}, 0);
}

StatusOr<ThinkAt> parseThinkAt(const std::string &name) {
  for (ThinkAt at : {ThinkAt::Answer, ThinkAt::Prompt, ThinkAt::All})
    if (name == thinkAtName(at))
      return at;
  return Status::error("unknown think-at '" + name +
                       "'; expected answer, prompt or all");
}

const char *thinkAtName(ThinkAt at) {
  switch (at) {
  case ThinkAt::Answer:
    return "answer";
  case ThinkAt::Prompt:
    return "prompt";
  case ThinkAt::All:
    return "all";
  }
  return "answer";
}

Tensor spanOpenings(const Tensor &targetWeight, const Tensor &lengths,
                    ThinkAt at) {
  int64_t b = targetWeight.shape()[0], t = targetWeight.shape()[1];
  Tensor opens(DType::I32, {b, t});
  for (int64_t r = 0; r < b; ++r)
    for (int64_t p = 0; p < t; ++p) {
      bool valid = p >= 1 && p < lengths.data<int32_t>()[r];
      bool target = targetWeight.data<float>()[r * t + p] > 0;
      bool open = at == ThinkAt::All      ? true
                  : at == ThinkAt::Answer ? target
                                          : !target;
      opens.data<int32_t>()[r * t + p] = valid && open;
    }
  return opens;
}

Tensor decisionPoints(const Tensor &targetWeight, const Tensor &lengths,
                      ThinkAt at) {
  // Prompt and answer positions together are all of them.
  return spanOpenings(targetWeight, lengths,
                      at == ThinkAt::Answer ? ThinkAt::Answer : ThinkAt::All);
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

std::vector<double> clampAdvantages(std::vector<double> advantages) {
  for (double &a : advantages)
    a = std::max(a, 0.0);
  return advantages;
}

std::vector<double> returnsToGo(const std::vector<double> &rewards,
                                int64_t rollouts) {
  size_t spans = rewards.size() / size_t(rollouts);
  std::vector<double> returns(rewards.size());
  for (int64_t g = 0; g < rollouts; ++g) {
    double sum = 0;
    for (size_t k = spans; k-- > 0;)
      returns[size_t(g) * spans + k] = sum += rewards[size_t(g) * spans + k];
  }
  return returns;
}

StatusOr<ThinkReward> parseThinkReward(const std::string &name) {
  if (name == PONDER_THINK_REWARD_FIRST_VERBAL_LOGPROB)
    return ThinkReward::FirstVerbalLogprob;
  if (name == PONDER_THINK_REWARD_FIRST_VERBAL_CORRECT)
    return ThinkReward::FirstVerbalCorrect;
  if (name == PONDER_THINK_REWARD_INFORMATION_GAIN)
    return ThinkReward::InformationGain;
  return Status::error("unknown think reward '" + name +
                       "'; expected " PONDER_THINK_REWARD_FIRST_VERBAL_LOGPROB
                       ", " PONDER_THINK_REWARD_FIRST_VERBAL_CORRECT
                       " or " PONDER_THINK_REWARD_INFORMATION_GAIN);
}

double spanReward(const Span &span, ThinkReward reward) {
  switch (reward) {
  case ThinkReward::FirstVerbalLogprob:
    return span.logProb;
  case ThinkReward::FirstVerbalCorrect:
    return double(span.correct);
  case ThinkReward::InformationGain:
    return span.thinkTokens == 0 ? 0.0 : span.logProb - span.startLogProb;
  }
  return 0;
}

namespace {

/// The span rewards of example e's G rollouts, one row of spans per
/// rollout: spanReward() before a target, 0 before a prompt token (weights
/// `weight`, the example's row), minus the think cost per thought.
std::vector<double> exampleRewards(const std::vector<WalkRow> &rows, int64_t e,
                                   int64_t g, const float *weight,
                                   const RolloutOptions &options) {
  std::vector<double> rewards;
  for (int64_t i = 0; i < g; ++i)
    for (const Span &s : rows[e * g + i].spans) {
      double local =
          weight[s.position] > 0 ? spanReward(s, options.reward) : 0.0;
      rewards.push_back(local - options.thinkCost * s.thinkTokens);
    }
  return rewards;
}

/// The advantages of one example's span rewards (RolloutOptions).
std::vector<double> exampleAdvantages(const std::vector<double> &rewards,
                                      int64_t g,
                                      const RolloutOptions &options) {
  std::vector<double> advantages = leaveOneOutAdvantages(
      options.returnToGo ? returnsToGo(rewards, g) : rewards, g);
  return options.clampAdvantages ? clampAdvantages(std::move(advantages))
                                 : advantages;
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

/// Checks rollout()'s inputs before the walk reads them.
Status checkRollout(const Tensor &ids, const Tensor &lengths,
                    const Tensor &targetWeight, const RolloutOptions &options) {
  if (options.rollouts < 2)
    return Status::error("rollouts need G >= 2 for the leave-one-out "
                         "baseline, got " +
                         std::to_string(options.rollouts));
  if (targetWeight.dtype() != DType::F32)
    return Status::error("expected target_weight F32");
  if (ids.rank() != 2 || targetWeight.shape() != ids.shape() ||
      lengths.dtype() != DType::I32 ||
      lengths.shape() != std::vector{ids.shape()[0]})
    return Status::error("expected ids, target_weight [B, T] and lengths [B]");
  return Status::ok();
}

/// A zeroed batch for the walk rows `rows`, as wide as the longest.
RolloutBatch emptyBatch(const std::vector<WalkRow> &rows) {
  int64_t count = int64_t(rows.size()), width = 1;
  for (const WalkRow &row : rows)
    width = std::max(width, int64_t(row.ids.size()));
  RolloutBatch batch;
  batch.ids = Tensor(DType::I32, {count, width});
  batch.lengths = Tensor(DType::I32, {count});
  batch.targetWeight = Tensor(DType::F32, {count, width});
  batch.advantage = Tensor(DType::F32, {count, width});
  return batch;
}

} // namespace

StatusOr<RolloutBatch> rollout(Decoder &decoder, const Tensor &ids,
                               const Tensor &lengths,
                               const Tensor &targetWeight,
                               const RolloutOptions &options) {
  if (Status s = checkRollout(ids, lengths, targetWeight, options); !s)
    return s;
  WalkOptions walkOptions{options.rollouts, 1.0, options.maxThink,
                          options.seed};
  walkOptions.grouped = options.grouped;
  walkOptions.thinkFloor = options.thinkFloor;
  walkOptions.firstRow = options.firstRow;
  Tensor thinkable = spanOpenings(targetWeight, lengths, options.at);
  walkOptions.mayThink = &thinkable;
  Tensor opens = decisionPoints(targetWeight, lengths, options.at);
  auto rows = walk(decoder, ids, lengths, opens, walkOptions);
  if (!rows)
    return rows.getStatus();

  int64_t g = options.rollouts, count = int64_t(rows->size());
  int64_t t = ids.shape()[1];
  RolloutBatch batch = emptyBatch(*rows);
  RolloutStats &stats = batch.stats;
  double rewardSum = 0, squareSum = 0;
  int64_t spread = 0;
  for (int64_t e = 0; e < count / g; ++e) {
    size_t spans = (*rows)[e * g].spans.size();
    std::vector<double> rewards = exampleRewards(
        *rows, e, g, targetWeight.data<float>() + e * t, options);
    std::vector<double> advantages = exampleAdvantages(rewards, g, options);
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
