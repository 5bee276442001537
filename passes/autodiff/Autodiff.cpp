//===- Autodiff.cpp - Reverse-mode differentiation of ponder functions ----===//
//
// `ponder.gradient @f` becomes a call to `@f_grad`: a copy of `@f` followed by
// its reverse sweep. Each op contributes its vector-Jacobian product through
// DifferentiableOpInterface; halting loops are taped and replayed backwards
// by `ponder.halting_loop_grad`, whose region is this same sweep applied to
// the loop's body. A thought chain becomes `ponder.thought_chain_grad`, whose
// region is the sweep of the chain's region (MODEL.md §9).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialects/ponder/IR/PonderOps.h"
#include "dialects/ponder/IR/PonderVJP.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::ponder {
#define GEN_PASS_DEF_AUTODIFF
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;
using namespace mlir::ponder;

namespace {

bool isFloatTensor(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.getElementType().isF32();
}

/// The float tensors `region` reads from above (the weights a halting
/// loop's or a thought chain's region captures), in first-use order.
SmallVector<Value> floatsFromAbove(Region &region) {
  llvm::SetVector<Value> above;
  getUsedValuesDefinedAbove(region, above);
  SmallVector<Value> floats;
  for (Value v : above)
    if (isFloatTensor(v))
      floats.push_back(v);
  return floats;
}

/// Cotangents of the values of one region, summed over their uses.
class Cotangents {
public:
  Value lookup(Value v) const { return grads.lookup(v); }
  void add(OpBuilder &b, Location loc, Value v, Value g) {
    if (!g || !isFloatTensor(v))
      return;
    Value &slot = grads[v];
    slot = slot ? arith::AddFOp::create(b, loc, slot, g).getResult() : g;
  }
  /// The cotangent of `v`, or zeros shaped like it.
  Value getOrZeros(OpBuilder &b, Location loc, Value v) {
    Value g = lookup(v);
    return g ? g : zerosLike(b, loc, v);
  }

private:
  DenseMap<Value, Value> grads;
};

class ReverseSweep {
public:
  explicit ReverseSweep(bool recompute) : recompute(recompute) {}

  /// Visits `ops` backwards, emitting each one's VJP at `b`.
  LogicalResult run(OpBuilder &b, ArrayRef<Operation *> ops,
                    Cotangents &grads) {
    for (Operation *op : llvm::reverse(ops)) {
      SmallVector<Value> resultGrads;
      bool any = false;
      for (Value r : op->getResults()) {
        resultGrads.push_back(grads.lookup(r));
        any |= static_cast<bool>(resultGrads.back());
      }
      if (!any)
        continue; // does not reach the loss
      // A chain's operands are ids; its region reads the weights.
      if (auto chain = dyn_cast<ThoughtChainOp>(op)) {
        if (failed(differentiateChain(b, chain, resultGrads, grads)))
          return failure();
        continue;
      }
      if (llvm::none_of(op->getOperands(), isFloatTensor))
        continue; // nothing to pass back to
      if (auto loop = dyn_cast<HaltingLoopOp>(op)) {
        if (failed(differentiateLoop(b, loop, resultGrads, grads)))
          return failure();
        continue;
      }
      auto vjp = dyn_cast<DifferentiableOpInterface>(op);
      if (!vjp)
        return op->emitOpError() << "cannot be differentiated by "
                                    "ponder-autodiff (no vector-Jacobian "
                                    "product)";
      // The interface's ops expect a cotangent for every float result.
      for (auto [r, g] : llvm::zip(op->getResults(), resultGrads))
        if (!g && isFloatTensor(r))
          g = zerosLike(b, op->getLoc(), r);
      SmallVector<Value> operandGrads = vjp.buildVJP(b, resultGrads);
      for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads))
        grads.add(b, op->getLoc(), operand, g);
    }
    return success();
  }

