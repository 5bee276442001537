//===- Plot.h - Evaluation and training plots with gnuplot ------*- C++ -*-===//
//
// `ponder eval --plot`: one PNG from the evaluation's per-position CSV and,
// when given, the training run's metrics CSV (docs/training.md). gnuplot
// (5.4 or later, found on PATH; Debian gnuplot-nox) reads both CSVs itself,
// by column name: empty fields, columns that older files lack and series
// without a single value are left out of the picture.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_PLOT_H
#define PONDER_TRAINING_PLOT_H

#include "runtime/Status.h"

#include <string>

namespace ponder {

/// Renders `pngPath` with gnuplot from the evaluation's per-position CSV
/// and, when `metricsCsv` is non-empty, a training run's metrics CSV.
///
/// The top panel shows, per position (x tic labels: the tokens), the mean
/// halting depth as bars (left axis) and the think tokens per example
/// (right axis); the bottom panel, drawn when `metricsCsv` names a file that
/// exists and has values, the loss (left axis) and the held-out accuracy and
/// reward (right axis) against the step. A per-position row whose `scored`
/// field is not a number (a token with a comma or a quote in it, which the
/// CSV does not quote) is left out. A missing or empty file, a per-position
/// CSV without rows, or a CSV without a required column (`position`,
/// `token`, `depth`, `scored`; `step`, `loss`) fails with one line that
/// names the file. The PNG is
/// written atomically (`pngPath + ".partial"`, then a rename): on error
/// there is no PNG.
Status plotEvaluation(const std::string &positionsCsv,
                      const std::string &metricsCsv, const std::string &pngPath,
                      const std::string &title);

/// `ponder eval --data --plot`: the depth on a text corpus, from a CSV per
/// position in the window (`position`, `depth`, `nll`) and one per token
/// (`token`, `depth`; the bars in file order), written atomically like
/// plotEvaluation's.
Status plotTextDepth(const std::string &positionsCsv,
                     const std::string &tokensCsv, const std::string &pngPath,
                     const std::string &title);

} // namespace ponder

#endif // PONDER_TRAINING_PLOT_H
