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

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
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

Value sigmoid(OpBuilder &b, Location l, Value x) {
  Value one = f32(b, l, 1.0);
  Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
  return arith::DivFOp::create(b, l, one, arith::AddFOp::create(b, l, one, e));
}

struct HaltingLoopLowering : OpConversionPattern<HaltingLoopOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(HaltingLoopOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    HaltingMode mode = op.getMode();
    int64_t maxSteps = op.getMaxSteps();
    Value init = adaptor.getInit(), lengths = adaptor.getLengths();
    OpFoldResult batch = sizeOf(rewriter, loc, init, 0);
    OpFoldResult length = sizeOf(rewriter, loc, init, 1);
    OpFoldResult width = sizeOf(rewriter, loc, init, 2);
    OpFoldResult steps = rewriter.getIndexAttr(maxSteps);
    SmallVector<OpFoldResult> bt = {batch, length};
    Type i1 = rewriter.getI1Type();
    AffineMap bt2 = dims(ctx, 2, {0, 1}), b2 = dims(ctx, 2, {0});

    // valid[b, t] = t < lengths[b]: padding never runs.
    Value valid = generic(
        rewriter, loc, tensor::EmptyOp::create(rewriter, loc, bt, i1),
        {lengths}, {b2, bt2}, loops(2),
        [](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value t = linalg::IndexOp::create(b, l, 1);
          Value len = arith::IndexCastOp::create(b, l, b.getIndexType(), a[0]);
          return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, t, len);
        });

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
    bool kv = op.getKvCache();
    if (kv)
      inits.append(2, tensor::EmptyOp::create(rewriter, loc,
                                              {steps, batch, length, width},
                                              rewriter.getF32Type()));

    Value haltBias;
    if (Value bias = adaptor.getHaltBias())
      haltBias = tensor::ExtractOp::create(
          rewriter, loc, bias,
          ValueRange{arith::ConstantIndexOp::create(rewriter, loc, 0)});

    Block &body = op.getBody().front();
    auto yield = cast<YieldOp>(body.getTerminator());
    auto whileOp = scf::WhileOp::create(
        rewriter, loc, ValueRange(inits).getTypes(), inits,
        [&](OpBuilder &, Location l, ValueRange args) {
          // Continue while n < N_max and (act only) some position runs.
          Value more = arith::CmpIOp::create(
              rewriter, l, arith::CmpIPredicate::ult, args[kStep],
              arith::ConstantIndexOp::create(rewriter, l, maxSteps));
          if (mode == HaltingMode::Act)
            more = arith::AndIOp::create(rewriter, l, more,
                                         anyRunning(rewriter, l, args));
          scf::ConditionOp::create(rewriter, l, more, args);
        },
        [&](OpBuilder &, Location l, ValueRange args) {
          Block *after = rewriter.getInsertionBlock();
          rewriter.inlineBlockBefore(&body, after, after->end(),
                                     {args[kState], args[kStep]});
          SmallVector<Value> yielded(yield.getValues());
          rewriter.eraseOp(yield);
          rewriter.setInsertionPointToEnd(after);
          SmallVector<Value> next =
              step(rewriter, l, op, args, yielded[0], haltBias,
                   adaptor.getHaltWeight(), valid);
          if (kv) {
            next[kKeys] =
                insertStep(rewriter, l, yielded[1], args[kKeys], args[kStep]);
            next[kValues] =
                insertStep(rewriter, l, yielded[2], args[kValues], args[kStep]);
          }
          scf::YieldOp::create(rewriter, l, next);
        });

    SmallVector<Value> carried(whileOp.getResults());
    SmallVector<Value> results = finish(rewriter, loc, op, carried, valid);
    if (kv) {
      if (mode == HaltingMode::Act)
        fillFrozenSteps(rewriter, loc, op, carried);
      results.append({carried[kKeys], carried[kValues]});
    }
    rewriter.replaceOp(op, results);
    return success();
  }

