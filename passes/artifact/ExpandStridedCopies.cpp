//===- ExpandStridedCopies.cpp - memref.copy -> linalg.copy ---------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_EXPANDSTRIDEDCOPIES
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

/// A copy the LLVM lowering turns into a plain memcpy needs nothing.
bool lowersToMemcpy(memref::CopyOp copy) {
  auto contiguous = [](Type type) {
    auto memref = cast<MemRefType>(type);
    return memref.getLayout().isIdentity();
  };
  return contiguous(copy.getSource().getType()) &&
         contiguous(copy.getTarget().getType());
}

struct StridedCopyToLinalg : OpRewritePattern<memref::CopyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::CopyOp copy,
                                PatternRewriter &rewriter) const override {
    if (lowersToMemcpy(copy))
      return failure();
    rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                copy.getTarget());
    return success();
  }
};

struct ExpandStridedCopiesPass
    : mlir::ponder::impl::ExpandStridedCopiesBase<ExpandStridedCopiesPass> {
  void runOnOperation() final {
    RewritePatternSet patterns(&getContext());
    patterns.add<StridedCopyToLinalg>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
