//===- ExpandLoopBuffers.cpp - One buffer for all iterations of a loop ----===//
//
// ponder-fuse-rows' loops over rows keep each row's intermediates (a tile
// of a norm's input, its sum of squares) in small buffers that bufferization
// allocates inside the loop: a heap allocation per row on the CPU, and a
// loop that cannot become a GPU kernel. Here every such buffer of static
// shape directly in the body of an scf.parallel with zero lower bounds and
// unit steps becomes a slice of one buffer allocated before the loop with
// the loop's extents in front, indexed by the iteration, and freed after
// it. Iterations still write disjoint memory; the buffer is as large as the
// intermediate tensor was before fusion.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_EXPANDLOOPBUFFERS
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

bool startsAtZeroByOne(scf::ParallelOp loop) {
  return llvm::all_of(loop.getLowerBound(),
                      [](Value v) { return isConstantIntValue(v, 0); }) &&
         llvm::all_of(loop.getStep(),
                      [](Value v) { return isConstantIntValue(v, 1); });
}

/// A static buffer only read and written by linalg ops and copies, and
/// freed in the same block.
bool isPrivateBuffer(memref::AllocOp alloc) {
  MemRefType type = alloc.getType();
  if (!type.hasStaticShape() || !type.getLayout().isIdentity())
    return false;
  return llvm::all_of(alloc->getUsers(), [&](Operation *user) {
    return isa<linalg::LinalgOp, memref::CopyOp>(user) ||
           (isa<memref::DeallocOp>(user) &&
            user->getBlock() == alloc->getBlock());
  });
}

void expand(scf::ParallelOp loop, memref::AllocOp alloc) {
  OpBuilder b(loop);
  Location loc = alloc.getLoc();
  MemRefType type = alloc.getType();
  unsigned loops = loop.getNumLoops();
  SmallVector<int64_t> shape(loops, ShapedType::kDynamic);
  llvm::append_range(shape, type.getShape());
  auto wholeType =
      MemRefType::get(shape, type.getElementType(), MemRefLayoutAttrInterface(),
                      type.getMemorySpace());
  auto whole = memref::AllocOp::create(b, loc, wholeType, loop.getUpperBound(),
                                       alloc.getAlignmentAttr());
  b.setInsertionPointAfter(loop);
  memref::DeallocOp::create(b, loc, whole);

  b.setInsertionPoint(alloc);
  SmallVector<OpFoldResult> offsets =
      getAsOpFoldResult(loop.getInductionVars());
  SmallVector<OpFoldResult> sizes(loops, b.getIndexAttr(1));
  offsets.append(type.getRank(), b.getIndexAttr(0));
  for (int64_t size : type.getShape())
    sizes.push_back(b.getIndexAttr(size));
  SmallVector<OpFoldResult> strides(loops + type.getRank(), b.getIndexAttr(1));
  auto sliceType = memref::SubViewOp::inferRankReducedResultType(
      type.getShape(), wholeType, offsets, sizes, strides);
  Value slice = memref::SubViewOp::create(b, loc, cast<MemRefType>(sliceType),
                                          whole, offsets, sizes, strides);
  for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
    if (isa<memref::DeallocOp>(user))
      user->erase();
  alloc.getResult().replaceAllUsesWith(slice);
  alloc.erase();
}

struct ExpandLoopBuffersPass
    : mlir::ponder::impl::ExpandLoopBuffersBase<ExpandLoopBuffersPass> {
  void runOnOperation() final {
    getOperation()->walk([](scf::ParallelOp loop) {
      if (!startsAtZeroByOne(loop))
        return;
      for (auto alloc : llvm::make_early_inc_range(
               loop.getBody()->getOps<memref::AllocOp>()))
        if (isPrivateBuffer(alloc))
          expand(loop, alloc);
    });
  }
};

} // namespace
