//===- FuseElementwise.cpp - Chains of element-wise linalg ops ------------===//
//
// Fuses an element-wise linalg.generic into the element-wise generic that
// consumes it when it has no other use: the chain becomes one loop nest (one
// kernel on the GPU), and its intermediate tensors disappear. Contractions
// and reductions are left as they are, so the register-tiled kernels of
// ponder-vectorize-contractions still see plain contractions, and no value
// is computed twice.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

bool isElementwise(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  return generic && generic.getNumReductionLoops() == 0;
}

struct FuseElementwisePass
    : mlir::ponder::impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() final {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *operand) {
          Operation *producer = operand->get().getDefiningOp();
          return isElementwise(producer) && producer->hasOneUse() &&
                 isElementwise(operand->getOwner());
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
