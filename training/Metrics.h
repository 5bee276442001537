//===- Metrics.h - The metrics CSV of a training run ------------*- C++ -*-===//
//
// One row per step (docs/training.md). The header and the row come from one
// table of columns (Metrics.cpp), so they cannot drift apart. Fields without
// a value (held-out accuracy between evaluations, thinking columns of a run
// without --think) are empty.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_METRICS_H
#define PONDER_TRAINING_METRICS_H

#include "runtime/Status.h"

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

namespace ponder {

struct MetricsRow {
  int64_t step = 0;
  double loss = 0, ce = 0, ponder = 0, policy = 0, gradNorm = 0;
  double learningRate = 0, meanDepth = 0, tokensPerSecond = 0;
  std::optional<double> heldOutAccuracy;
  // A text corpus's held-out cross-entropy per target (nats); its
  // accuracy is then top-1 per token (TextEvaluation.h).
  std::optional<double> heldOutLoss;
  // Think rollouts (MODEL.md §6): the mean reward, the advantages' standard
  // deviation, think tokens per verbal span and the mean advantage of the
  // spans that thought.
  std::optional<double> reward, advantageStd, thinkPerVerbal, thinkAdvantage;
  // Thinking by rollouts or placed slots: thoughts per example (per answer)
  // in the step's batch; at a held-out evaluation, thoughts and estimated
  // FLOPs per example (Evaluation.h: a thought costs a forward position).
  std::optional<double> thoughtsPerAnswer, heldOutThoughts, heldOutFlops;
};

/// "step,loss,...": the column names.
std::string metricsHeader();
/// One CSV line (no newline) for `row`.
std::string formatMetricsRow(const MetricsRow &row);

/// The metrics file of a run, appended to and flushed row by row.
class MetricsLog {
public:
  /// Opens `path` afresh with the header. A resumed run (`resumeStep` > 0)
  /// keeps the rows up to its checkpoint's step and drops later ones, which
  /// were written before a crash and will be trained again.
  static StatusOr<MetricsLog> open(const std::string &path, int64_t resumeStep);
  Status append(const MetricsRow &row);
  const std::string &path() const { return file; }

private:
  std::string file;
  std::ofstream out;
};

/// `path` with its extension (if any) replaced by `extension` (".csv").
std::string withExtension(const std::string &path,
                          const std::string &extension);

} // namespace ponder

#endif // PONDER_TRAINING_METRICS_H
