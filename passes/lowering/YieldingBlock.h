//===- YieldingBlock.h - Inlining regions that end in ponder.yield -*- C++
//-*-===//
//
// The halting loop and the thought chain lower to scf loops whose bodies are
// their regions, moved into place.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_PASSES_LOWERING_YIELDINGBLOCK_H
#define PONDER_PASSES_LOWERING_YIELDINGBLOCK_H

#include "dialects/ponder/IR/PonderOps.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::ponder::lowering {

/// Moves `block`, which ends in a ponder.yield, to the end of the current
/// insertion block with `args` for its arguments, and returns the values it
/// yielded (the yield is erased).
inline SmallVector<Value>
inlineYieldingBlock(ConversionPatternRewriter &rewriter, Block &block,
                    ValueRange args) {
  auto yield = cast<YieldOp>(block.getTerminator());
  Block *into = rewriter.getInsertionBlock();
  rewriter.inlineBlockBefore(&block, into, into->end(), args);
  SmallVector<Value> yielded(yield.getValues());
  rewriter.eraseOp(yield);
  rewriter.setInsertionPointToEnd(into);
  return yielded;
}

} // namespace mlir::ponder::lowering

#endif // PONDER_PASSES_LOWERING_YIELDINGBLOCK_H
