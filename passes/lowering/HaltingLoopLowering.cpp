//===- HaltingLoopLowering.cpp - ponder.halting_loop -> scf.while ---------===//
//
// The halting loop becomes an scf.while over the depth step n whose body is
// the loop's region (Block(s, n)) followed by the per-position halting update
// of MODEL.md §4, written as linalg.generic ops over [B, T]. ACT stops as soon
// as no valid position runs; fixed and PonderNet run N_max steps. With
// kv_cache, an scf.for after an early ACT exit fills the remaining steps'
// keys and values from the frozen states.
//
//===----------------------------------------------------------------------===//

#include "dialects/ponder/IR/PonderOps.h"
#include "passes/lowering/LoweringUtils.h"
#include "passes/lowering/Patterns.h"
#include "passes/lowering/YieldingBlock.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::ponder;
using namespace mlir::ponder::lowering;

namespace {

/// The loop-carried values, in scf.while operand order.
enum Carried : unsigned {
  kStep,      // n (index)
  kState,     // s [B, T, d]
  kAcc,       // accumulated halting probability [B, T] (act)
  kMix,       // act: y = sum p s [B, T, d]; pondernet: states [N, B, T, d]
  kSteps,     // N [B, T] i32 (act)
  kRemainder, // R [B, T] (act); remaining mass prod (1 - lambda) (pondernet)
  kRunning,   // [B, T] i1
  kProbs,     // p_n [N_max, B, T]
  kNumCarried,
  // kv_cache only: every position's keys and values per step [N_max, B, T, d].
  kKeys = kNumCarried,
  kValues,
};

/// valid[b, t] = t < lengths[b]: padding never runs.
Value validPositions(OpBuilder &b, Location loc, Value lengths,
                     ArrayRef<OpFoldResult> bt) {
  MLIRContext *ctx = b.getContext();
  return generic(
      b, loc, tensor::EmptyOp::create(b, loc, bt, b.getI1Type()), {lengths},
      {dims(ctx, 2, {0}), dims(ctx, 2, {0, 1})}, loops(2),
      [](OpBuilder &nb, Location l, ValueRange a) -> Value {
        Value t = linalg::IndexOp::create(nb, l, 1);
        Value len = arith::IndexCastOp::create(nb, l, nb.getIndexType(), a[0]);
        return arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, t, len);
      });
}

/// The flat indices b * T + t of the set entries of `mask` ([B, T], i1),
/// ascending, as an i32 tensor [M]: the positions a compacted body runs on.
/// A sequential count over B x T, cheap beside the block it saves.
Value runningPositions(OpBuilder &b, Location l, Value mask) {
  MLIRContext *ctx = b.getContext();
  Value count = generic(
      b, l, filledWith(b, l, {}, arith::ConstantIntOp::create(b, l, 0, 32)),
      {mask}, {dims(ctx, 2, {0, 1}), AffineMap::get(2, 0, ctx)}, loops(0, 2),
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value one = arith::ExtUIOp::create(nb, nl, nb.getI32Type(), a[0]);
        return arith::AddIOp::create(nb, nl, a[1], one);
      });
  Value m = arith::IndexCastOp::create(b, l, b.getIndexType(),
                                       tensor::ExtractOp::create(b, l, count));
  Value positions =
      tensor::EmptyOp::create(b, l, ArrayRef<OpFoldResult>{m}, b.getI32Type());
  Value length = tensor::DimOp::create(b, l, mask, 1);
  Value total =
      arith::MulIOp::create(b, l, tensor::DimOp::create(b, l, mask, 0), length);
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value one = arith::ConstantIndexOp::create(b, l, 1);
  auto scan = scf::ForOp::create(
      b, l, zero, total, one, ValueRange{positions, zero},
      [&](OpBuilder &nb, Location nl, Value i, ValueRange acc) {
        Value runs = tensor::ExtractOp::create(
            nb, nl, mask,
            ValueRange{arith::DivUIOp::create(nb, nl, i, length),
                       arith::RemUIOp::create(nb, nl, i, length)});
        auto branch = scf::IfOp::create(
            nb, nl, runs,
            [&](OpBuilder &ib, Location il) {
              Value flat =
                  arith::IndexCastOp::create(ib, il, ib.getI32Type(), i);
              Value written =
                  tensor::InsertOp::create(ib, il, flat, acc[0], acc[1]);
              scf::YieldOp::create(
                  ib, il,
                  ValueRange{written,
                             arith::AddIOp::create(ib, il, acc[1], one)});
            },
            [&](OpBuilder &ib, Location il) {
              scf::YieldOp::create(ib, il, acc);
            });
        scf::YieldOp::create(nb, nl, branch.getResults());
      });
  return scan.getResult(0);
}

/// The positions that ran ACT step `n` (an index): those with n < N.
Value positionsAtStep(OpBuilder &b, Location l, Value steps, Value n) {
  MLIRContext *ctx = b.getContext();
  Value nI32 = arith::IndexCastOp::create(b, l, b.getI32Type(), n);
  Value mask =
      generic(b, l,
              tensor::EmptyOp::create(b, l, tensor::getMixedSizes(b, l, steps),
                                      b.getI1Type()),
              {steps}, {dims(ctx, 2, {0, 1}), dims(ctx, 2, {0, 1})}, loops(2),
              [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                return arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt,
                                             nI32, a[0]);
              });
  return runningPositions(b, l, mask);
}

Value sigmoid(OpBuilder &b, Location l, Value x) {
  Value one = f32(b, l, 1.0);
  Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
  return arith::DivFOp::create(b, l, one, arith::AddFOp::create(b, l, one, e));
}

/// Row 0 of the halting weight [1, d], as a [d] tensor.
Value haltWeightRow(OpBuilder &b, Location l, Value weight) {
  return tensor::ExtractSliceOp::create(
      b, l,
      RankedTensorType::get(
          {cast<RankedTensorType>(weight.getType()).getDimSize(1)},
          b.getF32Type()),
      weight, {b.getIndexAttr(0), b.getIndexAttr(0)},
      {b.getIndexAttr(1), sizeOf(b, l, weight, 1)},
      {b.getIndexAttr(1), b.getIndexAttr(1)});
}

