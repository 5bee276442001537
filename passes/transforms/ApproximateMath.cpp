//===- ApproximateMath.cpp - Kernel math without libdevice ----------------===//
//
// Rewrites math ops into what NVPTX executes natively, so that GPU kernels
// are self-contained PTX: no libdevice, hence no CUDA toolkit, to compile
// them. The CPU-side emulation of the kernels runs the same rewrite, so the
// reference tests check the arithmetic the GPU executes.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

/// The LLVM intrinsic that computes `op` in one instruction on NVPTX (and
/// on x86), or "" if there is none.
StringRef nativeIntrinsic(Operation *op) {
  return llvm::TypeSwitch<Operation *, StringRef>(op)
      .Case([](math::SqrtOp) { return "llvm.sqrt"; })
      .Case([](math::AbsFOp) { return "llvm.fabs"; })
      .Case([](math::FloorOp) { return "llvm.floor"; })
      .Case([](math::CeilOp) { return "llvm.ceil"; })
      .Case([](math::TruncOp) { return "llvm.trunc"; })
      .Case([](math::FmaOp) { return "llvm.fma"; })
      .Case([](math::CopySignOp) { return "llvm.copysign"; })
      .Default([](Operation *) { return ""; });
}

/// Replaces a native math op by a call of its LLVM intrinsic. The call, not
/// the LLVM dialect's own op (llvm.intr.sqrt), because convert-gpu-to-nvvm
/// turns those into libdevice calls.
LogicalResult lowerToIntrinsic(Operation *op) {
  OpBuilder builder(op);
  Location loc = op->getLoc();
  Value result;
  if (auto rsqrt = dyn_cast<math::RsqrtOp>(op)) {
    // 1 / sqrt(x), both correctly rounded (libdevice's rsqrtf is approximate).
    Value root = LLVM::CallIntrinsicOp::create(
                     builder, loc, rsqrt.getType(),
                     builder.getStringAttr("llvm.sqrt"), rsqrt.getOperand())
                     .getResult(0);
    Value one = arith::ConstantOp::create(
        builder, loc, builder.getFloatAttr(rsqrt.getType(), 1.0));
    result = arith::DivFOp::create(builder, loc, one, root);
  } else if (StringRef name = nativeIntrinsic(op); !name.empty()) {
    result = LLVM::CallIntrinsicOp::create(
                 builder, loc, op->getResult(0).getType(),
                 builder.getStringAttr(name), op->getOperands())
                 .getResult(0);
  } else {
    return op->emitOpError("has no native GPU lowering or approximation");
  }
  op->getResult(0).replaceAllUsesWith(result);
  op->erase();
  return success();
}

struct ApproximateMathPass
    : mlir::ponder::impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() final {
    RewritePatternSet patterns(&getContext());
    math::populateExpansionPatterns(patterns, {"powf", "fpowi", "exp2", "sinh",
                                               "cosh", "tan", "asinh", "acosh",
                                               "atanh", "round", "roundeven"});
    // rsqrt's approximation is an x86 (AVX2) one; the native form is exact.
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) { return name != "math.rsqrt"; });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    SmallVector<Operation *> rest;
    getOperation()->walk([&](Operation *op) {
      if (isa<math::MathDialect>(op->getDialect()))
        rest.push_back(op);
    });
    for (Operation *op : rest)
      if (failed(lowerToIntrinsic(op)))
        return signalPassFailure();
  }
};

} // namespace