private:
  /// The VJP of a taped halting loop: a halting_loop_grad whose region
  /// recomputes one step of the body from its state and sweeps it backwards.
  LogicalResult differentiateLoop(OpBuilder &b, HaltingLoopOp loop,
                                  ArrayRef<Value> resultGrads,
                                  Cotangents &grads) {
    Location loc = loop.getLoc();
    if (loop.getKvCache() || loop.getTape() == recompute)
      return loop.emitOpError()
             << "only a halting loop without kv_cache, taped unless its "
                "states are recomputed, can be differentiated";
    auto orZeros = [&](Value g, Value like) {
      return g ? g : zerosLike(b, loc, like);
    };
    Value stateGrad = orZeros(resultGrads[0], loop.getState());
    Value remainderGrad = orZeros(resultGrads[2], loop.getRemainder());
    Value probsGrad = orZeros(resultGrads[3], loop.getProbs());

    // The float values the body reads from above: the block's weights.
    Block &body = loop.getBody().front();
    SmallVector<Value> captured = floatsFromAbove(loop.getBody());

    SmallVector<Type> haltTypes;
    if (loop.getHaltWeight())
      haltTypes = {loop.getHaltWeight().getType(),
                   loop.getHaltBias().getType()};
    auto grad = HaltingLoopGradOp::create(
        b, loc, loop.getInit().getType(), haltTypes,
        ValueRange(captured).getTypes(), loop.getInit(), loop.getLengths(),
        loop.getHaltWeight(), loop.getHaltBias(),
        recompute ? Value() : loop.getTapeStates(), loop.getSteps(),
        loop.getRemainder(), loop.getProbs(), stateGrad, remainderGrad,
        probsGrad, loop.getModeAttr(), loop.getMaxStepsAttr(),
        loop.getEpsilonAttr(), loop.getCompactAttr());
    if (recompute) {
      // forward(%s, %n): the body, to recompute the states.
      OpBuilder::InsertionGuard guard(b);
      b.cloneRegionBefore(loop.getBody(), grad.getForward(),
                          grad.getForward().end());
    }

    // backward(%s, %n, %df[, %positions]): recompute Block(s, n), then
    // sweep it.
    {
      OpBuilder::InsertionGuard guard(b);
      Type state = loop.getInit().getType();
      SmallVector<Type> argTypes = {state, b.getIndexType(), state};
      if (loop.getCompact())
        argTypes.push_back(loop.getPositionsArgument().getType());
      Block *block = b.createBlock(&grad.getBackward(), {}, argTypes,
                                   SmallVector<Location>(argTypes.size(), loc));
      IRMapping map;
      map.map(body.getArgument(0), block->getArgument(0));
      map.map(body.getArgument(1), block->getArgument(1));
      if (loop.getCompact())
        map.map(loop.getPositionsArgument(), block->getArgument(3));
      SmallVector<Operation *> forward;
      for (Operation &op : body.without_terminator())
        forward.push_back(b.clone(op, map));
      Cotangents inner;
      inner.add(b, loc, map.lookupOrDefault(loop.getYieldedState()),
                block->getArgument(2));
      if (failed(run(b, forward, inner)))
        return failure();
      SmallVector<Value> yields = {
          inner.getOrZeros(b, loc, block->getArgument(0))};
      for (Value v : captured)
        yields.push_back(inner.getOrZeros(b, loc, v));
      YieldOp::create(b, loc, yields);
    }

    grads.add(b, loc, loop.getInit(), grad.getInitGrad());
    if (loop.getHaltWeight()) {
      grads.add(b, loc, loop.getHaltWeight(), grad.getHaltGrads()[0]);
      grads.add(b, loc, loop.getHaltBias(), grad.getHaltGrads()[1]);
    }
    for (auto [v, g] : llvm::zip(captured, grad.getCapturedGrads()))
      grads.add(b, loc, v, g);
    return success();
  }

  /// The VJP of a thought chain: a thought_chain_grad whose region
  /// recomputes the chain's region from the fixed-point thoughts and sweeps
  /// it backwards; the op feeds the thoughts' cotangents back (see its
  /// description).
  LogicalResult differentiateChain(OpBuilder &b, ThoughtChainOp chain,
                                   ArrayRef<Value> resultGrads,
                                   Cotangents &grads);

  bool recompute;
};