/// hlogit[b, t] = s[b, t, :] . w[0, :] + bias.
Value haltLogit(OpBuilder &b, Location l, Value s, Value weight, Value bias) {
  MLIRContext *ctx = b.getContext();
  Value row = haltWeightRow(b, l, weight);
  Value init = filledWith(b, l, {sizeOf(b, l, s, 0), sizeOf(b, l, s, 1)}, bias);
  return generic(
      b, l, init, {s, row},
      {dims(ctx, 3, {0, 1, 2}), dims(ctx, 3, {2}), dims(ctx, 3, {0, 1})},
      loops(2, 1), multiplyAdd);
}

/// Writes the [B, T] (or [B, T, d]) slice `value` at step `n` of `into`.
Value insertStep(OpBuilder &b, Location l, Value value, Value into, Value n) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<OpFoldResult> offsets = {n}, sizes = {b.getIndexAttr(1)},
                            strides(type.getRank() + 1, b.getIndexAttr(1));
  for (int64_t d = 0; d < type.getRank(); ++d) {
    offsets.push_back(b.getIndexAttr(0));
    sizes.push_back(sizeOf(b, l, value, d));
  }
  return tensor::InsertSliceOp::create(b, l, value, into, offsets, sizes,
                                       strides);
}

/// The halting bias as a scalar; null without a halting unit (fixed depth).
Value extractHaltBias(OpBuilder &b, Location loc, Value bias) {
  if (!bias)
    return Value();
  return tensor::ExtractOp::create(
      b, loc, bias, ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
}

struct HaltingLoopLowering : OpConversionPattern<HaltingLoopOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(HaltingLoopOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value init = adaptor.getInit();
    SmallVector<OpFoldResult> btd = {sizeOf(rewriter, loc, init, 0),
                                     sizeOf(rewriter, loc, init, 1),
                                     sizeOf(rewriter, loc, init, 2)};
    Value valid = validPositions(rewriter, loc, adaptor.getLengths(),
                                 ArrayRef(btd).take_front(2));
    SmallVector<Value> inits =
        initialCarried(rewriter, loc, op, init, valid, btd);
    Value haltBias = extractHaltBias(rewriter, loc, adaptor.getHaltBias());
    auto whileOp = scf::WhileOp::create(
        rewriter, loc, ValueRange(inits).getTypes(), inits,
        [&](OpBuilder &, Location l, ValueRange args) {
          buildCondition(rewriter, l, op, args);
        },
        [&](OpBuilder &, Location l, ValueRange args) {
          buildIteration(rewriter, l, op, args, haltBias,
                         adaptor.getHaltWeight(), valid);
        });

    SmallVector<Value> carried(whileOp.getResults());
    SmallVector<Value> results = finish(rewriter, loc, op, carried, valid);
    if (op.getKvCache()) {
      if (op.getMode() == HaltingMode::Act)
        fillFrozenSteps(rewriter, loc, op, carried);
      results.append({carried[kKeys], carried[kValues]});
    }
    if (op.getTape())
      results.push_back(fillTapeTail(rewriter, loc, op, carried));
    rewriter.replaceOp(op, results);
    return success();
  }

private:
  /// Where the tape is among the carried values: after the caches.
  static unsigned tapeIndex(HaltingLoopOp op) {
    return op.getKvCache() ? kValues + 1 : kNumCarried;
  }

  /// The scf.while's initial values: the Carried ones, then (kv_cache) the
  /// key and value caches, then (tape) the tape. `btd` is [B, T, d].
  static SmallVector<Value> initialCarried(ConversionPatternRewriter &rewriter,
                                           Location loc, HaltingLoopOp op,
                                           Value init, Value valid,
                                           ArrayRef<OpFoldResult> btd) {
    HaltingMode mode = op.getMode();
    int64_t maxSteps = op.getMaxSteps();
    OpFoldResult batch = btd[0], length = btd[1], width = btd[2];
    OpFoldResult steps = rewriter.getIndexAttr(maxSteps);
    SmallVector<OpFoldResult> bt = {batch, length};
    SmallVector<Value> inits(kNumCarried);
    inits[kStep] = arith::ConstantIndexOp::create(rewriter, loc, 0);
    inits[kState] = init;
    inits[kAcc] = filled(rewriter, loc, bt, 0.0);
    if (mode == HaltingMode::PonderNet)
      inits[kMix] = tensor::EmptyOp::create(
          rewriter, loc, {steps, batch, length, width}, rewriter.getF32Type());
    else
      inits[kMix] = filled(rewriter, loc, {batch, length, width}, 0.0);
    inits[kSteps] = filledWith(
        rewriter, loc, bt, arith::ConstantIntOp::create(rewriter, loc, 0, 32));
    inits[kRemainder] =
        filled(rewriter, loc, bt, mode == HaltingMode::PonderNet ? 1.0 : 0.0);
    inits[kRunning] = valid;
    inits[kProbs] = filled(rewriter, loc, {steps, batch, length}, 0.0);
    if (op.getKvCache())
      inits.append(2, tensor::EmptyOp::create(rewriter, loc,
                                              {steps, batch, length, width},
                                              rewriter.getF32Type()));
    // The tape: the state before each step, then the final state.
    if (op.getTape())
      inits.push_back(tensor::EmptyOp::create(
          rewriter, loc,
          {rewriter.getIndexAttr(maxSteps + 1), batch, length, width},
          rewriter.getF32Type()));
    return inits;
  }

  /// Continue while n < N_max and (act only) some position runs.
  static void buildCondition(OpBuilder &b, Location l, HaltingLoopOp op,
                             ValueRange args) {
    Value more = arith::CmpIOp::create(
        b, l, arith::CmpIPredicate::ult, args[kStep],
        arith::ConstantIndexOp::create(b, l, op.getMaxSteps()));
    if (op.getMode() == HaltingMode::Act)
      more = arith::AndIOp::create(b, l, more, anyRunning(b, l, args));
    scf::ConditionOp::create(b, l, more, args);
  }

  /// One iteration: Block(s, n) (the op's region), the halting update, and
  /// step n of the caches and of the tape.
  static void buildIteration(ConversionPatternRewriter &rewriter, Location l,
                             HaltingLoopOp op, ValueRange args, Value haltBias,
                             Value haltWeight, Value valid) {
    SmallVector<Value> bodyArgs = {args[kState], args[kStep]};
    if (op.getCompact())
      bodyArgs.push_back(runningPositions(rewriter, l, args[kRunning]));
    SmallVector<Value> yielded =
        inlineYieldingBlock(rewriter, op.getBody().front(), bodyArgs);
    SmallVector<Value> next =
        step(rewriter, l, op, args, yielded[0], haltBias, haltWeight, valid);
    if (op.getKvCache()) {
      next[kKeys] =
          insertStep(rewriter, l, yielded[1], args[kKeys], args[kStep]);
      next[kValues] =
          insertStep(rewriter, l, yielded[2], args[kValues], args[kStep]);
    }
    if (op.getTape()) {
      unsigned tapeAt = tapeIndex(op);
      next[tapeAt] =
          insertStep(rewriter, l, args[kState], args[tapeAt], args[kStep]);
    }
    scf::YieldOp::create(rewriter, l, next);
  }

  /// After ACT stopped early at step m, the keys and values of steps
  /// m .. N_max - 1 come from the final (frozen) states through the
  /// `frozen` region: a later token that runs deeper attends to them.
  static void fillFrozenSteps(ConversionPatternRewriter &rewriter, Location loc,
                              HaltingLoopOp op,
                              SmallVectorImpl<Value> &carried) {
    Value end = arith::ConstantIndexOp::create(rewriter, loc, op.getMaxSteps());
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto forOp = scf::ForOp::create(
        rewriter, loc, carried[kStep], end, one,
        ValueRange{carried[kKeys], carried[kValues]},
        [&](OpBuilder &, Location l, Value n, ValueRange kv) {
          SmallVector<Value> yielded = inlineYieldingBlock(
              rewriter, op.getFrozen().front(), {carried[kState], n});
          scf::YieldOp::create(
              rewriter, l,
              ValueRange{insertStep(rewriter, l, yielded[0], kv[0], n),
                         insertStep(rewriter, l, yielded[1], kv[1], n)});
        });
    carried[kKeys] = forOp.getResult(0);
    carried[kValues] = forOp.getResult(1);
  }

  /// The tape with the steps that did not run, and the end, holding the
  /// final state.
  static Value fillTapeTail(OpBuilder &b, Location loc, HaltingLoopOp op,
                            ValueRange carried) {
    unsigned tapeAt = tapeIndex(op);
    Value end = arith::ConstantIndexOp::create(b, loc, op.getMaxSteps() + 1);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto fill = scf::ForOp::create(
        b, loc, carried[kStep], end, one, ValueRange{carried[tapeAt]},
        [&](OpBuilder &nb, Location l, Value n, ValueRange tape) {
          scf::YieldOp::create(nb, l,
                               insertStep(nb, l, carried[kState], tape[0], n));
        });
    return fill.getResult(0);
  }

  /// any(running) as an i1 scalar.
  static Value anyRunning(OpBuilder &b, Location l, ValueRange args) {
    MLIRContext *ctx = b.getContext();
    Value falseValue = arith::ConstantIntOp::create(b, l, 0, 1);
    Value init = filledWith(b, l, {}, falseValue);
    Value any =
        generic(b, l, init, {args[kRunning]},
                {dims(ctx, 2, {0, 1}), AffineMap::get(2, 0, ctx)}, loops(0, 2),
                [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                  return arith::OrIOp::create(nb, nl, a[0], a[1]);
                });
    return tensor::ExtractOp::create(b, l, any, ValueRange{});
  }

  /// One depth step after Block(s, n) = f: the updates of MODEL.md §4.
  static SmallVector<Value> step(ConversionPatternRewriter &b, Location l,
                                 HaltingLoopOp op, ValueRange args, Value f,
                                 Value haltBias, Value haltWeight,
                                 Value valid) {
    SmallVector<Value> next(args.begin(), args.end());
    Value n = args[kStep];
    next[kStep] =
        arith::AddIOp::create(b, l, n, arith::ConstantIndexOp::create(b, l, 1));
    HaltingMode mode = op.getMode();
    if (mode == HaltingMode::Fixed) {
      next[kState] = f;
      return next;
    }

    Value last = arith::CmpIOp::create(
        b, l, arith::CmpIPredicate::eq, n,
        arith::ConstantIndexOp::create(b, l, op.getMaxSteps() - 1));
    if (mode == HaltingMode::PonderNet)
      ponderNetStep(b, l, args, f, last, haltBias, haltWeight, valid, next);
    else
      actStep(b, l, op, args, f, last, haltBias, haltWeight, next);
    return next;
  }

  /// PonderNet: every position runs every step; p_n = lambda_n
  /// prod_{j<n}(1 - lambda_j) with lambda = 1 at the `last` step.
  static void ponderNetStep(OpBuilder &b, Location l, ValueRange args, Value f,
                            Value last, Value haltBias, Value haltWeight,
                            Value valid, SmallVectorImpl<Value> &next) {
    AffineMap bt2 = dims(b.getContext(), 2, {0, 1});
    Value n = args[kStep];
    next[kState] = f;
    next[kMix] = insertStep(b, l, f, args[kMix], n);
    Value logit = haltLogit(b, l, f, haltWeight, haltBias);
    SmallVector<Value> pr = genericN(
        b, l,
        {tensor::EmptyOp::create(b, l, {sizeOf(b, l, f, 0), sizeOf(b, l, f, 1)},
                                 b.getF32Type()),
         args[kRemainder]},
        {logit, valid}, {bt2, bt2, bt2, bt2}, loops(2),
        [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
          Value lambda = arith::SelectOp::create(nb, nl, last, f32(nb, nl, 1),
                                                 sigmoid(nb, nl, a[0]));
          Value p = arith::MulFOp::create(nb, nl, lambda, a[3]);
          p = arith::SelectOp::create(nb, nl, a[1], p, f32(nb, nl, 0));
          Value rest = arith::MulFOp::create(
              nb, nl, a[3],
              arith::SubFOp::create(nb, nl, f32(nb, nl, 1), lambda));
          return {p, rest};
        });
    next[kRemainder] = pr[1];
    next[kProbs] = insertStep(b, l, pr[0], args[kProbs], n);
  }

  /// ACT (Graves), frozen on halt: a position halts once its accumulated
  /// probability reaches 1 - epsilon, or at the `last` step.
  static void actStep(OpBuilder &b, Location l, HaltingLoopOp op,
                      ValueRange args, Value f, Value last, Value haltBias,
                      Value haltWeight, SmallVectorImpl<Value> &next) {
    MLIRContext *ctx = b.getContext();
    AffineMap bt3 = dims(ctx, 3, {0, 1}), all3 = dims(ctx, 3, {0, 1, 2});
    AffineMap bt2 = dims(ctx, 2, {0, 1});
    Value s = generic(
        b, l,
        tensor::EmptyOp::create(b, l, tensor::getMixedSizes(b, l, f),
                                b.getF32Type()),
        {args[kRunning], f, args[kState]}, {bt3, all3, all3, all3}, loops(3),
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          return arith::SelectOp::create(nb, nl, a[0], a[1], a[2]);
        });
    Value logit = haltLogit(b, l, s, haltWeight, haltBias);
    double threshold = 1.0 - op.getEpsilon()->convertToDouble();
    Value stepPlusOne =
        arith::IndexCastOp::create(b, l, b.getI32Type(), next[kStep]);
    SmallVector<Value> upd = genericN(
        b, l,
        {tensor::EmptyOp::create(b, l, tensor::getMixedSizes(b, l, logit),
                                 b.getF32Type()),
         args[kAcc], args[kSteps], args[kRemainder], args[kRunning]},
        {logit}, {bt2, bt2, bt2, bt2, bt2, bt2}, loops(2),
        [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
          Value h = sigmoid(nb, nl, a[0]);
          Value acc = a[2], running = a[5];
          Value one = f32(nb, nl, 1), zero = f32(nb, nl, 0);
          Value reached = arith::CmpFOp::create(
              nb, nl, arith::CmpFPredicate::OGE,
              arith::AddFOp::create(nb, nl, acc, h), f32(nb, nl, threshold));
          Value halts = arith::AndIOp::create(
              nb, nl, running, arith::OrIOp::create(nb, nl, reached, last));
          Value rest = arith::SubFOp::create(nb, nl, one, acc);
          Value p = arith::SelectOp::create(
              nb, nl, halts, rest,
              arith::SelectOp::create(nb, nl, running, h, zero));
          Value goesOn = arith::AndIOp::create(
              nb, nl, running,
              arith::XOrIOp::create(
                  nb, nl, halts, arith::ConstantIntOp::create(nb, nl, 1, 1)));
          Value newAcc = arith::AddFOp::create(
              nb, nl, acc, arith::SelectOp::create(nb, nl, goesOn, h, zero));
          Value newR = arith::SelectOp::create(nb, nl, halts, rest, a[4]);
          Value newN =
              arith::SelectOp::create(nb, nl, halts, stepPlusOne, a[3]);
          return {p, newAcc, newN, newR, goesOn};
        });
    Value p = upd[0];
    next[kState] = s;
    next[kAcc] = upd[1];
    next[kSteps] = upd[2];
    next[kRemainder] = upd[3];
    next[kRunning] = upd[4];
    next[kProbs] = insertStep(b, l, p, args[kProbs], args[kStep]);
    // y = y + p * s
    next[kMix] = generic(b, l, args[kMix], {p, s}, {bt3, all3, all3}, loops(3),
                         multiplyAdd);
  }

  /// The op's results (state, steps, remainder, probs) from the final
  /// carried values.
  static SmallVector<Value> finish(ConversionPatternRewriter &b, Location l,
                                   HaltingLoopOp op, ValueRange carried,
                                   Value valid) {
    MLIRContext *ctx = b.getContext();
    int64_t maxSteps = op.getMaxSteps();
    AffineMap bt2 = dims(ctx, 2, {0, 1});
    SmallVector<OpFoldResult> bt = {sizeOf(b, l, valid, 0),
                                    sizeOf(b, l, valid, 1)};
    Value zeroBT = filled(b, l, bt, 0.0);
    switch (op.getMode()) {
    case HaltingMode::Act:
      return {carried[kMix], carried[kSteps], carried[kRemainder],
              carried[kProbs]};
    case HaltingMode::Fixed: {
      // N = N_max and p one-hot on the last step, for valid positions.
      SmallVector<Value> np = genericN(
          b, l,
          {tensor::EmptyOp::create(b, l, bt, b.getI32Type()),
           tensor::EmptyOp::create(b, l, bt, b.getF32Type())},
          {valid}, {bt2, bt2, bt2}, loops(2),
          [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
            Value n = arith::SelectOp::create(
                nb, nl, a[0],
                arith::ConstantIntOp::create(nb, nl, maxSteps, 32),
                arith::ConstantIntOp::create(nb, nl, 0, 32));
            Value p = arith::SelectOp::create(nb, nl, a[0], f32(nb, nl, 1),
                                              f32(nb, nl, 0));
            return {n, p};
          });
      Value lastStep = arith::ConstantIndexOp::create(b, l, maxSteps - 1);
      return {carried[kState], np[0], zeroBT,
              insertStep(b, l, np[1], carried[kProbs], lastStep)};
    }
    case HaltingMode::PonderNet: {
      // N = 1 + the first step of largest p_n; 0 at padding.
      AffineMap nbt = dims(ctx, 3, {2, 0, 1}), bt3 = dims(ctx, 3, {0, 1});
      SmallVector<Value> best = genericN(
          b, l,
          {filled(b, l, bt, -1.0),
           filledWith(b, l, bt, arith::ConstantIntOp::create(b, l, 0, 32))},
          {carried[kProbs]}, {nbt, bt3, bt3}, loops(2, 1),
          [](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
            Value better = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OGT, a[0], a[1]);
            Value n = arith::IndexCastOp::create(
                nb, nl, nb.getI32Type(), linalg::IndexOp::create(nb, nl, 2));
            return {arith::SelectOp::create(nb, nl, better, a[0], a[1]),
                    arith::SelectOp::create(nb, nl, better, n, a[2])};
          });
      Value steps = generic(
          b, l, tensor::EmptyOp::create(b, l, bt, b.getI32Type()),
          {best[1], valid}, {bt2, bt2, bt2}, loops(2),
          [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            Value n = arith::AddIOp::create(
                nb, nl, a[0], arith::ConstantIntOp::create(nb, nl, 1, 32));
            return arith::SelectOp::create(
                nb, nl, a[1], n, arith::ConstantIntOp::create(nb, nl, 0, 32));
          });
      return {carried[kMix], steps, zeroBT, carried[kProbs]};
    }
    }
    llvm_unreachable("unknown halting mode");
  }
};

