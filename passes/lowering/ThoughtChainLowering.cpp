//===- ThoughtChainLowering.cpp - ponder.thought_chain -> scf.while -------===//
//
// A thought chain (MODEL.md §9) becomes an scf.while that evaluates its
// region P + 1 times, P being the most thoughts of any row, feeding each
// evaluation's final normed states, shifted by one position, to the next as
// thought inputs; its gradient becomes the same loop over the region's
// vector-Jacobian product, feeding the thoughts' cotangents back the other
// way. Each evaluation fixes one more thought, so P + 1 of them reach the
// fixed point, and a batch without thoughts costs one evaluation.
//
//===----------------------------------------------------------------------===//

#include "dialects/ponder/IR/PonderOps.h"
#include "passes/lowering/LoweringUtils.h"
#include "passes/lowering/Patterns.h"
#include "passes/lowering/YieldingBlock.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::ponder;
using namespace mlir::ponder::lowering;

namespace {

/// P: the largest number, over rows, of positions 1 <= t < lengths[b] that
/// read a thought, as an index.
Value thoughtCount(OpBuilder &b, Location l, Value ids, Value lengths,
                   int64_t verbal) {
  MLIRContext *ctx = b.getContext();
  Value zero = arith::ConstantIntOp::create(b, l, 0, 32);
  Value perRow = generic(
      b, l, filledWith(b, l, {sizeOf(b, l, ids, 0)}, zero), {ids, lengths},
      {dims(ctx, 2, {0, 1}), dims(ctx, 2, {0}), dims(ctx, 2, {0})}, loops(1, 1),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value t = linalg::IndexOp::create(nb, nl, 1);
        Value valid = arith::CmpIOp::create(
            nb, nl, arith::CmpIPredicate::slt,
            arith::IndexCastOp::create(nb, nl, nb.getI32Type(), t), a[1]);
        Value counts = arith::AndIOp::create(
            nb, nl, valid, readsThought(nb, nl, a[0], t, verbal));
        return arith::AddIOp::create(
            nb, nl, a[2],
            arith::ExtUIOp::create(nb, nl, nb.getI32Type(), counts));
      });
  Value most =
      generic(b, l, filledWith(b, l, {}, zero), {perRow},
              {dims(ctx, 1, {0}), AffineMap::get(1, 0, ctx)}, loops(0, 1),
              [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                return arith::MaxSIOp::create(nb, nl, a[0], a[1]);
              });
  return arith::IndexCastOp::create(b, l, b.getIndexType(),
                                    tensor::ExtractOp::create(b, l, most, {}));
}

/// The thought inputs from the final normed states z ([B, T, d], null: 0):
/// h[b, t] = z[b, t - 1] for t >= 1, h[b, 0] = carry[b] (null: 0).
Value shiftIn(OpBuilder &b, Location l, RankedTensorType type, Value z,
              Value carry, ArrayRef<OpFoldResult> btd) {
  MLIRContext *ctx = b.getContext();
  return generic(
      b, l, emptyOf(b, l, type, btd), {}, {dims(ctx, 3, {0, 1, 2})}, loops(3),
      [&](OpBuilder &nb, Location nl, ValueRange) -> Value {
        Value bi = linalg::IndexOp::create(nb, nl, 0);
        Value t = linalg::IndexOp::create(nb, nl, 1);
        Value c = linalg::IndexOp::create(nb, nl, 2);
        Value zero = f32(nb, nl, 0);
        Value one = arith::ConstantIndexOp::create(nb, nl, 1);
        Value first =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, t,
                                  arith::ConstantIndexOp::create(nb, nl, 0));
        // Clamped so that the unselected read stays in bounds.
        Value previous = arith::SubIOp::create(
            nb, nl, arith::MaxUIOp::create(nb, nl, t, one), one);
        Value fromZ =
            z ? tensor::ExtractOp::create(nb, nl, z, {bi, previous, c})
                    .getResult()
              : zero;
        Value fromCarry =
            carry
                ? tensor::ExtractOp::create(nb, nl, carry, {bi, c}).getResult()
                : zero;
        return arith::SelectOp::create(nb, nl, first, fromCarry, fromZ);
      });
}

/// The cotangent of z: `grad` plus what thoughts pass back to it,
/// lambda[b, t + 1] for t < T - 1 (nothing at the last position).
Value shiftOut(OpBuilder &b, Location l, Value grad, Value lambda) {
  MLIRContext *ctx = b.getContext();
  Value last =
      arith::SubIOp::create(b, l, tensor::DimOp::create(b, l, lambda, 1),
                            arith::ConstantIndexOp::create(b, l, 1));
  return generic(
      b, l,
      tensor::EmptyOp::create(b, l, tensor::getMixedSizes(b, l, lambda),
                              b.getF32Type()),
      {grad}, {dims(ctx, 3, {0, 1, 2}), dims(ctx, 3, {0, 1, 2})}, loops(3),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value bi = linalg::IndexOp::create(nb, nl, 0);
        Value t = linalg::IndexOp::create(nb, nl, 1);
        Value c = linalg::IndexOp::create(nb, nl, 2);
        Value inside =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, t, last);
        Value next = arith::AddIOp::create(
            nb, nl, arith::MinUIOp::create(nb, nl, t, last),
            arith::SelectOp::create(nb, nl, inside,
                                    arith::ConstantIndexOp::create(nb, nl, 1),
                                    arith::ConstantIndexOp::create(nb, nl, 0)));
        Value g = tensor::ExtractOp::create(nb, nl, lambda, {bi, next, c});
        return arith::AddFOp::create(
            nb, nl, a[0],
            arith::SelectOp::create(nb, nl, inside, g, f32(nb, nl, 0)));
      });
}