/// `loop` rebuilt with a tape of its states; the old op is erased.
HaltingLoopOp tapeLoop(HaltingLoopOp loop) {
  OpBuilder b(loop);
  auto taped = HaltingLoopOp::create(
      b, loop.getLoc(), loop.getInit(), loop.getLengths(), loop.getHaltWeight(),
      loop.getHaltBias(), loop.getMode(), loop.getMaxSteps(),
      loop.getEpsilonAttr(), /*kv_cache=*/false,
      /*tape=*/true, loop.getCompact());
  taped.getBody().takeBody(loop.getBody());
  for (unsigned i = 0; i < loop.getNumResults(); ++i)
    loop.getResult(i).replaceAllUsesWith(taped.getResult(i));
  loop.erase();
  return taped;
}

/// Rebuilds every halting loop under `root` with a tape of its states. A
/// thought chain's loops are left alone: its VJP recomputes its region.
void tapeLoops(Operation *root) {
  SmallVector<HaltingLoopOp> loops;
  root->walk([&](HaltingLoopOp loop) {
    if (!loop.getTape() && !loop.getKvCache() &&
        !loop->getParentOfType<ThoughtChainOp>())
      loops.push_back(loop);
  });
  for (HaltingLoopOp loop : loops)
    tapeLoop(loop);
}

LogicalResult ReverseSweep::differentiateChain(OpBuilder &b,
                                               ThoughtChainOp chain,
                                               ArrayRef<Value> resultGrads,
                                               Cotangents &grads) {
  Location loc = chain.getLoc();
  if (chain.getCarry())
    return chain.emitOpError()
           << "with a 'carry' (cached decoding) cannot be differentiated";
  SmallVector<Value> captured = floatsFromAbove(chain.getBody());

  // The cotangents of the float yields; the first is that of z.
  SmallVector<Value> yieldGrads;
  SmallVector<unsigned> floatYields;
  for (auto [i, r] : llvm::enumerate(chain.getYielded())) {
    if (!isFloatTensor(r))
      continue;
    floatYields.push_back(i);
    yieldGrads.push_back(resultGrads[i] ? resultGrads[i]
                                        : zerosLike(b, loc, r));
  }
  // The chain's region once more at the fixed point, before the grad op:
  // every pass of its reverse sweep reads these values.
  IRMapping map;
  map.map(chain.getThoughtsArgument(), chain.getThoughts());
  SmallVector<Operation *> forward;
  Block &body = chain.getBody().front();
  for (Operation &op : body.without_terminator()) {
    Operation *clone = b.clone(op, map);
    if (auto loop = dyn_cast<HaltingLoopOp>(clone); loop && !recompute) {
      clone = tapeLoop(loop);
      map.map(op.getResults(), clone->getResults());
    }
    forward.push_back(clone);
  }
  auto grad = ThoughtChainGradOp::create(
      b, loc, ValueRange(captured).getTypes(), chain.getIds(),
      chain.getLengths(), chain.getThoughts(), yieldGrads, chain.getVocab());

  OpBuilder::InsertionGuard guard(b);
  TypeRange argTypes = ValueRange(yieldGrads).getTypes();
  Block *block = b.createBlock(&grad.getBackward(), {}, argTypes,
                               SmallVector<Location>(argTypes.size(), loc));
  Cotangents inner;
  ValueRange yields = cast<YieldOp>(body.getTerminator()).getValues();
  for (auto [k, i] : llvm::enumerate(floatYields))
    inner.add(b, loc, map.lookup(yields[i]), block->getArgument(k));
  if (failed(run(b, forward, inner)))
    return failure();
  SmallVector<Value> results = {inner.getOrZeros(b, loc, chain.getThoughts())};
  for (Value v : captured)
    results.push_back(inner.getOrZeros(b, loc, v));
  YieldOp::create(b, loc, results);

  for (auto [v, g] : llvm::zip(captured, grad.getCapturedGrads()))
    grads.add(b, loc, v, g);
  return success();
}

