//===- FuseRows.cpp - Row reductions with their producers and consumers ---===//
//
// A norm, a softmax or a cross-entropy is a short chain over the rows of a
// [..., d] tensor: element-wise producers, one or more reductions along the
// last dimension (each with the fill of its accumulator) and an element-wise
// consumer of the reduced value. Lowered op by op, every link is a loop nest
// of its own: a kernel on the GPU, a parallel region and a pass over memory
// on the CPU. Here the consumer is tiled one row at a time as an
// `scf.forall`, and its producers that work on the same rows are fused into
// the tile with upstream tile-and-fuse, so the chain becomes one loop over
// rows whose body keeps the row's intermediates small. A producer that is
// also used after the chain is yielded by the loop rather than recomputed.
// Contractions stay outside (their kernels are register- or shared-memory
// tiled elsewhere), and nothing crosses a region: a producer outside the
// halting loop is never recomputed at every step.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_FUSEROWS
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

bool isElementwise(linalg::GenericOp op) {
  return op.hasPureTensorSemantics() && op.getNumReductionLoops() == 0;
}

/// Whether `map` is (d0, ..., d{n-1}) -> (d0, ..., d{rows-1}).
bool leadsWithLoops(AffineMap map, unsigned rows) {
  if (map.getNumResults() != rows || !map.isProjectedPermutation())
    return false;
  for (unsigned i = 0; i < rows; ++i)
    if (map.getDimPosition(i) != i)
      return false;
  return true;
}

/// Whether `op` is a matrix product with an output dimension of its own (a
/// linear layer), rather than rows dotted with one vector (a halting unit).
bool isMatrixProduct(linalg::GenericOp op) {
  if (!linalg::isaContractionOpInterface(op))
    return false;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(cast<linalg::LinalgOp>(op.getOperation()));
  return failed(dims) || !dims->n.empty();
}

/// A reduction along the last loop only, into a result indexed by the
/// other loops in order: sum(x^2) of a norm, max and sum(exp) of a softmax,
/// a halting unit's dot product.
bool isRowReduction(linalg::GenericOp op) {
  unsigned rank = op.getNumLoops();
  if (!op.hasPureTensorSemantics() || rank < 2 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 1 ||
      op.getIteratorTypesArray().back() != utils::IteratorType::reduction ||
      isMatrixProduct(op))
    return false;
  return leadsWithLoops(op.getMatchingIndexingMap(op.getDpsInitOperand(0)),
                        rank - 1);
}

/// The loops of `root` to tile by one: the rows of the row reduction it
/// reads. None when it reads none.
std::optional<unsigned> rowLoops(linalg::GenericOp root) {
  if (!isElementwise(root) || root.getNumLoops() == 0)
    return std::nullopt;
  for (OpOperand *input : root.getDpsInputOperands()) {
    auto producer = input->get().getDefiningOp<linalg::GenericOp>();
    if (!producer || !isRowReduction(producer) ||
        producer->getBlock() != root->getBlock())
      continue;
    unsigned rows = producer.getNumLoops() - 1;
    if (leadsWithLoops(root.getMatchingIndexingMap(input), rows) &&
        (root.getNumLoops() == rows || root.getNumLoops() == rows + 1))
      return rows;
  }
  return std::nullopt;
}

/// Whether `producer` computes rows that the slice takes one at a time: an
/// element-wise op, a row reduction or a fill in the root's block, of which
/// the slice keeps fewer elements (a weight broadcast to every row would be
/// recomputed per row instead).
bool fusible(tensor::ExtractSliceOp slice, OpResult producer, Block *block) {
  Operation *op = producer.getOwner();
  if (op->getBlock() != block)
    return false;
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!isa<linalg::FillOp>(op) &&
      !(generic && (isElementwise(generic) || isRowReduction(generic))))
    return false;
  ArrayRef<int64_t> whole = slice.getSourceType().getShape();
  ArrayRef<int64_t> part = slice.getResultType().getShape();
  for (auto [w, p] : llvm::zip(whole, part))
    if (p == 1 && w != 1)
      return true;
  return false;
}

