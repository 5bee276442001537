//===- ContractionEnds.h - A product's fill and epilogue --------*- C++ -*-===//
//
// A bufferized matrix product usually sits between a fill of its output
// (out = 0) and one element-wise op that reads the result (GELU, a residual
// addition). The kernels that tile products (ponder-vectorize-contractions
// on the CPU, ponder-tile-contractions-for-gpu) take both over: their
// accumulators start from the fill's value instead of loading the output,
// and they apply the element-wise payload to each result before storing it
// into the element-wise op's output. The fill and the epilogue then cost
// neither a kernel nor a pass over memory. Matching and the payload's
// replay live here so that both kernels fuse exactly the same ops.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_PASSES_TRANSFORMS_CONTRACTIONENDS_H
#define PONDER_PASSES_TRANSFORMS_CONTRACTIONENDS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::ponder {

/// What a product's kernel takes over; each member may be null.
struct ContractionEnds {
  /// Writes the product's output just before it: the accumulators start
  /// from its value.
  linalg::FillOp fill;
  /// The only reader of the product's output, element-wise over the same
  /// points: applied to each result, stored into its own output.
  linalg::GenericOp epilogue;
  /// The epilogue's operand that reads the product.
  OpOperand *product = nullptr;

  /// The fill's value, where the accumulators start; null without one.
  Value initial() const;
  /// The output the kernel stores into and its map over the product's loops.
  Value output(linalg::GenericOp contraction) const;
  AffineMap outputMap(linalg::GenericOp contraction) const;
  /// `operand`'s indexing map over the product's loops.
  AffineMap mapOf(linalg::GenericOp contraction, OpOperand &operand) const;
  /// The epilogue's inputs besides the product.
  SmallVector<OpOperand *> otherInputs() const;
};

/// The fill that writes `buffer` just before `op` reads it: `buffer` is an
/// allocation in `op`'s block, the fill its first user and `op` the second.
/// A kernel may then start from the fill's value and the fill go.
linalg::FillOp fillBefore(Operation *op, Value buffer);

/// The fill and epilogue of a bufferized contraction whose output buffer is
/// an allocation in its block (so every reader is known). The epilogue is
/// taken only when `acceptInput` accepts its other inputs' maps over the
/// product's loops.
ContractionEnds matchContractionEnds(linalg::GenericOp contraction,
                                     function_ref<bool(AffineMap)> acceptInput);

/// Replays the epilogue's payload at one point (or one vector of points:
/// then `product` is a vector and scalars from outside are broadcast).
/// `inputs` are the values of otherInputs() at that point.
Value applyEpilogue(OpBuilder &b, Location loc, const ContractionEnds &ends,
                    Value product, ArrayRef<Value> inputs);

/// Erases what the kernel took over.
void eraseContractionEnds(ContractionEnds &ends);

} // namespace mlir::ponder

#endif // PONDER_PASSES_TRANSFORMS_CONTRACTIONENDS_H
