//===- ParallelizeOuterLoops.cpp - Threads over the outermost loop --------===//
//
// Tiles the outermost loop of every linalg.generic on buffers whose first
// iterator is parallel by one, as an scf.parallel: each iteration runs the
// rest of the op (a slice along the first dimension, usually one sequence
// of the batch). Ops of three loops or more whose second loop is parallel
// too are tiled along both: the rows of a compacted halting loop are
// [1, M, d], one "sequence", and must still spread over the threads. The
// innermost loop is never tiled. The inner loops stay sequential scf.for
// loops that LLVM vectorises; convert-scf-to-openmp then runs the outer
// loops on threads.
// Iterations write disjoint slices, so results do not depend on the thread
// count.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_PARALLELIZEOUTERLOOPS
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

/// Whether `op` has too little work to be worth a parallel region: a static
/// iteration space below `minimum` points.
bool tooSmall(linalg::GenericOp op, int64_t minimum) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t points = 1;
  for (int64_t r : ranges) {
    if (ShapedType::isDynamic(r))
      return false;
    points *= r;
  }
  return points < minimum;
}

struct ParallelizeOuterLoopsPass
    : mlir::ponder::impl::ParallelizeOuterLoopsBase<ParallelizeOuterLoopsPass> {
  using ParallelizeOuterLoopsBase::ParallelizeOuterLoopsBase;

  void runOnOperation() final {
    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp op) {
      // Ops in a loop over rows (ponder-fuse-rows) run inside its threads.
      if (op.hasPureBufferSemantics() && op.getNumLoops() > 0 &&
          !op->getParentOfType<scf::ParallelOp>() &&
          op.getIteratorTypesArray().front() == utils::IteratorType::parallel &&
          !tooSmall(op, minimumPoints))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      SmallVector<int64_t> sizes(op.getNumLoops(), 0);
      sizes.front() = 1;
      if (op.getNumLoops() >= 3 &&
          op.getIteratorTypesArray()[1] == utils::IteratorType::parallel)
        sizes[1] = 1;
      linalg::LinalgTilingOptions options;
      options.setTileSizes(sizes).setLoopType(
          linalg::LinalgTilingLoopType::ParallelLoops);
      rewriter.setInsertionPoint(op);
      if (failed(linalg::tileLinalgOp(rewriter, op, options)))
        return signalPassFailure();
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
