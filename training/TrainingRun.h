//===- TrainingRun.h - The training loop ------------------------*- C++ -*-===//
//
// A run of `ponder train` as a library: batches from a task, the
// learning-rate schedule, think rollouts (MODEL.md §6), a frozen reference
// model's soft targets (MODEL.md §5), held-out evaluation, the metrics CSV
// and checkpoints on a cadence, at the end and when asked to stop. Trainers
// that link libponder-training drive the same loop (examples/trainer).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_TRAINING_TRAININGRUN_H
#define PONDER_TRAINING_TRAININGRUN_H

#include "runtime/Decoder.h"
#include "runtime/Init.h"
#include "runtime/Trainer.h"
#include "training/Corpus.h"
#include "training/Metrics.h"
#include "training/Rollouts.h"
#include "training/Tasks.h"
#include "training/ThoughtSlots.h"
#include "training/TrainingSettings.h"

#include <csignal>
#include <functional>
#include <memory>

namespace ponder {

/// How a run reports and saves, none of which changes its trajectory.
struct TrainingOptions {
  std::string out;            // the checkpoint; its metrics: `out`.csv
  int64_t evalEvery = 0;      // held-out accuracy every K steps (0: at the end)
  int64_t saveEvery = 0;      // checkpoints every K steps (0: steps / 10)
  int64_t heldOutCount = 256; // held-out examples (windows) per evaluation
  std::string modelName = "the model"; // for messages: its path
  /// The ranks of a data-parallel run (docs/distributed.md): each trains on
  /// its rows of every global batch, and rank 0 alone writes the checkpoint
  /// and the metrics. Null: one process. Must outlive the run.
  Communicator *comm = nullptr;
};

/// What the loop reports after each step.
struct StepReport {
  MetricsRow row;
  int64_t steps = 0;           // the run's last step
  double seconds = 0;          // since this process's first step
  double remaining = 0;        // estimated seconds to the last step
  bool evaluated = false;      // row.heldOutAccuracy is this step's
  double lastAccuracy = -1;    // the latest held-out accuracy, -1 before any
  double lastHeldOutLoss = -1; // a corpus's latest validation loss
};

/// The weights a run starts from: fresh (from the seed), a checkpoint to
/// resume (with its moments and step), or given weights to fine-tune.
struct TrainingStart {
  std::map<std::string, Tensor> parameters, m, v;
  int64_t step = 0;
  std::string source; // for messages: a path or "the initial weights"
};

/// The contract's initial parameters of `model` from `seed` (MODEL.md §3),
/// the input embeddings with std `embedStd` (initParameter).
std::map<std::string, Tensor> initialParameters(const Artifact &model,
                                                uint64_t seed,
                                                double embedStd = kInitStd);

class TrainingRun {
public:
  /// A run of `model` (described by `modelText`, kept in checkpoints) with
  /// `settings` from `start`. `reference`, the compiled reference model
  /// when settings.reference is set, must outlive the run.
  static StatusOr<std::unique_ptr<TrainingRun>>
  create(const Artifact &model, std::string modelText,
         TrainingSettings settings, TrainingStart start,
         TrainingOptions options, const Artifact *reference = nullptr);

  /// Trains to settings.steps, calling `report` after every step. When
  /// `*stop` becomes non-zero (a signal handler's flag) it saves a
  /// checkpoint at the step reached and returns early. Returns the step
  /// reached; on an error the last checkpoint is kept.
  StatusOr<int64_t> run(const std::function<void(const StepReport &)> &report,
                        const volatile std::sig_atomic_t *stop = nullptr);

  /// Writes the checkpoint now (atomically).
  Status save() const;

  const TrainingSettings &settings() const { return config; }
  const TrainingOptions &options() const { return opts; }
  /// The metrics CSV; "" on ranks other than 0.
  std::string metricsPath() const { return metrics ? metrics->path() : ""; }
  const Trainer &trainer() const { return *stepper; }
  /// The metrics of the last step trained, and the last held-out accuracy
  /// (-1 before the first evaluation).
  const MetricsRow &lastRow() const { return last; }
  double lastAccuracy() const { return accuracy; }
  /// A corpus's last validation loss (nats per target), -1 before any.
  double lastHeldOutLoss() const { return heldOutLoss; }
  /// The examples (a corpus's windows) each evaluation reads.
  int64_t heldOutSize() const {
    return corpusTask
               ? std::min(opts.heldOutCount, corpusTask->heldOutWindows())
               : opts.heldOutCount;
  }

private:
  TrainingRun(const Artifact &model) : model(model) {}
  /// The task, and the held-out batch of a task that is not a corpus.
  Status setUpTask();
  Status setUpRanks();
  /// This rank's rows of each global batch: [B r / N, B (r + 1) / N), as
  /// (first, count).
  std::pair<int64_t, int64_t> shardRows() const;
  /// Whether this process writes the checkpoint and metrics (rank 0).
  bool writes() const { return !opts.comm || opts.comm->rank() == 0; }
  Status setUpReference(const Artifact &reference);
  Status setUpRollouts();
  Status setUpThoughtSlots();
  /// One step: rollouts or placed slots when thinking, the compiled step,
  /// the metrics row.
  StatusOr<MetricsRow> step(int64_t s);
  /// The batch of step s with its thought slots placed.
  StatusOr<PlacedBatch> placedBatch(const TaskBatch &b) const;
  /// Held-out accuracy into `row` (and, when thinking, thoughts and FLOPs
  /// per answer).
  Status evaluateHeldOut(MetricsRow &row) const;
  std::map<std::string, const Tensor *> parameterView() const;

  const Artifact &model;
  std::string modelText;
  TrainingSettings config;
  TrainingOptions opts;
  std::unique_ptr<Task> task;
  const CorpusTask *corpusTask = nullptr; // task, when it is a corpus
  TaskBatch heldOut;
  std::unique_ptr<Trainer> stepper;
  std::unique_ptr<Decoder> decoder; // rollouts, with the trained weights
  RolloutOptions rolloutOptions;
  std::optional<ThoughtSlots> slots; // placed thoughts
  std::optional<MetricsLog> metrics;
  int64_t tokens = 0;
  MetricsRow last;
  double accuracy = -1;
  double heldOutLoss = -1;
};

} // namespace ponder

#endif // PONDER_TRAINING_TRAININGRUN_H