/// Step `n` (an index value) of `x` [N, ...] as a tensor [...].
Value extractStep(OpBuilder &b, Location l, Value x, Value n) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  offsets[0] = n;
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
  for (int64_t d = 1; d < rank; ++d)
    sizes.push_back(sizeOf(b, l, x, d));
  return tensor::ExtractSliceOp::create(
      b, l,
      RankedTensorType::get(type.getShape().drop_front(),
                            type.getElementType()),
      x, offsets, sizes, SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)));
}

/// x + y, elementwise, as a linalg.generic (this runs after the elementwise
/// arith ops were converted).
Value add(OpBuilder &b, Location l, Value x, Value y) {
  unsigned rank = cast<RankedTensorType>(x.getType()).getRank();
  AffineMap all = dims(b.getContext(), rank, iota(rank));
  return generic(b, l,
                 tensor::EmptyOp::create(b, l, tensor::getMixedSizes(b, l, x),
                                         b.getF32Type()),
                 {x, y}, {all, all, all}, loops(rank),
                 [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                   return arith::AddFOp::create(nb, nl, a[0], a[1]);
                 });
}

/// sum_c x[b, t, c] y[b, t, c], [B, T].
Value dotLast(OpBuilder &b, Location l, Value x, Value y) {
  MLIRContext *ctx = b.getContext();
  AffineMap all = dims(ctx, 3, {0, 1, 2});
  return generic(
      b, l, filled(b, l, {sizeOf(b, l, x, 0), sizeOf(b, l, x, 1)}, 0.0), {x, y},
      {all, all, dims(ctx, 3, {0, 1})}, loops(2, 1), multiplyAdd);
}

