//===- MapParallelLoops.cpp - scf.parallel -> blocks and threads ----------===//

#include "passes/Passes.h"

#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/AffineMap.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_MAPPARALLELLOOPSTOGPU
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

constexpr int64_t kThreadsPerBlock = 256;

/// The trip count of dimension `i` when it is a constant.
std::optional<int64_t> tripCount(scf::ParallelOp loop, unsigned i) {
  std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound()[i]);
  std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound()[i]);
  std::optional<int64_t> step = getConstantIntValue(loop.getStep()[i]);
  if (!lb || !ub || !step || *step <= 0)
    return std::nullopt;
  return llvm::divideCeil(std::max<int64_t>(*ub - *lb, 0), *step);
}

/// Block extent along a dimension of `count` iterations (dynamic: `limit`).
int64_t blockExtent(std::optional<int64_t> count, int64_t limit) {
  if (!count)
    return limit;
  return std::min<int64_t>(limit,
                           llvm::PowerOf2Ceil(std::max<int64_t>(*count, 1)));
}

void setMapping(scf::ParallelOp loop, ArrayRef<gpu::Processor> processors) {
  MLIRContext *context = loop.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping;
  for (gpu::Processor p : processors)
    mapping.push_back(
        gpu::ParallelLoopDimMappingAttr::get(context, p, identity, identity));
  (void)gpu::setMappingAttr(loop, mapping);
}

struct MapParallelLoopsToGPUPass
    : mlir::ponder::impl::MapParallelLoopsToGPUBase<MapParallelLoopsToGPUPass> {
  void runOnOperation() final {
    // Loops nested in another run sequentially in its thread. As scf.for
    // they may follow other work in the body (ponder-fuse-rows' rows run
    // several linalg ops), which convert-parallel-loops-to-gpu refuses for
    // nested scf.parallel.
    SmallVector<scf::ParallelOp> nested;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (loop->getParentOfType<scf::ParallelOp>())
        nested.push_back(loop);
    });
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp loop : llvm::reverse(nested)) {
      rewriter.setInsertionPoint(loop);
      if (failed(scf::parallelForToNestedFors(rewriter, loop)))
        return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost)
      map(loop);
  }

  /// Row-major buffers are contiguous along the innermost dimension, so
  /// it goes to threadIdx.x (coalesced accesses), the next one to
  /// threadIdx.y when the innermost is short; the tiles spread over
  /// blockIdx.x, .y, .z from the inside out and any outer dimensions left
  /// run sequentially in each thread, like every loop nested inside.
  void map(scf::ParallelOp loop) {
    unsigned rank = loop.getNumLoops();
    SmallVector<int64_t> tiles(rank, 1);
    int64_t x = blockExtent(tripCount(loop, rank - 1), kThreadsPerBlock);
    tiles[rank - 1] = x;
    if (rank >= 2)
      tiles[rank - 2] =
          blockExtent(tripCount(loop, rank - 2), kThreadsPerBlock / x);
    auto [outer, inner] =
        scf::tileParallelLoop(loop, tiles, /*noMinMaxBounds=*/true);

    using gpu::Processor;
    SmallVector<Processor> blocks(rank, Processor::Sequential);
    SmallVector<Processor> threads(rank, Processor::Sequential);
    Processor blockIds[] = {Processor::BlockX, Processor::BlockY,
                            Processor::BlockZ};
    for (unsigned i = 0; i < std::min(rank, 3u); ++i)
      blocks[rank - 1 - i] = blockIds[i];
    threads[rank - 1] = Processor::ThreadX;
    if (rank >= 2)
      threads[rank - 2] = Processor::ThreadY;
    setMapping(outer, blocks);
    setMapping(inner, threads);
  }
};

} // namespace