/// Whether `a` and `b` compute the same values: element-wise, the same
/// inputs, maps and payload, and neither reads its output operand.
bool sameElementwise(linalg::GenericOp a, linalg::GenericOp b) {
  auto readsInit = [](linalg::GenericOp op) {
    return llvm::any_of(op.getDpsInitsMutable(), [&](OpOperand &init) {
      return op.payloadUsesValueFromOperand(&init);
    });
  };
  auto sameValue = [](Value x, Value y) {
    auto sliceX = x.getDefiningOp<tensor::ExtractSliceOp>();
    auto sliceY = y.getDefiningOp<tensor::ExtractSliceOp>();
    return x == y ||
           (sliceX && sliceY &&
            OperationEquivalence::isEquivalentTo(
                sliceX, sliceY, OperationEquivalence::IgnoreLocations));
  };
  return isElementwise(a) && isElementwise(b) && !readsInit(a) &&
         !readsInit(b) && a.getNumDpsInputs() == b.getNumDpsInputs() &&
         llvm::all_of_zip(a.getInputs(), b.getInputs(), sameValue) &&
         a.getResultTypes() == b.getResultTypes() &&
         a.getIndexingMaps() == b.getIndexingMaps() &&
         OperationEquivalence::isRegionEquivalentTo(
             &a.getRegion(), &b.getRegion(),
             OperationEquivalence::IgnoreLocations);
}

/// Tile-and-fuse fuses a producer once per slice that reads it: a norm's
/// input, read by the reduction and by the scaling, would be computed twice
/// in every row. The first copy serves both.
void dropRecomputation(RewriterBase &rewriter, scf::ForallOp loop) {
  SmallVector<linalg::GenericOp> ops(
      loop.getBody()->getOps<linalg::GenericOp>());
  for (auto [i, first] : llvm::enumerate(ops))
    for (linalg::GenericOp &later : llvm::drop_begin(ops, i + 1))
      if (first && later && sameElementwise(first, later)) {
        rewriter.replaceOp(later, first->getResults());
        later = nullptr;
      }
}

LogicalResult fuseRows(RewriterBase &rewriter, linalg::GenericOp root,
                       unsigned rows) {
  SmallVector<OpFoldResult> sizes(root.getNumLoops(), rewriter.getIndexAttr(0));
  for (unsigned i = 0; i < rows; ++i)
    sizes[i] = rewriter.getIndexAttr(1);
  scf::SCFTileAndFuseOptions options;
  options.tilingOptions.setTileSizes(sizes).setLoopType(
      scf::SCFTilingOptions::LoopType::ForallOp);
  Block *block = root->getBlock();
  options.setFusionControlFn(
      [block](tensor::ExtractSliceOp slice, OpResult producer,
              bool isDestination)
          -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        if (!fusible(slice, producer, block))
          return std::nullopt;
        // Still used after the chain: the loop returns it as well.
        Operation *loop = slice->getParentOfType<scf::ForallOp>();
        bool usedOutside = llvm::any_of(producer.getUses(), [&](OpOperand &u) {
          return !loop->isAncestor(u.getOwner());
        });
        return scf::SCFTileAndFuseOptions::ControlFnResult{
            usedOutside && !isDestination &&
            !isa<linalg::FillOp>(producer.getOwner())};
      });
  rewriter.setInsertionPoint(root);
  FailureOr<scf::SCFTileAndFuseResult> fused =
      scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(root.getOperation()), options);
  if (failed(fused))
    return failure();
  // Uses before the loop (the shapes its bounds come from) and the slices
  // left in it keep the original value.
  Operation *loop = fused->loops.front();
  dropRecomputation(rewriter, cast<scf::ForallOp>(loop));
  DominanceInfo dominance;
  for (auto [original, replacement] : fused->replacements)
    rewriter.replaceUsesWithIf(original, replacement, [&](OpOperand &use) {
      return !loop->isAncestor(use.getOwner()) &&
             dominance.properlyDominates(loop, use.getOwner());
    });
  return success();
}

struct FuseRowsPass : mlir::ponder::impl::FuseRowsBase<FuseRowsPass> {
  void runOnOperation() final {
    // Last consumer first: a chain's earlier roots are fused into it.
    SmallVector<linalg::GenericOp> roots;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (rowLoops(op) && !op->getParentOfType<scf::ForallOp>())
        roots.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp root : llvm::reverse(roots)) {
      std::optional<unsigned> rows = rowLoops(root);
      if (!rows || root->use_empty())
        continue;
      if (failed(fuseRows(rewriter, root, *rows)))
        return signalPassFailure();
    }
  }
};

} // namespace