/// Without a tape: (s_{count-1}, s_count) recomputed from `init` by `count`
/// applications of the op's forward region. As in the forward pass, an ACT
/// position moves on only at steps j < N (its halting step, known from
/// `steps`); fixed depth and PonderNet update every position.
std::pair<Value, Value> recomputeStates(OpBuilder &b, Location l,
                                        HaltingLoopGradOp op, Value init,
                                        Value steps, Value valid, Value count) {
  MLIRContext *ctx = b.getContext();
  Block &forward = op.getForward().front();
  bool act = op.getMode() == HaltingMode::Act;
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value one = arith::ConstantIndexOp::create(b, l, 1);
  auto loop = scf::ForOp::create(
      b, l, zero, count, one, ValueRange{init, init},
      [&](OpBuilder &nb, Location nl, Value j, ValueRange carried) {
        IRMapping map;
        map.map(forward.getArgument(0), carried[1]);
        map.map(forward.getArgument(1), j);
        if (op.getCompact())
          map.map(forward.getArgument(2), positionsAtStep(nb, nl, steps, j));
        for (Operation &o : forward.without_terminator())
          nb.clone(o, map);
        Value f = map.lookupOrDefault(
            cast<YieldOp>(forward.getTerminator()).getValues()[0]);
        Value next = f;
        if (act) {
          Value jI32 = arith::IndexCastOp::create(nb, nl, nb.getI32Type(), j);
          AffineMap all3 = dims(ctx, 3, {0, 1, 2}), bt3 = dims(ctx, 3, {0, 1});
          next = generic(
              nb, nl,
              tensor::EmptyOp::create(nb, nl, tensor::getMixedSizes(nb, nl, f),
                                      nb.getF32Type()),
              {f, carried[1], steps, valid}, {all3, all3, bt3, bt3, all3},
              loops(3), [&](OpBuilder &ib, Location il, ValueRange a) -> Value {
                Value ran = arith::AndIOp::create(
                    ib, il, a[3],
                    arith::CmpIOp::create(ib, il, arith::CmpIPredicate::slt,
                                          jI32, a[2]));
                return arith::SelectOp::create(ib, il, ran, a[0], a[1]);
              });
        }
        scf::YieldOp::create(nb, nl, ValueRange{carried[1], next});
      });
  return {loop.getResult(0), loop.getResult(1)};
}