/// An scf.while whose `before` region runs `body` on the carried values
/// and the iteration k, and continues while k < passes; `after` maps the
/// values `body` returned (of types `returned`) to the next carried ones.
/// Returns what `body` returned on the last iteration (k = passes).
SmallVector<Value>
passLoop(ConversionPatternRewriter &rewriter, Location loc, Value passes,
         ValueRange init, TypeRange returned,
         function_ref<SmallVector<Value>(ValueRange carried)> body,
         function_ref<SmallVector<Value>(ValueRange returned)> next) {
  SmallVector<Value> inits(init);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  inits.push_back(zero);
  SmallVector<Type> types(returned);
  types.push_back(zero.getType());
  auto whileOp = scf::WhileOp::create(
      rewriter, loc, types, inits,
      [&](OpBuilder &, Location l, ValueRange args) {
        SmallVector<Value> values = body(args.drop_back());
        Value k = args.back();
        Value more = arith::CmpIOp::create(
            rewriter, l, arith::CmpIPredicate::ult, k, passes);
        values.push_back(k);
        scf::ConditionOp::create(rewriter, l, more, values);
      },
      [&](OpBuilder &, Location l, ValueRange args) {
        SmallVector<Value> carried = next(args.drop_back());
        carried.push_back(arith::AddIOp::create(
            rewriter, l, args.back(),
            arith::ConstantIndexOp::create(rewriter, l, 1)));
        scf::YieldOp::create(rewriter, l, carried);
      });
  rewriter.setInsertionPointAfter(whileOp);
  return SmallVector<Value>(whileOp.getResults().drop_back());
}

struct ThoughtChainLowering : OpConversionPattern<ThoughtChainOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ThoughtChainOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value ids = adaptor.getIds(), carry = adaptor.getCarry();
    auto type = cast<RankedTensorType>(op.getThoughts().getType());
    SmallVector<OpFoldResult> btd = {sizeOf(rewriter, loc, ids, 0),
                                     sizeOf(rewriter, loc, ids, 1),
                                     rewriter.getIndexAttr(type.getDimSize(2))};
    Value passes = thoughtCount(rewriter, loc, ids, adaptor.getLengths(),
                                op.getVocab().getVerbal());
    Value h0 = shiftIn(rewriter, loc, type, Value(), carry, btd);
    Block &body = op.getBody().front();
    SmallVector<Value> results = passLoop(
        rewriter, loc, passes, {h0}, op.getResultTypes(),
        [&](ValueRange h) {
          SmallVector<Value> yielded = inlineYieldingBlock(rewriter, body, h);
          yielded.push_back(h[0]);
          return yielded;
        },
        [&](ValueRange returned) -> SmallVector<Value> {
          return {shiftIn(rewriter, loc, type, returned[0], carry, btd)};
        });
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct ThoughtChainGradLowering : OpConversionPattern<ThoughtChainGradOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ThoughtChainGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value thoughts = adaptor.getThoughts();
    Value passes =
        thoughtCount(rewriter, loc, adaptor.getIds(), adaptor.getLengths(),
                     op.getVocab().getVerbal());
    Value lambda0 = filled(rewriter, loc,
                           tensor::getMixedSizes(rewriter, loc, thoughts), 0.0);
    ValueRange yieldGrads = adaptor.getYieldGrads();
    Block &backward = op.getBackward().front();
    SmallVector<Type> types = {thoughts.getType()};
    llvm::append_range(types, op.getResultTypes());
    SmallVector<Value> returned = passLoop(
        rewriter, loc, passes, {lambda0}, types,
        [&](ValueRange lambda) {
          SmallVector<Value> args = {
              shiftOut(rewriter, loc, yieldGrads[0], lambda[0])};
          llvm::append_range(args, yieldGrads.drop_front());
          return inlineYieldingBlock(rewriter, backward, args);
        },
        [&](ValueRange returned) -> SmallVector<Value> {
          return {returned[0]};
        });
    rewriter.replaceOp(op, ArrayRef(returned).drop_front());
    return success();
  }
};

} // namespace

void mlir::ponder::populateThoughtChainLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ThoughtChainLowering, ThoughtChainGradLowering>(
      patterns.getContext());
}
