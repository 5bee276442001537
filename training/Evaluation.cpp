//===- Evaluation.cpp - Held-out evaluation with thinking -----------------===//

#include "training/Evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

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

/// Adds the spans of `row`, the walk of example `index` (`scored`: its row of
/// the scored mask), to `e` and `l`; whether every scored decision was right.
bool addSpans(Evaluation &e, LengthStats &l, const WalkRow &row,
              const int32_t *scored, int64_t index,
              const EvaluateOptions &options) {
  bool exact = true;
  for (const Span &s : row.spans) {
    PositionStats &p = e.positions[s.position];
    ++p.targets;
    p.thinkTokens += s.thinkTokens;
    p.thinkDepth += s.thinkDepth;
    p.nll -= s.logProb;
    if (scored[s.position]) {
      ++p.scored;
      p.correct += s.correct;
      exact &= s.correct;
    }
    e.nll -= s.logProb;
    e.thinkTokens += s.thinkTokens;
    std::vector<double> truth = options.known ? options.known(index, s.position)
                                              : std::vector<double>();
    if (!truth.empty()) {
      double kl = klDivergence(truth, s);
      p.kl += kl;
      ++p.known;
      e.kl += kl;
      ++e.known;
    }
    l.thinkTokens += s.thinkTokens;
  }
  e.targets += int64_t(row.spans.size());
  l.targets += int64_t(row.spans.size());
  return exact;
}

/// Adds every decoded token of `row` (example ids `x`) to the token and depth
/// sums of `e` and `l`.
void addTokens(Evaluation &e, LengthStats &l, const WalkRow &row,
               const int32_t *x) {
  size_t span = 0;
  for (size_t i = 0; i < row.ids.size(); ++i) {
    e.depth += row.depth[i];
    ++e.tokens;
    int32_t source = row.source[i];
    if (source < 0)
      continue;
    PositionStats &p = e.positions[source];
    p.token = p.count == 0 || p.token == x[source] ? x[source] : -2;
    ++p.count;
    p.depth += row.depth[i];
    l.depth += row.depth[i];
    if (span < row.spans.size() && row.spans[span].position == source) {
      l.targetDepth += row.depth[i - 1]; // the span's deciding token
      ++span;
    }
  }
}

/// Adds example `index`, walked as `row`, to `e` and its length's stats.
void addExample(Evaluation &e, std::map<int64_t, LengthStats> &byLength,
                const WalkRow &row, const int32_t *x, int64_t length,
                const int32_t *scored, int64_t index,
                const EvaluateOptions &options) {
  LengthStats &l = byLength[length];
  l.length = length;
  ++l.count;
  bool exact = addSpans(e, l, row, scored, index, options);
  addTokens(e, l, row, x);
  e.exact += exact;
  l.exact += exact;
  ++e.examples;
}

} // namespace

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

  Evaluation e;
  e.positions.resize(size_t(t));
  std::map<int64_t, LengthStats> byLength;
  for (int64_t first = 0; first < b; first += chunk) {
    int64_t n = std::min(chunk, b - first);
    if (n != (*decoder)->batch()) {
      decoder = Decoder::create(artifact, weights, n, weightsSource);
      if (!decoder)
        return decoder.getStatus();
    }
    (*decoder)->reset();
    Tensor partIds = sliceRows(ids, first, n);
    Tensor partLengths = sliceRows(lengths, first, n);
    Tensor partWeight = sliceRows(targetWeight, first, n);
    Tensor partScored = sliceRows(scored, first, n);
    WalkOptions walkOptions{1, options.temperature, options.maxThink,
                            options.seed + uint64_t(first),
                            bool(options.known)};
    auto rows = walk(**decoder, partIds, partLengths, partWeight, walkOptions);
    if (!rows)
      return rows.getStatus();
    for (int64_t r = 0; r < n; ++r)
      addExample(e, byLength, (*rows)[r], partIds.data<int32_t>() + r * t,
                 partLengths.data<int32_t>()[r],
                 partScored.data<int32_t>() + r * t, first + r, options);
  }
  for (PositionStats &p : e.positions)
    p.token = std::max(p.token, int32_t(-1));
  for (auto &[length, stats] : byLength)
    e.lengths.push_back(stats);
  return e;
}

} // namespace ponder