/// Builds the reverse loop of one ponder.halting_loop_grad: an scf.for over
/// the executed steps, last first. The members below the operands are the
/// values every reverse step reads, built once before the loop.
class ReverseLoopBuilder {
public:
  ReverseLoopBuilder(HaltingLoopGradOp op, HaltingLoopGradOp::Adaptor adaptor,
                     ConversionPatternRewriter &rewriter)
      : op(op), adaptor(adaptor), rewriter(rewriter), ctx(op.getContext()),
        mode(op.getMode()), maxSteps(op.getMaxSteps()), tape(adaptor.getTape()),
        steps(adaptor.getSteps()), dy(adaptor.getStateGrad()),
        w(adaptor.getHaltWeight()), state(adaptor.getInit()) {}

  /// The op's results: the cotangent of init, those of the halting weight
  /// and bias (when the op has them), then those of the captured values.
  SmallVector<Value> build(Location loc);

private:
  // iter_args of the scf.for.
  enum : unsigned { kCarry, kHaltW, kHaltB, kRest, kFirstCaptured };

  Value executedSteps(Location loc);
  Value lastStepProbGrad(Location loc);
  SmallVector<Value> initialCotangents(Location loc, Value bias);
  SmallVector<Value> reverseStep(Location l, Value k, ValueRange args);
  std::pair<Value, Value> haltingStepGrad(Location l, Value n, Value s1,
                                          ValueRange args,
                                          SmallVectorImpl<Value> &next);
  SmallVector<Value> actHaltingGrads(Location l, Value n, Value z, Value dyN,
                                     Value s1, Value dprobsN);
  SmallVector<Value> ponderNetHaltingGrads(Location l, Value n, Value z,
                                           Value dprobsN, Value dRestNext);
  Value stateGrad(Location l, Value carry, Value dyN, Value dz, Value p);
  void accumulateHaltGrads(Location l, Value dz, Value s1, ValueRange args,
                           SmallVectorImpl<Value> &next);

