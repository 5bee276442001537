//===- FastMath.cpp - Reassociation and contraction in kernels ------------===//
//
// Marks the float arithmetic inside linalg.generic bodies `reassoc contract`,
// so that LLVM vectorises the reductions (dot products, row sums) and fuses
// multiply-adds, and replaces tanh and exp by MLIR's polynomial
// approximations (a few ulp), which vectorise where libm calls do not. Sums
// are evaluated in a different order than the sequential loop: results stay
// within the contract's tolerances (the reference tests check them),
// deterministic for a given build and CPU.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_FASTMATH
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

struct FastMathPass : mlir::ponder::impl::FastMathBase<FastMathPass> {
  void runOnOperation() final {
    auto flags = arith::FastMathFlagsAttr::get(
        &getContext(),
        arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
    getOperation()->walk([&](linalg::GenericOp generic) {
      generic.getRegion().walk([&](arith::ArithFastMathInterface op) {
        op->setAttr(op.getFastMathAttrName(), flags);
      });
    });
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == "math.tanh" || name == "math.exp";
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
