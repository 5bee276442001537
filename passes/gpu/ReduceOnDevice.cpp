//===- ReduceOnDevice.cpp - full reductions as one-block kernels ----------===//
//
// A `linalg.generic` that reduces every dimension to a scalar (the halting
// loop's "any position still running", the losses' sums, the gradient
// norm) has no parallel loop for the mapping, so it would run on the host
// and pull its whole input out of device memory. Here it becomes one block
// of 256 threads: each thread folds a strided share of the elements from
// the combiner's neutral element, the block combines the partial results
// in workgroup memory in a tree (one barrier per level), and thread 0 folds
// the total into the output. The host then reads a single element.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/gpu/KernelIndexing.h"
#include "passes/transforms/ContractionEnds.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_REDUCEONDEVICE
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;

namespace {

constexpr int64_t kThreads = 256;

Value constant(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// The op that folds an element into the output: `yield combine(out, x)`
/// (either operand order) where nothing else reads `out` and the combiner
/// has a neutral element.
Operation *matchCombiner(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != op.getNumLoops() || op.getNumLoops() == 0 ||
      cast<MemRefType>(op.getDpsInitOperand(0)->get().getType()).getRank() != 0)
    return nullptr;
  Block &body = op.getRegion().front();
  BlockArgument out = body.getArguments().back();
  Operation *combiner = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!combiner || combiner->getBlock() != &body ||
      combiner->getNumOperands() != 2 || !out.hasOneUse() ||
      out.getUses().begin()->getOwner() != combiner ||
      combiner->getOperand(0) == combiner->getOperand(1) ||
      !arith::getNeutralElement(combiner))
    return nullptr;
  if (!llvm::all_of(body.getOperations(), [](Operation &o) {
        return isPure(&o) || isa<linalg::YieldOp>(o);
      }))
    return nullptr;
  return combiner;
}

/// combiner(lhs, rhs) with `out`'s position taken by `acc`.
Value combine(OpBuilder &b, Location loc, Operation *combiner,
              BlockArgument out, Value acc, Value element) {
  bool outFirst = combiner->getOperand(0) == out;
  OperationState state(loc, combiner->getName());
  state.addOperands(outFirst ? ValueRange{acc, element}
                             : ValueRange{element, acc});
  state.addTypes(combiner->getResultTypes());
  state.addAttributes(combiner->getAttrs());
  return b.create(state)->getResult(0);
}

