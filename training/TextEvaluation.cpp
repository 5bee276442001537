//===- TextEvaluation.cpp - Validation loss of a text corpus --------------===//

#include "training/TextEvaluation.h"

#include "runtime/ArtifactContract.h"

#include <algorithm>
#include <cmath>

namespace ponder {

double TextEvaluation::perplexity() const { return std::exp(meanNll()); }

double TextEvaluation::bitsPerByte() const {
  return bytes ? nll / std::log(2.0) / double(bytes) : 0;
}

double TextEvaluation::accuracy() const {
  int64_t correct = 0;
  for (const CalibrationBin &b : bins)
    correct += b.correct;
  return targets ? double(correct) / double(targets) : 0;
}

double TextEvaluation::confidence() const {
  double sum = 0;
  for (const CalibrationBin &b : bins)
    sum += b.confidence;
  return targets ? sum / double(targets) : 0;
}

double TextEvaluation::calibrationError() const {
  double error = 0;
  for (const CalibrationBin &b : bins)
    if (b.count)
      error += std::fabs(double(b.correct) - b.confidence) / double(targets);
  return error;
}

namespace {

/// Running sums for the correlation of depth and NLL.
struct Moments {
  double n = 0, x = 0, y = 0, xx = 0, yy = 0, xy = 0;
  void add(double a, double b) {
    n += 1, x += a, y += b, xx += a * a, yy += b * b, xy += a * b;
  }
  double correlation() const {
    double vx = n * xx - x * x, vy = n * yy - y * y;
    return vx > 0 && vy > 0 ? (n * xy - x * y) / std::sqrt(vx * vy) : 0;
  }
};

/// Adds the targets of one forward pass over `b` to `e`.
void addBatch(TextEvaluation &e, Moments &m, const TaskBatch &b,
              const Tensor &logits, const Tensor &steps,
              const Vocabulary &vocab, int64_t verbal) {
  int64_t rows = b.ids.shape()[0], t = b.ids.shape()[1];
  int64_t v = logits.shape()[2];
  for (int64_t r = 0; r < rows; ++r) {
    int64_t length = b.lengths.data<int32_t>()[r];
    for (int64_t p = 1; p < length; ++p) {
      if (b.targetWeight.data<float>()[r * t + p] <= 0)
        continue;
      const float *z = logits.data<float>() + (r * t + p - 1) * v;
      int64_t best = std::max_element(z, z + verbal) - z;
      double sum = 0;
      for (int64_t u = 0; u < verbal; ++u)
        sum += std::exp(double(z[u]) - double(z[best]));
      int32_t target = b.ids.data<int32_t>()[r * t + p];
      double nll = std::log(sum) - (double(z[target]) - double(z[best]));
      double confidence = 1 / sum;
      int32_t depth = steps.data<int32_t>()[r * t + p - 1];
      CalibrationBin &bin = e.bins[size_t(std::min<int64_t>(
          TextEvaluation::kCalibrationBins - 1,
          int64_t(confidence * TextEvaluation::kCalibrationBins)))];
      bin.count += 1;
      bin.confidence += confidence;
      bin.correct += best == target;
      for (DepthStats *s :
           {&e.byId[size_t(target)], &e.byPosition[size_t(p)]}) {
        s->count += 1;
        s->depth += depth;
        s->nll += nll;
      }
      e.targets += 1;
      e.nll += nll;
      e.depth += depth;
      e.bytes += vocab.byteLength(target);
      m.add(depth, nll);
    }
  }
}

} // namespace

StatusOr<TextEvaluation>
evaluateText(const Artifact &artifact,
             const std::map<std::string, const Tensor *> &weights,
             const CorpusTask &task, int64_t windows, int64_t batch) {
  const EntryPoint *forward = artifact.entry(PONDER_ENTRY_FORWARD);
  if (!forward)
    return Status::error("the artifact has no forward entry point");
  if (windows <= 0 || windows > task.heldOutWindows())
    windows = task.heldOutWindows();
  TextEvaluation e;
  e.windows = windows;
  e.bins.resize(TextEvaluation::kCalibrationBins);
  e.byId.resize(size_t(artifact.verbalVocab()));
  e.byPosition.resize(size_t(task.maxLength()));
  Moments m;
  std::map<std::string, const Tensor *> values = weights;
  for (int64_t first = 0; first < windows; first += batch) {
    TaskBatch b =
        heldOutBatch(task, 0, first, std::min(batch, windows - first));
    values[PONDER_VALUE_IDS] = &b.ids;
    values[PONDER_VALUE_LENGTHS] = &b.lengths;
    auto out = artifact.call(*forward, values);
    if (!out)
      return out.getStatus();
    addBatch(e, m, b, out->at(PONDER_VALUE_LOGITS), out->at(PONDER_VALUE_STEPS),
             task.vocabulary(), artifact.verbalVocab());
  }
  e.depthNllCorrelation = m.correlation();
  return e;
}

} // namespace ponder
