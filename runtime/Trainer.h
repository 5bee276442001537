//===- Trainer.h - Training a compiled model --------------------*- C++ -*-===//
//
// Drives an artifact's @train_step (gradient, clipping and AdamW fused in
// one compiled call, MODEL.md §7) batch by batch, with held-out accuracy
// through @forward, and checkpoints in the format of MODEL.md §8
// (parameters, adam.m.NAME, adam.v.NAME; the model TOML and the step in
// __metadata__). The training loop around it is libponder-training's
// (training/TrainingRun.h).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_RUNTIME_TRAINER_H
#define PONDER_RUNTIME_TRAINER_H

#include "runtime/Artifact.h"
#include "runtime/Communicator.h"

#include <array>

#include <map>
#include <memory>
#include <string>

namespace ponder {

/// A batch for one step: ids [B, T] I32, lengths [B] I32, target_weight and
/// advantage [B, T] F32 (advantage may be empty: zeros).
struct TrainBatch {
  const Tensor *ids = nullptr, *lengths = nullptr;
  const Tensor *targetWeight = nullptr, *advantage = nullptr;
};

/// The valid positions of a batch (the sum of `lengths`, [B]) and the mean
/// of `steps` ([B, T], N per position) over them.
int64_t validPositions(const Tensor &lengths);
double meanDepth(const Tensor &steps, const Tensor &lengths);

/// MODEL.md §5's denominators of a batch, before max(1, .): sum m (L_ce),
/// the valid positions (L_ponder) and sum_b (lengths[b] - 1) (L_pg).
std::array<double, 3> lossCounts(const TrainBatch &batch, int64_t verbalVocab);

struct StepMetrics {
  double loss = 0, ce = 0, ponder = 0, policy = 0, gradNorm = 0;
  double meanDepth = 0;        // mean N over valid positions
  int64_t tokens = 0;          // valid positions in the batch (the global one)
  double allReduceSeconds = 0; // in the sums over the ranks (with a
                               // communicator)
};

class Trainer {
public:
  /// A trainer over `parameters` (checked against the artifact), with Adam
  /// moments `m` and `v` (zeros when empty) after `step` completed steps.
  static StatusOr<std::unique_ptr<Trainer>>
  create(const Artifact &artifact, std::map<std::string, Tensor> parameters,
         std::map<std::string, Tensor> m, std::map<std::string, Tensor> v,
         int64_t step, const std::string &source);

  /// Makes each step compute MODEL.md §5's soft targets with the @forward
  /// of `reference` (a frozen model with the same verbal vocabulary; it and
  /// this trainer's artifact must outlive the trainer) on `weights`. Models
  /// with [loss] reference_mix > 0 need one; others reject it.
  Status setReference(const Artifact &reference,
                      std::map<std::string, Tensor> weights,
                      const std::string &source);

  /// Makes every step data parallel over the ranks of `comm` (which must
  /// outlive the trainer): the batch given to train() is this rank's shard
  /// of the global batch. Needs an artifact compiled with --data-parallel.
  Status setCommunicator(Communicator *comm);

  /// One optimiser step at learning rate `lr`; step() grows by one. With a
  /// communicator: @grad_shard on the shard with each term scaled by its
  /// share of the global batch's denominator, the gradients summed over
  /// the ranks, and @apply_gradients; the metrics are the global batch's.
  StatusOr<StepMetrics> train(const TrainBatch &batch, double lr,
                              double weightDecay);

  /// The fraction of rows of `ids` whose every position with `scored` = 1
  /// is predicted by the argmax over verbal logits of the position before
  /// (teacher forcing), through @forward.
  StatusOr<double> accuracy(const Tensor &ids, const Tensor &lengths,
                            const Tensor &scored) const;

  /// Writes parameters, moments and `metadata` (plus "step") atomically.
  Status save(const std::string &path,
              std::map<std::string, std::string> metadata) const;

  int64_t step() const { return completed; }
  const std::map<std::string, Tensor> &parameters() const { return params; }

private:
  Trainer(const Artifact &artifact) : artifact(artifact) {}

  /// The reference model's logits over `batch`, as the train step's
  /// reference_logits [B, T, V] (verbal columns; think columns unused).
  StatusOr<Tensor> referenceLogits(const TrainBatch &batch) const;
  /// The inputs every step entry takes: data, parameters, moments, the
  /// learning rate, step and weight decay (`scratch` holds the tensors it
  /// makes).
  StatusOr<std::map<std::string, const Tensor *>>
  stepInputs(const TrainBatch &batch, double lr, double weightDecay,
             std::vector<Tensor> &scratch) const;
  /// train() over the ranks of `comm`.
  StatusOr<StepMetrics> trainShard(const TrainBatch &shard, double lr,
                                   double weightDecay);
  /// Takes the new parameters and moments of `out`, after checking that
  /// `loss` and the gradient norm are finite.
  Status applyStep(std::map<std::string, Tensor> &out, double loss);

  const Artifact &artifact;
  const Artifact *reference = nullptr;
  Communicator *comm = nullptr;
  std::map<std::string, Tensor> params, moments1, moments2, referenceParams;
  int64_t completed = 0;
};

/// A checkpoint read back: parameters, moments (empty for plain weights from
/// `ponder init`), the step and the metadata.
struct Checkpoint {
  std::map<std::string, Tensor> parameters, m, v;
  int64_t step = 0;
  std::map<std::string, std::string> metadata;
};

/// Reads `path`; names that are neither parameters nor adam.m./adam.v. are
/// errors, as is a step that is not a non-negative integer.
StatusOr<Checkpoint> loadCheckpoint(const std::string &path);

/// True for the optimiser moments a checkpoint stores next to the
/// parameters (adam.m.NAME, adam.v.NAME).
bool isOptimizerState(const std::string &name);

} // namespace ponder

#endif // PONDER_RUNTIME_TRAINER_H