  HaltingLoopGradOp op;
  HaltingLoopGradOp::Adaptor adaptor;
  ConversionPatternRewriter &rewriter;
  MLIRContext *ctx;
  HaltingMode mode;
  int64_t maxSteps;
  Value tape, steps, dy, w, state;

  SmallVector<OpFoldResult> bt, btd; // [B, T] and [B, T, d]
  Value valid, executed, dpLast, haltBias, one;
};

SmallVector<Value> ReverseLoopBuilder::build(Location loc) {
  bt = {sizeOf(rewriter, loc, state, 0), sizeOf(rewriter, loc, state, 1)};
  btd = tensor::getMixedSizes(rewriter, loc, state);
  valid = validPositions(rewriter, loc, adaptor.getLengths(), bt);
  executed = executedSteps(loc);
  if (mode == HaltingMode::Act)
    dpLast = lastStepProbGrad(loc);
  Value bias = adaptor.getHaltBias();
  SmallVector<Value> inits = initialCotangents(loc, bias);
  haltBias = extractHaltBias(rewriter, loc, bias);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto forOp = scf::ForOp::create(
      rewriter, loc, zero, executed, one, inits,
      [&](OpBuilder &, Location l, Value k, ValueRange args) {
        scf::YieldOp::create(rewriter, l, reverseStep(l, k, args));
      });

  SmallVector<Value> results = {forOp.getResult(kCarry)};
  if (w)
    results.append({forOp.getResult(kHaltW), forOp.getResult(kHaltB)});
  for (unsigned i = 0; i < op.getCapturedGrads().size(); ++i)
    results.push_back(forOp.getResult(kFirstCaptured + i));
  return results;
}

/// The executed steps: ACT stops after the deepest valid position.
Value ReverseLoopBuilder::executedSteps(Location loc) {
  if (mode != HaltingMode::Act)
    return arith::ConstantIndexOp::create(rewriter, loc, maxSteps);
  Value deepest =
      generic(rewriter, loc,
              filledWith(rewriter, loc, {},
                         arith::ConstantIntOp::create(rewriter, loc, 0, 32)),
              {steps}, {dims(ctx, 2, {0, 1}), AffineMap::get(2, 0, ctx)},
              loops(0, 2), [](OpBuilder &b, Location l, ValueRange a) -> Value {
                return arith::MaxSIOp::create(b, l, a[1], a[0]);
              });
  return arith::IndexCastOp::create(
      rewriter, loc, rewriter.getIndexType(),
      tensor::ExtractOp::create(rewriter, loc, deepest, ValueRange{}));
}

/// ACT: dp at each position's last step, dy . s_final + dprobs[N - 1].
Value ReverseLoopBuilder::lastStepProbGrad(Location loc) {
  AffineMap bt2 = dims(ctx, 2, {0, 1});
  Value final =
      tape
          ? extractStep(rewriter, loc, tape,
                        arith::ConstantIndexOp::create(rewriter, loc, maxSteps))
          : recomputeStates(rewriter, loc, op, state, steps, valid, executed)
                .second;
  Value probsGrad = adaptor.getProbsGrad();
  return generic(
      rewriter, loc,
      tensor::EmptyOp::create(rewriter, loc, bt, rewriter.getF32Type()),
      {dotLast(rewriter, loc, dy, final), steps}, {bt2, bt2, bt2}, loops(2),
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value one = arith::ConstantIntOp::create(b, l, 1, 32);
        Value at = arith::SubIOp::create(
            b, l, arith::MaxSIOp::create(b, l, a[1], one), one);
        Value dp = tensor::ExtractOp::create(
            b, l, probsGrad,
            ValueRange{arith::IndexCastOp::create(b, l, b.getIndexType(), at),
                       linalg::IndexOp::create(b, l, 0),
                       linalg::IndexOp::create(b, l, 1)});
        return arith::AddFOp::create(b, l, a[0], dp);
      });
}

/// The scf.for's initial iter_args: zero cotangents, except the state's
/// under fixed depth, which starts as dy (the final state is s_N).
SmallVector<Value> ReverseLoopBuilder::initialCotangents(Location loc,
                                                         Value bias) {
  SmallVector<Value> inits(kFirstCaptured);
  inits[kCarry] =
      mode == HaltingMode::Fixed ? dy : filled(rewriter, loc, btd, 0.0);
  inits[kHaltW] =
      w ? filled(rewriter, loc, tensor::getMixedSizes(rewriter, loc, w), 0.0)
        : filled(rewriter, loc, {}, 0.0);
  inits[kHaltB] = bias ? filled(rewriter, loc,
                                tensor::getMixedSizes(rewriter, loc, bias), 0.0)
                       : filled(rewriter, loc, {}, 0.0);
  inits[kRest] = filled(rewriter, loc, bt, 0.0); // PonderNet's d rest
  for (Value g : op.getCapturedGrads()) {
    auto type = cast<RankedTensorType>(g.getType());
    SmallVector<OpFoldResult> sizes;
    for (int64_t d : type.getShape())
      sizes.push_back(rewriter.getIndexAttr(d));
    inits.push_back(filled(rewriter, loc, sizes, 0.0));
  }
  return inits;
}

