//===- CompactHaltingLoops.cpp - The block on running positions only ------===//
//
// An ACT loop runs its block until the deepest position halts. Here the
// body is split in two: the key/value slice (what the attention's keys and
// values depend on) keeps running on every position, because later steps of
// running positions attend to halted ones (MODEL.md §4); the rest of the
// block runs on the running positions' rows, gathered densely, and its
// result is scattered back into the state. Every op of that query slice
// works row by row, so each row's arithmetic is what the dense body does.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/ponder/IR/PonderOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_COMPACTHALTINGLOOPS
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;
using namespace mlir::ponder;

namespace {

bool isRowTensor(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.getRank() == 3 && type.getElementType().isF32();
}

/// How a compacted body treats each of the original body's ops.
struct BodySlices {
  Operation *attention = nullptr;
  /// Values that depend on the state (the block argument `s` included).
  DenseSet<Value> perPosition;
  /// Ops the attention's key and value depend on: they run everywhere.
  DenseSet<Operation *> keyValue;

  bool inQuerySlice(Operation *op) const {
    return !keyValue.contains(op) &&
           llvm::any_of(op->getResults(),
                        [&](Value r) { return perPosition.contains(r); });
  }
};

/// An op of the query slice must compute each row from the same row of its
/// operands, so that it may run on gathered rows.
bool isRowWise(Operation *op, const BodySlices &slices) {
  if (op == slices.attention)
    return true;
  if (!llvm::all_of(op->getResults(), isRowTensor))
    return false;
  if (isa<RMSNormOp, LinearOp, GeluOp, StepEmbedOp>(op))
    return true;
  // Element-wise arith on [B, T, d] values that all depend on the state.
  return op->hasTrait<OpTrait::Elementwise>() &&
         llvm::all_of(op->getOperands(),
                      [&](Value v) { return slices.perPosition.contains(v); });
}

/// The slices of `loop`'s body, or failure when it cannot be compacted.
FailureOr<BodySlices> sliceBody(HaltingLoopOp loop) {
  Block &body = loop.getBody().front();
  BodySlices slices;
  for (Operation &op : body.without_terminator())
    if (auto att = dyn_cast<AttentionOp>(op)) {
      if (slices.attention || att.getPositions())
        return failure(); // one plain attention per block
      slices.attention = att;
    }
  if (!slices.attention)
    return failure();

  slices.perPosition.insert(loop.getStateArgument());
  for (Operation &op : body.without_terminator())
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return slices.perPosition.contains(v); }))
      slices.perPosition.insert(op.getResults().begin(), op.getResults().end());

  auto att = cast<AttentionOp>(slices.attention);
  SmallVector<Value> worklist = {att.getKey(), att.getValue()};
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != &body || !slices.keyValue.insert(def).second)
      continue;
    worklist.append(def->operand_begin(), def->operand_end());
  }

  Operation *yielded = loop.getYieldedState().getDefiningOp();
  if (!yielded || yielded->getBlock() != &body || !slices.inQuerySlice(yielded))
    return failure(); // nothing would be left to compact
  for (Operation &op : body.without_terminator())
    if (slices.inQuerySlice(&op) && !isRowWise(&op, slices))
      return failure();
  return slices;
}

/// Builds the compacted body of `compacted` from `loop`'s.
void buildCompactedBody(HaltingLoopOp loop, HaltingLoopOp compacted,
                        const BodySlices &slices) {
  Location loc = loop.getLoc();
  OpBuilder b(loop.getContext());
  Type positionsType =
      RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type());
  Block *block =
      b.createBlock(&compacted.getBody(), {},
                    {loop.getInit().getType(), b.getIndexType(), positionsType},
                    {loc, loc, loc});
  Value positions = block->getArgument(2);
  IRMapping full;
  full.map(loop.getStateArgument(), block->getArgument(0));
  full.map(loop.getStepArgument(), block->getArgument(1));

  // Query-slice ops read per-position values in their gathered form.
  IRMapping rows;
  rows.map(loop.getStepArgument(), block->getArgument(1));
  DenseMap<Value, Value> gathered;
  auto gatherOperands = [&](ValueRange operands) {
    for (Value v : operands) {
      if (!slices.perPosition.contains(v) || rows.contains(v))
        continue;
      Value &g = gathered[v];
      if (!g)
        g = GatherPositionsOp::create(b, v.getLoc(), full.lookup(v), positions);
      rows.map(v, g);
    }
  };

  Block &body = loop.getBody().front();
  for (Operation &op : body.without_terminator()) {
    if (!slices.inQuerySlice(&op)) {
      Operation *clone = b.clone(op, full);
      for (auto [r, c] : llvm::zip(op.getResults(), clone->getResults()))
        if (!slices.perPosition.contains(r))
          rows.map(r, c); // the same for every position
      continue;
    }
    if (&op == slices.attention) {
      // Keys and values stay those of every position.
      auto att = cast<AttentionOp>(op);
      gatherOperands(att.getQuery());
      rows.map(att.getResult(),
               AttentionOp::create(
                   b, att.getLoc(), att.getType(), rows.lookup(att.getQuery()),
                   full.lookup(att.getKey()), full.lookup(att.getValue()),
                   full.lookupOrDefault(att.getLengths()), positions,
                   att.getHeadsAttr()));
      continue;
    }
    gatherOperands(op.getOperands());
    b.clone(op, rows);
  }
  // Halted positions' rows are ignored by the loop; keep the state there.
  Value next =
      ScatterPositionsOp::create(b, loc, rows.lookup(loop.getYieldedState()),
                                 block->getArgument(0), positions);
  YieldOp::create(b, loc, next);
}

void compact(HaltingLoopOp loop, const BodySlices &slices) {
  OpBuilder b(loop);
  auto compacted = HaltingLoopOp::create(
      b, loop.getLoc(), loop.getInit(), loop.getLengths(), loop.getHaltWeight(),
      loop.getHaltBias(), loop.getMode(), loop.getMaxSteps(),
      loop.getEpsilonAttr(), loop.getKvCache(), loop.getTape(),
      /*compact=*/true);
  buildCompactedBody(loop, compacted, slices);
  loop.replaceAllUsesWith(compacted.getResults());
  loop.erase();
}

struct CompactHaltingLoopsPass
    : mlir::ponder::impl::CompactHaltingLoopsBase<CompactHaltingLoopsPass> {
  void runOnOperation() final {
    SmallVector<HaltingLoopOp> loops;
    getOperation()->walk([&](HaltingLoopOp loop) {
      if (loop.getMode() == HaltingMode::Act && !loop.getKvCache() &&
          !loop.getCompact())
        loops.push_back(loop);
    });
    for (HaltingLoopOp loop : loops)
      if (FailureOr<BodySlices> slices = sliceBody(loop); succeeded(slices))
        compact(loop, *slices);
  }
};

} // namespace
