//===- Patterns.h - Pattern sets of the ponder lowerings --------*- C++ -*-===//

#ifndef PONDER_PASSES_LOWERING_PATTERNS_H
#define PONDER_PASSES_LOWERING_PATTERNS_H

#include <cstdint>

namespace mlir {
class RewritePatternSet;
namespace ponder {

/// embed, step_embed, rms_norm, linear, gelu, attention, select_step ->
/// linalg on tensors (PonderToLinalg.cpp).
void populateLayerLoweringPatterns(RewritePatternSet &patterns);

/// attention, cached_attention, attention_grad -> online-softmax parallel
/// loops on memref views, preferred over the above (FusedAttention.cpp);
/// a head's row is held in vectors of `lanes` f32 (1: scalars).
void populateFusedAttentionPatterns(RewritePatternSet &patterns, int64_t lanes);

/// attention and attention_grad over gathered queries (`positions`) ->
/// the loops above on every target; with `everyQueryWhenMostRun`, the
/// score-matrix form of every query at steps where most positions run
/// (FusedAttention.cpp).
void populateGatheredAttentionPatterns(RewritePatternSet &patterns,
                                       int64_t lanes,
                                       bool everyQueryWhenMostRun);

/// gather_positions, scatter_positions -> linalg and scf
/// (PositionsLowering.cpp).
void populatePositionsLoweringPatterns(RewritePatternSet &patterns);

/// linear_grad, rms_norm_grad, gelu_grad, embed_grad, step_embed_grad,
/// select_step_grad -> linalg on tensors (LayerGradLowering.cpp).
void populateLayerGradLoweringPatterns(RewritePatternSet &patterns);

/// clip_global_norm, adamw -> linalg on tensors (OptimizerLowering.cpp).
void populateOptimizerLoweringPatterns(RewritePatternSet &patterns);

/// halting_loop -> scf.while over linalg updates (HaltingLoopLowering.cpp).
void populateHaltingLoopLoweringPatterns(RewritePatternSet &patterns);

/// thought_chain, thought_chain_grad -> scf.while over their regions
/// (ThoughtChainLowering.cpp).
void populateThoughtChainLoweringPatterns(RewritePatternSet &patterns);

/// verbal_xent, policy_loss, ponder_cost -> linalg reductions
/// (LossLowering.cpp).
void populateLossLoweringPatterns(RewritePatternSet &patterns);

} // namespace ponder
} // namespace mlir

#endif // PONDER_PASSES_LOWERING_PATTERNS_H