/// Reverse step k, for depth step n = executed - 1 - k: the halting
/// update's cotangents, then the op's region (the VJP of Block(s_n, n)).
SmallVector<Value> ReverseLoopBuilder::reverseStep(Location l, Value k,
                                                   ValueRange args) {
  OpBuilder &b = rewriter;
  Value n = arith::SubIOp::create(
      b, l, arith::SubIOp::create(b, l, executed, one), k);
  Value nPlusOne = arith::AddIOp::create(b, l, n, one);
  Value s0, s1;
  if (tape) {
    s0 = extractStep(b, l, tape, n);
    s1 = extractStep(b, l, tape, nPlusOne);
  } else {
    std::tie(s0, s1) = recomputeStates(b, l, op, state, steps, valid, nPlusOne);
  }
  SmallVector<Value> next(args.begin(), args.end());
  Value df;
  Value pass; // the part of dL/ds_{n+1} that skips the block
  if (mode == HaltingMode::Fixed)
    df = args[kCarry];
  else
    std::tie(df, pass) = haltingStepGrad(l, n, s1, args, next);
  SmallVector<Value> regionArgs = {s0, n, df};
  if (op.getCompact())
    regionArgs.push_back(positionsAtStep(b, l, steps, n));
  SmallVector<Value> yielded =
      inlineYieldingBlock(rewriter, op.getBackward().front(), regionArgs);
  next[kCarry] = pass ? add(b, l, pass, yielded[0]) : yielded[0];
  for (unsigned i = 1; i < yielded.size(); ++i)
    next[kFirstCaptured + i - 1] =
        add(b, l, args[kFirstCaptured + i - 1], yielded[i]);
  return next;
}

/// The cotangents of step n's halting update (ACT, PonderNet): returns df,
/// the cotangent of Block(s_n, n), and the part of dL/ds_{n+1} that skips
/// the block (ACT's frozen positions), and adds the halting unit's
/// cotangents to `next`.
std::pair<Value, Value>
ReverseLoopBuilder::haltingStepGrad(Location l, Value n, Value s1,
                                    ValueRange args,
                                    SmallVectorImpl<Value> &next) {
  OpBuilder &b = rewriter;
  Value z = haltLogit(b, l, s1, w, haltBias);
  Value dprobsN = extractStep(b, l, adaptor.getProbsGrad(), n);
  Value dyN = mode == HaltingMode::PonderNet ? extractStep(b, l, dy, n) : dy;
  bool act = mode == HaltingMode::Act;
  // Per position: p (ACT's mixture weight), dz and the running mask;
  // PonderNet's dz and d rest.
  SmallVector<Value> per;
  if (act) {
    per = actHaltingGrads(l, n, z, dyN, s1, dprobsN);
  } else {
    per = ponderNetHaltingGrads(l, n, z, dprobsN, args[kRest]);
    next[kRest] = per[1];
  }
  Value dz = act ? per[1] : per[0];
  Value ds1 = stateGrad(l, args[kCarry], dyN, dz, act ? per[0] : Value());
  accumulateHaltGrads(l, dz, s1, args, next);
  if (!act)
    return {ds1, Value()};
  // Only running positions' s_{n+1} came from the block.
  AffineMap all3 = dims(ctx, 3, {0, 1, 2}), bt3 = dims(ctx, 3, {0, 1});
  SmallVector<Value> split = genericN(
      b, l,
      {tensor::EmptyOp::create(b, l, btd, b.getF32Type()),
       tensor::EmptyOp::create(b, l, btd, b.getF32Type())},
      {ds1, per[2]}, {all3, bt3, all3, all3}, loops(3),
      [](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
        Value zeroF = f32(nb, nl, 0);
        return {arith::SelectOp::create(nb, nl, a[1], a[0], zeroF),
                arith::SelectOp::create(nb, nl, a[1], zeroF, a[0])};
      });
  return {split[0], split[1]};
}

/// ACT at step n: per position p (the mixture weight), dz (the cotangent of
/// the halting logit) and whether the position ran.
SmallVector<Value> ReverseLoopBuilder::actHaltingGrads(Location l, Value n,
                                                       Value z, Value dyN,
                                                       Value s1,
                                                       Value dprobsN) {
  OpBuilder &b = rewriter;
  Value stepI32 = arith::IndexCastOp::create(b, l, b.getI32Type(), n);
  return genericN(
      b, l,
      {tensor::EmptyOp::create(b, l, bt, b.getF32Type()),
       tensor::EmptyOp::create(b, l, bt, b.getF32Type()),
       tensor::EmptyOp::create(b, l, bt, b.getI1Type())},
      {z, steps, valid, adaptor.getRemainder(), dpLast,
       adaptor.getRemainderGrad(), dprobsN, dotLast(b, l, dyN, s1)},
      SmallVector<AffineMap>(11, dims(ctx, 2, {0, 1})), loops(2),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
        Value running = arith::AndIOp::create(
            nb, nl, a[2],
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, stepI32,
                                  a[1]));
        Value last = arith::AndIOp::create(
            nb, nl, running,
            arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::eq,
                arith::AddIOp::create(
                    nb, nl, stepI32,
                    arith::ConstantIntOp::create(nb, nl, 1, 32)),
                a[1]));
        Value h = sigmoid(nb, nl, a[0]);
        Value zeroF = f32(nb, nl, 0);
        Value p = arith::SelectOp::create(
            nb, nl, last, a[3],
            arith::SelectOp::create(nb, nl, running, h, zeroF));
        Value middle = arith::AndIOp::create(
            nb, nl, running,
            arith::XOrIOp::create(nb, nl, last,
                                  arith::ConstantIntOp::create(nb, nl, 1, 1)));
        // dh = dp_n - dp_last - dR for the steps before the last.
        Value dh = arith::SubFOp::create(
            nb, nl,
            arith::SubFOp::create(
                nb, nl, arith::AddFOp::create(nb, nl, a[7], a[6]), a[4]),
            a[5]);
        Value dz = arith::MulFOp::create(
            nb, nl, dh,
            arith::MulFOp::create(
                nb, nl, h, arith::SubFOp::create(nb, nl, f32(nb, nl, 1), h)));
        return {p, arith::SelectOp::create(nb, nl, middle, dz, zeroF), running};
      });
}