struct ReduceOnDevicePass
    : mlir::ponder::impl::ReduceOnDeviceBase<ReduceOnDevicePass> {
  void runOnOperation() final {
    SmallVector<std::pair<linalg::GenericOp, Operation *>> found;
    getOperation().walk([&](linalg::GenericOp op) {
      if (Operation *combiner = matchCombiner(op))
        found.push_back({op, combiner});
    });
    for (auto [op, combiner] : found)
      rewrite(op, combiner);
  }

  void rewrite(linalg::GenericOp op, Operation *combiner) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    BlockArgument out = op.getRegion().front().getArguments().back();
    Type type = out.getType();
    SmallVector<Value> sizes = mlir::ponder::loopExtents(b, loc, op);
    Value total = mlir::ponder::product(b, loc, sizes);
    Value one = constant(b, loc, 1);
    auto launch = gpu::LaunchOp::create(b, loc, one, one, one,
                                        constant(b, loc, kThreads), one, one);
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    Value partials = launch.addWorkgroupAttribution(
        MemRefType::get({kThreads}, type, MemRefLayoutAttrInterface(),
                        workgroup),
        loc);
    Block &kernel = launch.getBody().front();
    b.setInsertionPointToStart(&kernel);
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointToStart(&kernel);
    Value tid = launch.getThreadIds().x;
    Value neutral =
        arith::ConstantOp::create(b, loc, *arith::getNeutralElement(combiner));
    Value share = foldShare(b, loc, op, combiner, sizes, total, tid, neutral);
    memref::StoreOp::create(b, loc, share, partials, tid);
    gpu::BarrierOp::create(b, loc);
    foldPartials(b, loc, combiner, out, partials, tid);
    Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid,
                                        constant(b, loc, 0));
    auto ifOp = scf::IfOp::create(b, loc, first, /*else=*/false);
    OpBuilder tb = OpBuilder::atBlockBegin(ifOp.thenBlock());
    // An output filled just before needs no load (nor a kernel to fill).
    Value output = op.getDpsInitOperand(0)->get();
    linalg::FillOp fill = mlir::ponder::fillBefore(op, output);
    Value init =
        fill
            ? fill.getInputs()[0]
            : memref::LoadOp::create(tb, loc, output, ValueRange{}).getResult();
    Value sum = memref::LoadOp::create(tb, loc, partials,
                                       ValueRange{constant(tb, loc, 0)});
    memref::StoreOp::create(tb, loc, combine(tb, loc, combiner, out, init, sum),
                            output, ValueRange{});
    op.erase();
    if (fill)
      fill.erase();
  }

  /// This thread's share: the elements tid, tid + 256, ... of the `total`
  /// (loop extents `sizes`) folded from `neutral` by the op's body.
  static Value foldShare(OpBuilder &b, Location loc, linalg::GenericOp op,
                         Operation *combiner, ArrayRef<Value> sizes,
                         Value total, Value tid, Value neutral) {
    Block &body = op.getRegion().front();
    BlockArgument out = body.getArguments().back();
    auto share = scf::ForOp::create(
        b, loc, tid, total, constant(b, loc, kThreads), ValueRange{neutral},
        [&](OpBuilder &lb, Location l, Value flat, ValueRange acc) {
          SmallVector<Value> ivs =
              mlir::ponder::delinearize(lb, l, flat, sizes);
          IRMapping map;
          for (OpOperand *input : op.getDpsInputOperands()) {
            AffineMap m = op.getMatchingIndexingMap(input);
            SmallVector<Value> indices;
            for (AffineExpr e : m.getResults())
              indices.push_back(ivs[cast<AffineDimExpr>(e).getPosition()]);
            Value arg = body.getArgument(input->getOperandNumber());
            if (isa<MemRefType>(input->get().getType()))
              map.map(arg,
                      memref::LoadOp::create(lb, l, input->get(), indices));
            else
              map.map(arg, input->get()); // a scalar input
          }
          for (Operation &o : body.without_terminator()) {
            if (&o == combiner)
              continue;
            if (auto index = dyn_cast<linalg::IndexOp>(o)) {
              map.map(index.getResult(), ivs[index.getDim()]);
              continue;
            }
            lb.clone(o, map);
          }
          Value element = map.lookup(
              combiner->getOperand(combiner->getOperand(0) == out ? 1 : 0));
          scf::YieldOp::create(lb, l,
                               combine(lb, l, combiner, out, acc[0], element));
        });
    return share.getResult(0);
  }

  /// The tree over the threads' partial results: at each level the lower
  /// half folds in the upper half; partials[0] ends with the block's total.
  static void foldPartials(OpBuilder &b, Location loc, Operation *combiner,
                           BlockArgument out, Value partials, Value tid) {
    for (int64_t half = kThreads / 2; half >= 1; half /= 2) {
      Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           tid, constant(b, loc, half));
      auto ifOp = scf::IfOp::create(b, loc, active, /*else=*/false);
      OpBuilder tb = OpBuilder::atBlockBegin(ifOp.thenBlock());
      Value mine = memref::LoadOp::create(tb, loc, partials, tid);
      Value other =
          memref::LoadOp::create(tb, loc, partials,
                                 ValueRange{arith::AddIOp::create(
                                     tb, loc, tid, constant(tb, loc, half))});
      memref::StoreOp::create(
          tb, loc, combine(tb, loc, combiner, out, mine, other), partials, tid);
      gpu::BarrierOp::create(b, loc);
    }
  }
};

} // namespace