/// Builds `@NAME_grad` from `@NAME` (see the pass description).
FailureOr<func::FuncOp> buildGradient(func::FuncOp f, GradientOp use,
                                      bool recompute) {
  ModuleOp module = f->getParentOfType<ModuleOp>();
  OpBuilder b(module.getContext());
  b.setInsertionPointAfter(f);
  auto fn = cast<func::FuncOp>(b.clone(*f));
  fn.setSymName((f.getSymName() + "_grad").str());
  if (!recompute)
    tapeLoops(fn);

  Block &entry = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  auto loss = ret.getNumOperands()
                  ? dyn_cast<RankedTensorType>(ret.getOperand(0).getType())
                  : RankedTensorType();
  if (!loss || loss.getRank() != 0 || !loss.getElementType().isF32()) {
    fn.erase();
    return use.emitOpError()
           << "@" << f.getSymName()
           << " can only be differentiated when its first result is a scalar "
              "loss (tensor<f32>)";
  }
  b.setInsertionPoint(ret);
  Location loc = fn.getLoc();
  Cotangents grads;
  Value one = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(cast<ShapedType>(ret.getOperand(0).getType()),
                             b.getF32FloatAttr(1.0f).getValue()));
  grads.add(b, loc, ret.getOperand(0), one);
  SmallVector<Operation *> ops;
  for (Operation &op : entry.without_terminator())
    ops.push_back(&op);
  // The sweep appends before the return; visit only the forward ops.
  ReverseSweep sweep(recompute);
  if (failed(sweep.run(b, ops, grads)))
    return failure();

  SmallVector<Value> results(ret.getOperands());
  SmallVector<Type> resultTypes(ret.getOperandTypes());
  SmallVector<StringAttr> names;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    auto param = fn.getArgAttrOfType<StringAttr>(i, "ponder.param");
    if (!param)
      continue;
    results.push_back(grads.getOrZeros(b, loc, fn.getArgument(i)));
    resultTypes.push_back(results.back().getType());
    names.push_back(b.getStringAttr("grad." + param.getValue().str()));
  }
  func::ReturnOp::create(b, loc, results);
  ret.erase();
  unsigned first = f.getNumResults();
  fn.setType(b.getFunctionType(fn.getArgumentTypes(), resultTypes));
  SmallVector<DictionaryAttr> resultAttrs;
  for (unsigned i = 0; i < first; ++i)
    resultAttrs.push_back(f.getResultAttrDict(i));
  for (StringAttr name : names)
    resultAttrs.push_back(
        b.getDictionaryAttr(b.getNamedAttr("ponder.output", name)));
  fn.setAllResultAttrs(resultAttrs);
  return fn;
}

struct AutodiffPass : mlir::ponder::impl::AutodiffBase<AutodiffPass> {
  using AutodiffBase::AutodiffBase;

  void runOnOperation() final {
    ModuleOp module = getOperation();
    SmallVector<GradientOp> uses;
    module.walk([&](GradientOp op) { uses.push_back(op); });
    llvm::StringMap<func::FuncOp> built;
    for (GradientOp use : uses) {
      func::FuncOp &fn = built[use.getCallee()];
      if (!fn) {
        auto callee = module.lookupSymbol<func::FuncOp>(use.getCalleeAttr());
        bool recompute =
            recomputeStates || module->hasAttr("ponder.recompute_states");
        FailureOr<func::FuncOp> grad = buildGradient(callee, use, recompute);
        if (failed(grad))
          return signalPassFailure();
        fn = *grad;
      }
      OpBuilder b(use);
      auto call = func::CallOp::create(b, use.getLoc(), fn, use.getOperands());
      use.replaceAllUsesWith(call.getResults());
      use.erase();
    }
  }
};

} // namespace
