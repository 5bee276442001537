//===- BuildModel.h - Model description -> ponder IR ------------*- C++ -*-===//
//
// Builds the forward graph and the training-loss graph of a model
// description as ponder IR (MODEL.md §3-5).
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_FRONTEND_BUILDMODEL_H
#define PONDER_FRONTEND_BUILDMODEL_H

#include "frontend/ModelDescription.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace ponder {

/// One parameter of the contract (MODEL.md §3): name and shape.
struct ParameterSpec {
  std::string name;
  std::vector<int64_t> shape;
};

/// The parameters of `desc` in contract order.
std::vector<ParameterSpec> getParameters(const ModelDescription &desc);

/// Builds a module with three functions:
///   @forward(ids, lengths, params...) -> (logits, steps, remainder)
///   @decode(ids, lengths, start, cache.keys, cache.values, params...)
///       -> (logits, steps, remainder, cache.keys, cache.values)
///   @loss(ids, lengths, target_weight, advantage, [reference_logits],
///         params...) -> (loss, loss.ce, loss.ponder, loss.policy, logits,
///                        steps, remainder)
/// @decode is cached decoding (docs/decoding.md): the `lengths[b]` new tokens
/// of row b continue the `start[b]` positions whose per-step keys and values
/// are in the caches ([N_max, B, max_seq, d]); it returns the caches with the
/// new positions written.
/// Parameter arguments carry `ponder.param = "NAME"`. The dialects used must
/// be loaded in `context` (see registerPonderDialects).
struct BuildOptions {
  /// Also @loss_shard (@loss with an input `loss_scales` [3] that scales
  /// L_ce, L_ponder and L_pg), @grad_shard (its gradient) and
  /// @apply_gradients(params, grad.NAME..., adam.m/v.NAME..., learning_rate,
  /// step, weight_decay) -> (grad_norm, params, moments): @train_step split
  /// at the gradient, for data-parallel training (docs/distributed.md).
  bool dataParallel = false;
};

mlir::OwningOpRef<mlir::ModuleOp> buildModel(mlir::MLIRContext &context,
                                             const ModelDescription &desc,
                                             const BuildOptions &options = {});

} // namespace ponder

#endif // PONDER_FRONTEND_BUILDMODEL_H