private:
  /// After ACT stopped early at step m, the keys and values of steps
  /// m .. N_max - 1 come from the final (frozen) states through the
  /// `frozen` region: a later token that runs deeper attends to them.
  static void fillFrozenSteps(ConversionPatternRewriter &rewriter, Location loc,
                              HaltingLoopOp op,
                              SmallVectorImpl<Value> &carried) {
    Value end = arith::ConstantIndexOp::create(rewriter, loc, op.getMaxSteps());
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Block &frozen = op.getFrozen().front();
    auto yield = cast<YieldOp>(frozen.getTerminator());
    auto forOp = scf::ForOp::create(
        rewriter, loc, carried[kStep], end, one,
        ValueRange{carried[kKeys], carried[kValues]},
        [&](OpBuilder &, Location l, Value n, ValueRange kv) {
          Block *body = rewriter.getInsertionBlock();
          rewriter.inlineBlockBefore(&frozen, body, body->end(),
                                     {carried[kState], n});
          SmallVector<Value> yielded(yield.getValues());
          rewriter.eraseOp(yield);
          rewriter.setInsertionPointToEnd(body);
          scf::YieldOp::create(
              rewriter, l,
              ValueRange{insertStep(rewriter, l, yielded[0], kv[0], n),
                         insertStep(rewriter, l, yielded[1], kv[1], n)});
        });
    carried[kKeys] = forOp.getResult(0);
    carried[kValues] = forOp.getResult(1);
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

  /// hlogit[b, t] = s[b, t, :] . w[0, :] + bias.
  static Value haltLogit(OpBuilder &b, Location l, Value s, Value weight,
                         Value bias) {
    MLIRContext *ctx = b.getContext();
    Value row = tensor::ExtractSliceOp::create(
        b, l,
        RankedTensorType::get(
            {cast<RankedTensorType>(weight.getType()).getDimSize(1)},
            b.getF32Type()),
        weight, {b.getIndexAttr(0), b.getIndexAttr(0)},
        {b.getIndexAttr(1), sizeOf(b, l, weight, 1)},
        {b.getIndexAttr(1), b.getIndexAttr(1)});
    Value init =
        filledWith(b, l, {sizeOf(b, l, s, 0), sizeOf(b, l, s, 1)}, bias);
    return generic(
        b, l, init, {s, row},
        {dims(ctx, 3, {0, 1, 2}), dims(ctx, 3, {2}), dims(ctx, 3, {0, 1})},
        loops(2, 1), [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value prod = arith::MulFOp::create(nb, nl, a[0], a[1]);
          return arith::AddFOp::create(nb, nl, a[2], prod);
        });
  }

  /// Writes the [B, T] (or [B, T, d]) slice `value` at step `n` of `into`.
  static Value insertStep(OpBuilder &b, Location l, Value value, Value into,
                          Value n) {
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

  /// One depth step after Block(s, n) = f: the updates of MODEL.md §4.
  static SmallVector<Value> step(ConversionPatternRewriter &b, Location l,
                                 HaltingLoopOp op, ValueRange args, Value f,
                                 Value haltBias, Value haltWeight,
                                 Value valid) {
    MLIRContext *ctx = b.getContext();
    SmallVector<Value> next(args.begin(), args.end());
    Value n = args[kStep];
    next[kStep] =
        arith::AddIOp::create(b, l, n, arith::ConstantIndexOp::create(b, l, 1));
    HaltingMode mode = op.getMode();
    AffineMap bt3 = dims(ctx, 3, {0, 1}), all3 = dims(ctx, 3, {0, 1, 2});
    AffineMap bt2 = dims(ctx, 2, {0, 1});

    if (mode == HaltingMode::Fixed) {
      next[kState] = f;
      return next;
    }

    Value last = arith::CmpIOp::create(
        b, l, arith::CmpIPredicate::eq, n,
        arith::ConstantIndexOp::create(b, l, op.getMaxSteps() - 1));
    if (mode == HaltingMode::PonderNet) {
      // Every position runs every step; p_n = lambda_n prod_{j<n}(1 -
      // lambda_j) with lambda = 1 at the last step.
      next[kState] = f;
      next[kMix] = insertStep(b, l, f, args[kMix], n);
      Value logit = haltLogit(b, l, f, haltWeight, haltBias);
      SmallVector<Value> pr = genericN(
          b, l,
          {tensor::EmptyOp::create(
               b, l, {sizeOf(b, l, f, 0), sizeOf(b, l, f, 1)}, b.getF32Type()),
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
      return next;
    }

    // ACT (Graves), frozen on halt.
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
    next[kProbs] = insertStep(b, l, p, args[kProbs], n);
    // y = y + p * s
    next[kMix] =
        generic(b, l, args[kMix], {p, s}, {bt3, all3, all3}, loops(3),
                [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                  return arith::AddFOp::create(
                      nb, nl, a[2], arith::MulFOp::create(nb, nl, a[0], a[1]));
                });
    return next;
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

} // namespace

void mlir::ponder::populateHaltingLoopLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns.add<HaltingLoopLowering>(patterns.getContext());
}