/// PonderNet at step n: per position dz (the cotangent of the halting
/// logit) and d rest_n, from dprobs_n and d rest_{n+1} (`dRestNext`).
SmallVector<Value> ReverseLoopBuilder::ponderNetHaltingGrads(Location l,
                                                             Value n, Value z,
                                                             Value dprobsN,
                                                             Value dRestNext) {
  OpBuilder &b = rewriter;
  AffineMap bt2 = dims(ctx, 2, {0, 1});
  // rest_n = 1 - sum_{j < n} p_j.
  Value spent = generic(
      b, l, filled(b, l, bt, 0.0), {adaptor.getProbs()},
      {dims(ctx, 3, {2, 0, 1}), dims(ctx, 3, {0, 1})}, loops(2, 1),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value j = linalg::IndexOp::create(nb, nl, 2);
        Value before =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, j, n);
        return arith::AddFOp::create(
            nb, nl, a[1],
            arith::SelectOp::create(nb, nl, before, a[0], f32(nb, nl, 0)));
      });
  Value isLast =
      arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, n,
                            arith::ConstantIndexOp::create(b, l, maxSteps - 1));
  return genericN(
      b, l,
      {tensor::EmptyOp::create(b, l, bt, b.getF32Type()),
       tensor::EmptyOp::create(b, l, bt, b.getF32Type())},
      {z, valid, spent, dprobsN, dRestNext}, SmallVector<AffineMap>(7, bt2),
      loops(2),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
        Value oneF = f32(nb, nl, 1), zeroF = f32(nb, nl, 0);
        Value sig = sigmoid(nb, nl, a[0]);
        Value lambda = arith::SelectOp::create(nb, nl, isLast, oneF, sig);
        Value rest = arith::SubFOp::create(nb, nl, oneF, a[2]);
        // p_n = lambda rest_n; rest_{n+1} = rest_n (1 - lambda).
        Value dLambda = arith::MulFOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, a[3], a[4]), rest);
        Value dRest = arith::AddFOp::create(
            nb, nl, arith::MulFOp::create(nb, nl, a[3], lambda),
            arith::MulFOp::create(nb, nl, a[4],
                                  arith::SubFOp::create(nb, nl, oneF, lambda)));
        Value dz = arith::MulFOp::create(
            nb, nl, dLambda,
            arith::MulFOp::create(nb, nl, sig,
                                  arith::SubFOp::create(nb, nl, oneF, sig)));
        Value live = arith::AndIOp::create(
            nb, nl, a[1],
            arith::XOrIOp::create(nb, nl, isLast,
                                  arith::ConstantIntOp::create(nb, nl, 1, 1)));
        return {arith::SelectOp::create(nb, nl, live, dz, zeroF),
                arith::SelectOp::create(nb, nl, a[1], dRest, zeroF)};
      });
}

/// ds_{n+1} = carry + (ACT: p dy; PonderNet: dy_n) + dz w; `p` is null for
/// PonderNet.
Value ReverseLoopBuilder::stateGrad(Location l, Value carry, Value dyN,
                                    Value dz, Value p) {
  OpBuilder &b = rewriter;
  AffineMap all3 = dims(ctx, 3, {0, 1, 2}), bt3 = dims(ctx, 3, {0, 1});
  Value row = haltWeightRow(b, l, w);
  SmallVector<Value> inputs = {carry, dyN, dz, row};
  SmallVector<AffineMap> maps = {all3, all3, bt3, dims(ctx, 3, {2})};
  if (p) {
    inputs.push_back(p);
    maps.push_back(bt3);
  }
  maps.push_back(all3);
  bool act = static_cast<bool>(p);
  return generic(
      b, l, tensor::EmptyOp::create(b, l, btd, b.getF32Type()), inputs, maps,
      loops(3), [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value fromY = act ? arith::MulFOp::create(nb, nl, a[4], a[1]) : a[1];
        return arith::AddFOp::create(nb, nl,
                                     arith::AddFOp::create(nb, nl, a[0], fromY),
                                     arith::MulFOp::create(nb, nl, a[2], a[3]));
      });
}

/// dw[0, c] += sum dz s1[., ., c]; db[0] += sum dz.
void ReverseLoopBuilder::accumulateHaltGrads(Location l, Value dz, Value s1,
                                             ValueRange args,
                                             SmallVectorImpl<Value> &next) {
  OpBuilder &b = rewriter;
  next[kHaltW] = generic(
      b, l, args[kHaltW], {dz, s1},
      {dims(ctx, 4, {2, 3}), dims(ctx, 4, {2, 3, 1}), dims(ctx, 4, {0, 1})},
      loops(2, 2), multiplyAdd);
  next[kHaltB] = generic(b, l, args[kHaltB], {dz},
                         {dims(ctx, 3, {1, 2}), dims(ctx, 3, {0})}, loops(1, 2),
                         [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                           return arith::AddFOp::create(nb, nl, a[1], a[0]);
                         });
}

/// The reverse pass of a taped halting loop (ponder.halting_loop_grad): an
/// scf.for over the executed steps, last first. Each step adds the halting
/// update's cotangents (MODEL.md §4: ACT's p and R, PonderNet's lambda) to
/// the carried state cotangent, then runs the op's region, the VJP of
/// Block(s_n, n), and accumulates the weights' cotangents.
struct HaltingLoopGradLowering : OpConversionPattern<HaltingLoopGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(HaltingLoopGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ReverseLoopBuilder builder(op, adaptor, rewriter);
    rewriter.replaceOp(op, builder.build(op.getLoc()));
    return success();
  }
};

} // namespace

void mlir::ponder::populateHaltingLoopLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns.add<HaltingLoopLowering, HaltingLoopGradLowering>(
      patterns.getContext());
}
