//===- TextEvaluation.h - Validation loss of a text corpus ------*- C++ -*-===//
//
// `ponder eval --data` and a `--data` run's held-out evaluation: the
// compiled forward pass over the held-out windows of a corpus (Corpus.h),
// teacher forced, in batches. Per target token it takes the verbal log-prob
// of MODEL.md §5, the top-1 verbal probability (for calibration) and the
// depth of the position that predicted it.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_TEXTEVALUATION_H
#define PONDER_TRAINING_TEXTEVALUATION_H

#include "runtime/Artifact.h"
#include "training/Corpus.h"

#include <map>
#include <vector>

namespace ponder {

/// Sums over the targets whose top-1 verbal probability falls in one bin.
struct CalibrationBin {
  int64_t count = 0;
  double confidence = 0; // sum of the top-1 probabilities
  int64_t correct = 0;   // targets that were the top-1 id
};

/// Sums over the targets of one id, or of one position in the window.
struct DepthStats {
  int64_t count = 0;
  double depth = 0; // of the position that predicted the target
  double nll = 0;
};

struct TextEvaluation {
  int64_t windows = 0, targets = 0, bytes = 0;
  double nll = 0; // nats, summed over the targets
  double depth = 0;
  std::vector<CalibrationBin> bins;   // kCalibrationBins equal widths
  std::vector<DepthStats> byId;       // by target id
  std::vector<DepthStats> byPosition; // by the target's place in the window
  /// Pearson correlation of a target's NLL with its predictor's depth.
  double depthNllCorrelation = 0;

  static constexpr int kCalibrationBins = 15;

  double meanNll() const { return targets ? nll / double(targets) : 0; }
  double perplexity() const;
  /// NLL in bits over the UTF-8 bytes the targets stand for.
  double bitsPerByte() const;
  double meanDepth() const { return targets ? depth / double(targets) : 0; }
  double accuracy() const; // top-1
  /// The mean top-1 verbal probability: above accuracy() for an
  /// over-confident model, below for an under-confident one.
  double confidence() const;
  /// Expected calibration error: the bins' |accuracy - confidence|,
  /// weighted by their share of the targets.
  double calibrationError() const;
};

/// Evaluates held-out windows [0, `windows`) of `task` (all when
/// `windows` is 0) with the forward entry of `artifact` and `weights`, in
/// batches of `batch` windows.
StatusOr<TextEvaluation>
evaluateText(const Artifact &artifact,
             const std::map<std::string, const Tensor *> &weights,
             const CorpusTask &task, int64_t windows = 0, int64_t batch = 16);

} // namespace ponder

#endif // PONDER_TRAINING_TEXTEVALUATION_H
