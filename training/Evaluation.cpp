//===- Evaluation.cpp - Held-out evaluation with thinking -----------------===//

#include "training/Evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>

namespace ponder {

namespace {

/// Rows [first, first + count) of a [B, ...] tensor.
Tensor sliceRows(const Tensor &t, int64_t first, int64_t count) {
  std::vector<int64_t> shape = t.shape();
  size_t rowBytes = t.byteSize() / size_t(shape[0]);
  shape[0] = count;
  Tensor slice(t.dtype(), shape);
  std::memcpy(slice.bytes(),
              reinterpret_cast<const char *>(t.bytes()) +
                  size_t(first) * rowBytes,
              size_t(count) * rowBytes);
  return slice;
}

/// KL(truth || model) of a span's verbal decision, from its log-probs.
double klDivergence(const std::vector<double> &truth, const Span &s) {
  double kl = 0;
  for (size_t v = 0; v < truth.size(); ++v)
    if (truth[v] > 0)
      kl += truth[v] * (std::log(truth[v]) - s.verbalLogProbs[v]);
  return kl;
}

/// One example's rows of the batch.
struct ExampleRows {
  const int32_t *ids, *scored;
  const float *weight;
  int64_t length, index;
};

/// Adds target span `s` of example `x` to `e`, `p` and `l`: the NLL and,
/// where the task knows it, the KL.
void addTarget(Evaluation &e, PositionStats &p, LengthStats &l, const Span &s,
               const ExampleRows &x, const EvaluateOptions &options) {
  ++p.targets;
  p.nll -= s.logProb;
  e.nll -= s.logProb;
  ++e.targets;
  ++l.targets;
  std::vector<double> truth = options.known ? options.known(x.index, s.position)
                                            : std::vector<double>();
  if (truth.empty())
    return;
  double kl = klDivergence(truth, s);
  p.kl += kl;
  ++p.known;
  e.kl += kl;
  ++e.known;
}

/// Adds the spans of `row`, the walk of example `x`, to `e` and `l`;
/// whether every scored decision was right. Spans before prompt tokens
/// count their thoughts only.
bool addSpans(Evaluation &e, LengthStats &l, const WalkRow &row,
              const ExampleRows &x, const EvaluateOptions &options) {
  bool exact = true;
  for (const Span &s : row.spans) {
    PositionStats &p = e.positions[s.position];
    ++p.spans;
    p.thinkTokens += s.thinkTokens;
    p.thinkDepth += s.thinkDepth;
    e.thinkTokens += s.thinkTokens;
    l.thinkTokens += s.thinkTokens;
    if (x.weight[s.position] > 0)
      addTarget(e, p, l, s, x, options);
    if (x.scored[s.position]) {
      ++p.scored;
      p.correct += s.correct;
      exact &= s.correct;
    }
  }
  return exact;
}

/// Adds every decoded token of `row` (example ids `x`) to the token, depth
/// and FLOP sums of `e` and `l`.
void addTokens(Evaluation &e, LengthStats &l, const WalkRow &row,
               const ExampleRows &x, const FlopModel &flops) {
  size_t span = 0;
  for (size_t i = 0; i < row.ids.size(); ++i) {
    e.depth += row.depth[i];
    ++e.tokens;
    ++l.tokens;
    double cost = flops.of(int64_t(i), row.depth[i]);
    e.flops += cost;
    l.flops += cost;
    int32_t source = row.source[i];
    if (source < 0)
      continue;
    PositionStats &p = e.positions[source];
    int32_t id = x.ids[source];
    p.token = p.count == 0 || p.token == id ? id : -2;
    ++p.count;
    p.depth += row.depth[i];
    l.depth += row.depth[i];
    if (span < row.spans.size() && row.spans[span].position == source) {
      if (x.weight[source] > 0)
        l.targetDepth += row.depth[i - 1]; // the span's deciding token
      ++span;
    }
  }
}

/// Adds example `x`, walked as `row`, to `e` and its length's stats.
void addExample(Evaluation &e, std::map<int64_t, LengthStats> &byLength,
                const WalkRow &row, const ExampleRows &x,
                const EvaluateOptions &options, const FlopModel &flops) {
  LengthStats &l = byLength[x.length];
  l.length = x.length;
  ++l.count;
  bool exact = addSpans(e, l, row, x, options);
  addTokens(e, l, row, x, flops);
  e.exact += exact;
  l.exact += exact;
  ++e.examples;
}

/// The forced thoughts of `options` for the batch, checked against max_seq;
/// an empty tensor when thoughts are chosen.
StatusOr<Tensor> forcedThoughts(const Artifact &artifact, const Tensor &lengths,
                                const Tensor &targetWeight,
                                const EvaluateOptions &options) {
  if (!options.forcedSlots)
    return Tensor();
  if (artifact.vocabSize() == artifact.verbalVocab())
    return Status::error("forced thought slots need a model with think ids");
  Tensor counts = thoughtCounts(targetWeight, lengths, *options.forcedSlots);
  int64_t b = counts.shape()[0], t = counts.shape()[1];
  for (int64_t r = 0; r < b; ++r) {
    const int32_t *c = counts.data<int32_t>() + r * t;
    int64_t length = lengths.data<int32_t>()[r];
    int64_t placed = length + std::accumulate(c, c + t, int64_t(0));
    if (placed > artifact.maxSeq())
      return Status::error(
          "thought slots " + options.forcedSlots->spec() +
          " make an example of " + std::to_string(length) + " tokens " +
          std::to_string(placed) +
          " long, more than max_seq = " + std::to_string(artifact.maxSeq()));
  }
  return counts;
}

/// Rows of the evaluated batch that one decoder walks at once.
struct Part {
  Tensor ids, lengths, weight, scored, forced;
};

/// Walks `part`, the rows from `first` on, with `decoder` (emptied first):
/// thoughts chosen where options.at opens spans, or forced.
StatusOr<std::vector<WalkRow>> walkPart(Decoder &decoder, const Part &part,
                                        int64_t first,
                                        const EvaluateOptions &options) {
  decoder.reset();
  WalkOptions walkOptions{1, options.temperature, options.maxThink,
                          options.seed + uint64_t(first), bool(options.known)};
  walkOptions.grouped = decoder.model().hiddenThoughts();
  walkOptions.forced = options.forcedSlots ? &part.forced : nullptr;
  ThinkAt at = options.forcedSlots ? ThinkAt::Answer : options.at;
  Tensor thinkable = spanOpenings(part.weight, part.lengths, at);
  walkOptions.mayThink = &thinkable;
  Tensor opens = decisionPoints(part.weight, part.lengths, at);
  return walk(decoder, part.ids, part.lengths, opens, walkOptions);
}

} // namespace

FlopModel FlopModel::estimate(const Artifact &artifact) {
  FlopModel m;
  int64_t d = 0;
  for (const ValueSpec &p : artifact.parameters()) {
    int64_t n = 1;
    for (int64_t extent : p.shape)
      n *= extent;
    if ((p.name.rfind("block.", 0) == 0 && p.shape.size() == 2) ||
        p.name == "halt.weight")
      m.perStep += 2.0 * double(n);
    if (p.name == "unembed.weight") {
      m.perToken = 2.0 * double(n);
      d = p.shape.size() == 2 ? p.shape[1] : 0;
    }
  }
  m.perKey = 4.0 * double(d);
  return m;
}

StatusOr<Evaluation>
evaluate(const Artifact &artifact,
         const std::map<std::string, const Tensor *> &weights,
         const Tensor &ids, const Tensor &lengths, const Tensor &targetWeight,
         const Tensor &scored, const EvaluateOptions &options,
         const std::string &weightsSource) {
  if (ids.dtype() != DType::I32 || ids.rank() != 2 || ids.shape()[0] < 1)
    return Status::error("expected ids I32 [B, T] with B >= 1");
  int64_t b = ids.shape()[0], t = ids.shape()[1];
  int64_t chunk = std::min(b, std::max<int64_t>(1, options.chunk));
  auto decoder = Decoder::create(artifact, weights, chunk, weightsSource);
  if (!decoder)
    return decoder.getStatus();
  if (options.randomThoughts)
    (*decoder)->randomizeThoughts(options.seed);

  StatusOr<Tensor> forced =
      forcedThoughts(artifact, lengths, targetWeight, options);
  if (!forced)
    return forced.getStatus();
  FlopModel flops = FlopModel::estimate(artifact);
  Evaluation e;
  e.positions.resize(size_t(t));
  std::map<int64_t, LengthStats> byLength;
  for (int64_t first = 0; first < b; first += chunk) {
    int64_t n = std::min(chunk, b - first);
    if (n != (*decoder)->batch()) {
      decoder = Decoder::create(artifact, weights, n, weightsSource);
      if (!decoder)
        return decoder.getStatus();
      if (options.randomThoughts)
        (*decoder)->randomizeThoughts(options.seed + uint64_t(first));
    }
    Part part{sliceRows(ids, first, n), sliceRows(lengths, first, n),
              sliceRows(targetWeight, first, n), sliceRows(scored, first, n),
              options.forcedSlots ? sliceRows(*forced, first, n) : Tensor()};
    auto rows = walkPart(**decoder, part, first, options);
    if (!rows)
      return rows.getStatus();
    for (int64_t r = 0; r < n; ++r) {
      ExampleRows x{part.ids.data<int32_t>() + r * t,
                    part.scored.data<int32_t>() + r * t,
                    part.weight.data<float>() + r * t,
                    part.lengths.data<int32_t>()[r], first + r};
      addExample(e, byLength, (*rows)[r], x, options, flops);
    }
  }
  for (PositionStats &p : e.positions)
    p.token = std::max(p.token, int32_t(-1));
  for (auto &[length, stats] : byLength)
    e.lengths.push_back(stats);
  return e;
}

} // namespace ponder
