//===- LossLowering.cpp - ponder losses -> linalg on tensors --------------===//
//
// verbal_xent, policy_loss and ponder_cost (MODEL.md §5) as linalg.generic
// reductions. Every per-position quantity is indexed by the *predicting*
// position t (0 <= t < T), whose target is token t + 1.
//
//===----------------------------------------------------------------------===//

#include "dialects/ponder/IR/PonderOps.h"
#include "passes/lowering/LoweringUtils.h"
#include "passes/lowering/Patterns.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ponder;
using namespace mlir::ponder::lowering;

namespace {

AffineMap bt2(MLIRContext *ctx) { return dims(ctx, 2, {0, 1}); }
AffineMap b2(MLIRContext *ctx) { return dims(ctx, 2, {0}); }

/// Channels [begin, begin + size) of the last dimension of `x` [B, T, V].
Value channels(OpBuilder &b, Location l, Value x, int64_t begin, int64_t size) {
  auto type = cast<RankedTensorType>(x.getType());
  auto sliceType = RankedTensorType::get(
      {type.getDimSize(0), type.getDimSize(1), size}, type.getElementType());
  return tensor::ExtractSliceOp::create(
      b, l, sliceType, x,
      {b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(begin)},
      {sizeOf(b, l, x, 0), sizeOf(b, l, x, 1), b.getIndexAttr(size)},
      {b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(1)});
}

SmallVector<OpFoldResult> batchTime(OpBuilder &b, Location l, Value x) {
  return {sizeOf(b, l, x, 0), sizeOf(b, l, x, 1)};
}

/// out[b, t] = reduce_v combine(out, x[b, t, v] * scale) starting at `init`.
Value reduceLast(
    OpBuilder &b, Location l, Value x, double init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  MLIRContext *ctx = b.getContext();
  return generic(b, l, filled(b, l, batchTime(b, l, x), init), {x},
                 {dims(ctx, 3, {0, 1, 2}), dims(ctx, 3, {0, 1})}, loops(2, 1),
                 [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                   return combine(nb, nl, a[1], a[0]);
                 });
}

/// log sum_v exp(x[b, t, v]) over the last dimension, stably.
Value logSumExp(OpBuilder &b, Location l, Value x) {
  MLIRContext *ctx = b.getContext();
  Value max = reduceLast(b, l, x, -INFINITY,
                         [](OpBuilder &nb, Location nl, Value acc, Value v) {
                           return arith::MaximumFOp::create(nb, nl, acc, v);
                         });
  Value sum = generic(
      b, l, filled(b, l, batchTime(b, l, x), 0.0), {x, max},
      {dims(ctx, 3, {0, 1, 2}), dims(ctx, 3, {0, 1}), dims(ctx, 3, {0, 1})},
      loops(2, 1), [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value e = math::ExpOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
        return arith::AddFOp::create(nb, nl, a[2], e);
      });
  return generic(
      b, l, tensor::EmptyOp::create(b, l, batchTime(b, l, x), b.getF32Type()),
      {max, sum}, {bt2(ctx), bt2(ctx), bt2(ctx)}, loops(2),
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::AddFOp::create(nb, nl, a[0],
                                     math::LogOp::create(nb, nl, a[1]));
      });
}

/// The target of predicting position t: ids[b, t + 1], and whether t + 1 is
/// a scored position (t + 1 < lengths[b]); both [B, T].
std::pair<Value, Value> targets(OpBuilder &b, Location l, Value ids,
                                Value lengths) {
  MLIRContext *ctx = b.getContext();
  SmallVector<OpFoldResult> bt = batchTime(b, l, ids);
  SmallVector<Value> r = genericN(
      b, l,
      {tensor::EmptyOp::create(b, l, bt, b.getI32Type()),
       tensor::EmptyOp::create(b, l, bt, b.getI1Type())},
      {lengths}, {b2(ctx), bt2(ctx), bt2(ctx)}, loops(2),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
        Value bi = linalg::IndexOp::create(nb, nl, 0);
        Value next =
            arith::AddIOp::create(nb, nl, linalg::IndexOp::create(nb, nl, 1),
                                  arith::ConstantIndexOp::create(nb, nl, 1));
        Value len = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
        Value scored =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, next, len);
        // lengths <= T, so t + 1 is in bounds wherever it is scored.
        Value at = arith::SelectOp::create(
            nb, nl, scored, next, arith::ConstantIndexOp::create(nb, nl, 0));
        Value id = tensor::ExtractOp::create(nb, nl, ids, ValueRange{bi, at});
        return {id, scored};
      });
  return {r[0], r[1]};
}

/// `x[b, t + 1]` for per-position inputs (target_weight, advantage); 0 where
/// t + 1 is not scored.
Value shifted(OpBuilder &b, Location l, Value x, Value scored) {
  MLIRContext *ctx = b.getContext();
  return generic(
      b, l, tensor::EmptyOp::create(b, l, batchTime(b, l, x), b.getF32Type()),
      {scored}, {bt2(ctx), bt2(ctx)}, loops(2),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value bi = linalg::IndexOp::create(nb, nl, 0);
        Value next =
            arith::AddIOp::create(nb, nl, linalg::IndexOp::create(nb, nl, 1),
                                  arith::ConstantIndexOp::create(nb, nl, 1));
        Value at = arith::SelectOp::create(
            nb, nl, a[0], next, arith::ConstantIndexOp::create(nb, nl, 0));
        Value v = tensor::ExtractOp::create(nb, nl, x, ValueRange{bi, at});
        return arith::SelectOp::create(nb, nl, a[0], v, f32(nb, nl, 0.0));
      });
}

/// sum over [B, T] as an f32 scalar value.
Value total(OpBuilder &b, Location l, Value x) {
  MLIRContext *ctx = b.getContext();
  Value init = filled(b, l, {}, 0.0);
  Value sum = generic(b, l, init, {x}, {bt2(ctx), AffineMap::get(2, 0, ctx)},
                      loops(0, 2),
                      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                        return arith::AddFOp::create(nb, nl, a[1], a[0]);
                      });
  return tensor::ExtractOp::create(b, l, sum, ValueRange{});
}

/// log g_n of the geometric(lambda) prior truncated to `steps` steps and
/// renormalised (MODEL.md §5), as an f32 constant [steps].
Value logGeometricPrior(OpBuilder &b, Location l, int64_t steps,
                        double lambda) {
  SmallVector<double> g(steps);
  double z = 0;
  for (int64_t i = 0; i < steps; ++i)
    z += g[i] = lambda * std::pow(1 - lambda, double(i));
  SmallVector<float> logG;
  for (double gi : g)
    logG.push_back(static_cast<float>(std::log(gi / z)));
  return arith::ConstantOp::create(
      b, l,
      DenseElementsAttr::get(RankedTensorType::get({steps}, b.getF32Type()),
                             ArrayRef(logG)));
}

/// numerator / max(1, denominator) as a 0-d tensor.
Value normalised(OpBuilder &b, Location l, Value numerator, Value denominator) {
  Value d = arith::MaximumFOp::create(b, l, denominator, f32(b, l, 1.0));
  Value q = arith::DivFOp::create(b, l, numerator, d);
  return tensor::FromElementsOp::create(
      b, l, RankedTensorType::get({}, b.getF32Type()), ValueRange{q});
}

/// The soft target of MODEL.md §5: (1 - alpha - mu) onehot + alpha / Vv +
/// mu softmax_verbal(reference / temperature).
struct SoftTarget {
  int64_t verbal;
  double alpha, mu, temperature;

  template <typename Op> static SoftTarget of(Op op) {
    return {op.getVocab().getVerbal(), op.getSmoothing().convertToDouble(),
            op.getReferenceMix().convertToDouble(),
            op.getReferenceTemperature().convertToDouble()};
  }
};

/// softmax_verbal(reference / temperature) as log-probabilities'
/// ingredients: the scaled verbal reference logits and their logsumexp.
std::pair<Value, Value> referenceLogits(OpBuilder &b, Location l,
                                        const SoftTarget &st, Value reference) {
  MLIRContext *ctx = b.getContext();
  Value inv = f32(b, l, 1.0 / st.temperature);
  Value verbal = channels(b, l, reference, 0, st.verbal);
  Value scaled =
      generic(b, l,
              tensor::EmptyOp::create(b, l, tensor::getMixedSizes(b, l, verbal),
                                      b.getF32Type()),
              {verbal}, {dims(ctx, 3, {0, 1, 2}), dims(ctx, 3, {0, 1, 2})},
              loops(3), [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                return arith::MulFOp::create(nb, nl, a[0], inv);
              });
  return {scaled, logSumExp(b, l, scaled)};
}

/// Per predicting position: -sum_v q_v l_v with l = z - lse_verbal(z) over
/// the soft target q of MODEL.md §5. `logits` is [B, T, V].
Value softTargetCE(OpBuilder &b, Location l, const SoftTarget &st, Value logits,
                   Value target, Value reference) {
  MLIRContext *ctx = b.getContext();
  int64_t vv = st.verbal;
  double alpha = st.alpha, mu = st.mu;
  Value verbal = channels(b, l, logits, 0, vv);
  Value lse = logSumExp(b, l, verbal);
  // sum_v l_v = sum_v z_v - Vv lse (smoothing term).
  Value sumZ = reduceLast(b, l, verbal, 0.0,
                          [](OpBuilder &nb, Location nl, Value acc, Value v) {
                            return arith::AddFOp::create(nb, nl, acc, v);
                          });
  // sum_v r_v l_v = sum_v r_v z_v - lse, r = softmax_verbal(ref / T_ref).
  Value refZ;
  if (reference) {
    auto [scaled, refLse] = referenceLogits(b, l, st, reference);
    AffineMap all = dims(ctx, 3, {0, 1, 2}), bt = dims(ctx, 3, {0, 1});
    refZ = generic(b, l, filled(b, l, batchTime(b, l, verbal), 0.0),
                   {scaled, refLse, verbal}, {all, bt, all, bt}, loops(2, 1),
                   [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                     Value r = math::ExpOp::create(
                         nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                     return arith::AddFOp::create(
                         nb, nl, a[3], arith::MulFOp::create(nb, nl, r, a[2]));
                   });
  }
  SmallVector<Value> inputs = {target, lse, sumZ};
  if (refZ)
    inputs.push_back(refZ);
  SmallVector<AffineMap> maps(inputs.size() + 1, bt2(ctx));
  return generic(
      b, l,
      tensor::EmptyOp::create(b, l, batchTime(b, l, logits), b.getF32Type()),
      inputs, maps, loops(2),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value id = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
        // Clamp: think targets are masked out, but the read must be in range.
        Value vLast = arith::ConstantIndexOp::create(nb, nl, vv - 1);
        Value at = arith::MinUIOp::create(nb, nl, id, vLast);
        Value z = tensor::ExtractOp::create(
            nb, nl, logits,
            ValueRange{linalg::IndexOp::create(nb, nl, 0),
                       linalg::IndexOp::create(nb, nl, 1), at});
        Value lx = arith::SubFOp::create(nb, nl, z, a[1]);
        Value ce =
            arith::MulFOp::create(nb, nl, f32(nb, nl, 1 - alpha - mu), lx);
        Value sumL = arith::SubFOp::create(
            nb, nl, a[2],
            arith::MulFOp::create(nb, nl, f32(nb, nl, double(vv)), a[1]));
        ce = arith::AddFOp::create(
            nb, nl, ce,
            arith::MulFOp::create(nb, nl, f32(nb, nl, alpha / vv), sumL));
        if (refZ) // a = (target, lse, sumZ, refZ, out)
          ce = arith::AddFOp::create(
              nb, nl, ce,
              arith::MulFOp::create(nb, nl, f32(nb, nl, mu),
                                    arith::SubFOp::create(nb, nl, a[3], a[1])));
        return arith::NegFOp::create(nb, nl, ce);
      });
}

// L_ce = sum m CE / max(1, sum m), m = target_weight [x < Vv] [1 <= t < len].
struct VerbalXentLowering : OpConversionPattern<VerbalXentOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(VerbalXentOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto [target, scored] =
        targets(rewriter, l, adaptor.getIds(), adaptor.getLengths());
    Value ce;
    if (Value probs = adaptor.getStepProbs()) {
      // PonderNet: sum_n p_n CE_n, p at the predicting position.
      Value logits = adaptor.getLogits();
      auto type = cast<RankedTensorType>(logits.getType());
      int64_t steps = type.getDimSize(0);
      auto stepType = RankedTensorType::get(type.getShape().drop_front(),
                                            rewriter.getF32Type());
      auto probType = RankedTensorType::get(
          cast<RankedTensorType>(probs.getType()).getShape().drop_front(),
          rewriter.getF32Type());
      for (int64_t n = 0; n < steps; ++n) {
        auto slice = [&](Value x, RankedTensorType t) -> Value {
          int64_t rank = t.getRank();
          SmallVector<OpFoldResult> offsets(rank + 1, rewriter.getIndexAttr(0));
          offsets[0] = rewriter.getIndexAttr(n);
          SmallVector<OpFoldResult> sizes = {rewriter.getIndexAttr(1)};
          for (int64_t d = 0; d < rank; ++d)
            sizes.push_back(sizeOf(rewriter, l, x, d + 1));
          SmallVector<OpFoldResult> strides(rank + 1, rewriter.getIndexAttr(1));
          return tensor::ExtractSliceOp::create(rewriter, l, t, x, offsets,
                                                sizes, strides);
        };
        Value ceN = softTargetCE(rewriter, l, SoftTarget::of(op),
                                 slice(logits, stepType), target,
                                 adaptor.getReference());
        Value pN = slice(probs, probType);
        Value term = generic(
            rewriter, l,
            tensor::EmptyOp::create(rewriter, l, batchTime(rewriter, l, ceN),
                                    rewriter.getF32Type()),
            {ceN, pN}, {bt2(ctx), bt2(ctx), bt2(ctx)}, loops(2),
            [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
              return arith::MulFOp::create(nb, nl, a[0], a[1]);
            });
        ce = ce ? generic(
                      rewriter, l, ce, {term}, {bt2(ctx), bt2(ctx)}, loops(2),
                      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                        return arith::AddFOp::create(nb, nl, a[1], a[0]);
                      })
                : term;
      }
    } else {
      ce = softTargetCE(rewriter, l, SoftTarget::of(op), adaptor.getLogits(),
                        target, adaptor.getReference());
    }
    int64_t vv = op.getVocab().getVerbal();
    Value weight = shifted(rewriter, l, adaptor.getTargetWeight(), scored);
    SmallVector<Value> mw = genericN(
        rewriter, l,
        {tensor::EmptyOp::create(rewriter, l, batchTime(rewriter, l, ce),
                                 rewriter.getF32Type()),
         tensor::EmptyOp::create(rewriter, l, batchTime(rewriter, l, ce),
                                 rewriter.getF32Type())},
        {ce, weight, target}, SmallVector<AffineMap>(5, bt2(ctx)), loops(2),
        [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
          Value isVerbal = arith::CmpIOp::create(
              nb, nl, arith::CmpIPredicate::slt, a[2],
              arith::ConstantIntOp::create(nb, nl, vv, 32));
          Value m =
              arith::SelectOp::create(nb, nl, isVerbal, a[1], f32(nb, nl, 0));
          // Select, not multiply: a masked position's CE may be anything.
          Value mce = arith::SelectOp::create(
              nb, nl,
              arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::ONE, m,
                                    f32(nb, nl, 0)),
              arith::MulFOp::create(nb, nl, m, a[0]), f32(nb, nl, 0));
          return {mce, m};
        });
    rewriter.replaceOp(op, normalised(rewriter, l, total(rewriter, l, mw[0]),
                                      total(rewriter, l, mw[1])));
    return success();
  }
};

// L_pg = -sum A logpi / max(1, sum_b (lengths[b] - 1)).
struct PolicyLossLowering : OpConversionPattern<PolicyLossOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PolicyLossOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    int64_t vv = op.getVocab().getVerbal();
    Value logits = adaptor.getLogits();
    auto [target, scored] =
        targets(rewriter, l, adaptor.getIds(), adaptor.getLengths());
    Value lseAll = logSumExp(rewriter, l, logits);
    Value lseVerbal =
        logSumExp(rewriter, l, channels(rewriter, l, logits, 0, vv));
    Value advantage = shifted(rewriter, l, adaptor.getAdvantage(), scored);
    SmallVector<Value> inputs = {target, scored, lseAll, lseVerbal, advantage};
    bool grouped = op.getGrouped();
    if (grouped)
      inputs.push_back(logSumExp(
          rewriter, l,
          channels(rewriter, l, logits, vv, op.getVocab().getThink())));
    SmallVector<Value> r = genericN(
        rewriter, l,
        {tensor::EmptyOp::create(rewriter, l, batchTime(rewriter, l, logits),
                                 rewriter.getF32Type()),
         tensor::EmptyOp::create(rewriter, l, batchTime(rewriter, l, logits),
                                 rewriter.getF32Type())},
        inputs, SmallVector<AffineMap>(inputs.size() + 2, bt2(ctx)), loops(2),
        [&](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
          Value id =
              arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
          Value z = tensor::ExtractOp::create(
              nb, nl, logits,
              ValueRange{linalg::IndexOp::create(nb, nl, 0),
                         linalg::IndexOp::create(nb, nl, 1), id});
          Value isThink = arith::CmpIOp::create(
              nb, nl, arith::CmpIPredicate::sge, a[0],
              arith::ConstantIntOp::create(nb, nl, vv, 32));
          // Think: log softmax_all(z)[x] (grouped: the decision to think);
          // verbal: the decision to speak now.
          Value thinkLogit = grouped ? a[5] : z;
          Value logpi = arith::SubFOp::create(
              nb, nl,
              arith::SelectOp::create(nb, nl, isThink, thinkLogit, a[3]), a[2]);
          Value term = arith::SelectOp::create(
              nb, nl, a[1], arith::MulFOp::create(nb, nl, a[4], logpi),
              f32(nb, nl, 0));
          Value count = arith::SelectOp::create(nb, nl, a[1], f32(nb, nl, 1),
                                                f32(nb, nl, 0));
          return {arith::NegFOp::create(nb, nl, term), count};
        });
    // sum_b (lengths[b] - 1) is the number of scored positions.
    rewriter.replaceOp(op, normalised(rewriter, l, total(rewriter, l, r[0]),
                                      total(rewriter, l, r[1])));
    return success();
  }
};

// act: mean over valid positions of N + R; pondernet: mean KL(p || g).
struct PonderCostLowering : OpConversionPattern<PonderCostOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PonderCostOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value steps = adaptor.getSteps();
    SmallVector<OpFoldResult> bt = batchTime(rewriter, l, steps);
    auto f32Type = rewriter.getF32Type();
    if (op.getMode() == HaltingMode::Fixed) {
      rewriter.replaceOp(op, normalised(rewriter, l, f32(rewriter, l, 0),
                                        f32(rewriter, l, 1)));
      return success();
    }
    Value perPosition;
    if (op.getMode() == HaltingMode::Act) {
      perPosition = generic(
          rewriter, l, tensor::EmptyOp::create(rewriter, l, bt, f32Type),
          {steps, adaptor.getRemainder()}, {bt2(ctx), bt2(ctx), bt2(ctx)},
          loops(2), [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            Value n = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), a[0]);
            return arith::AddFOp::create(nb, nl, n, a[1]);
          });
    } else {
      // log g_n of the truncated, renormalised geometric prior.
      auto probsType = cast<RankedTensorType>(adaptor.getProbs().getType());
      int64_t n = probsType.getDimSize(0);
      Value prior = logGeometricPrior(rewriter, l, n,
                                      op.getPriorLambda()->convertToDouble());
      // KL = sum_n p_n (log p_n - log g_n), with 0 log 0 = 0.
      perPosition = generic(
          rewriter, l, filled(rewriter, l, bt, 0.0),
          {adaptor.getProbs(), prior},
          {dims(ctx, 3, {2, 0, 1}), dims(ctx, 3, {2}), dims(ctx, 3, {0, 1})},
          loops(2, 1), [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            Value p = a[0];
            Value term = arith::MulFOp::create(
                nb, nl, p,
                arith::SubFOp::create(nb, nl, math::LogOp::create(nb, nl, p),
                                      a[1]));
            Value positive = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OGT, p, f32(nb, nl, 0));
            return arith::AddFOp::create(
                nb, nl, a[2],
                arith::SelectOp::create(nb, nl, positive, term,
                                        f32(nb, nl, 0)));
          });
    }
    // Mean over valid positions t < lengths[b].
    SmallVector<Value> r = genericN(
        rewriter, l,
        {tensor::EmptyOp::create(rewriter, l, bt, f32Type),
         tensor::EmptyOp::create(rewriter, l, bt, f32Type)},
        {perPosition, adaptor.getLengths()},
        {bt2(ctx), b2(ctx), bt2(ctx), bt2(ctx)}, loops(2),
        [](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
          Value t = linalg::IndexOp::create(nb, nl, 1);
          Value len =
              arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[1]);
          Value valid =
              arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, t, len);
          return {arith::SelectOp::create(nb, nl, valid, a[0], f32(nb, nl, 0)),
                  arith::SelectOp::create(nb, nl, valid, f32(nb, nl, 1),
                                          f32(nb, nl, 0))};
        });
    rewriter.replaceOp(op, normalised(rewriter, l, total(rewriter, l, r[0]),
                                      total(rewriter, l, r[1])));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Gradients
//===----------------------------------------------------------------------===//

/// Step `n` of `x` [N, ...] as a tensor [...].
Value stepSlice(OpBuilder &b, Location l, Value x, int64_t n) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  auto sliceType = RankedTensorType::get(type.getShape().drop_front(),
                                         type.getElementType());
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  offsets[0] = b.getIndexAttr(n);
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
  for (int64_t d = 1; d < rank; ++d)
    sizes.push_back(sizeOf(b, l, x, d));
  return tensor::ExtractSliceOp::create(
      b, l, sliceType, x, offsets, sizes,
      SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)));
}

/// Writes `part` [...] as step `n` of `into` [N, ...].
Value insertStepSlice(OpBuilder &b, Location l, Value part, Value into,
                      int64_t n) {
  int64_t rank = cast<RankedTensorType>(into.getType()).getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  offsets[0] = b.getIndexAttr(n);
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
  for (int64_t d = 0; d + 1 < rank; ++d)
    sizes.push_back(sizeOf(b, l, part, d));
  return tensor::InsertSliceOp::create(
      b, l, part, into, offsets, sizes,
      SmallVector<OpFoldResult>(rank, b.getIndexAttr(1)));
}

/// The CE mask m = target_weight [target < Vv] of each predicting position.
Value targetMask(OpBuilder &b, Location l, Value weight, Value target,
                 int64_t vv) {
  MLIRContext *ctx = b.getContext();
  return generic(
      b, l,
      tensor::EmptyOp::create(b, l, batchTime(b, l, weight), b.getF32Type()),
      {weight, target}, {bt2(ctx), bt2(ctx), bt2(ctx)}, loops(2),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value isVerbal =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, a[1],
                                  arith::ConstantIntOp::create(nb, nl, vv, 32));
        return arith::SelectOp::create(nb, nl, isVerbal, a[0], f32(nb, nl, 0));
      });
}

/// d CE / d logits for every predicting position, times `scale` [B, T]:
/// scale (softmax_verbal(z) - q) on verbal ids, 0 on think ids and where
/// scale is 0.
Value softTargetGrad(OpBuilder &b, Location l, const SoftTarget &st,
                     Value logits, Value target, Value reference, Value scale) {
  MLIRContext *ctx = b.getContext();
  int64_t vv = st.verbal;
  Value lse = logSumExp(b, l, channels(b, l, logits, 0, vv));
  Value scaledRef, refLse;
  if (reference)
    std::tie(scaledRef, refLse) = referenceLogits(b, l, st, reference);
  SmallVector<Value> inputs = {logits, scale, lse, target};
  AffineMap all = dims(ctx, 3, {0, 1, 2}), bt = dims(ctx, 3, {0, 1});
  SmallVector<AffineMap> maps = {all, bt, bt, bt};
  if (refLse) {
    inputs.push_back(refLse);
    maps.push_back(bt);
  }
  maps.push_back(all);
  return generic(
      b, l,
      tensor::EmptyOp::create(b, l, tensor::getMixedSizes(b, l, logits),
                              b.getF32Type()),
      inputs, maps, loops(3),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value v = linalg::IndexOp::create(nb, nl, 2);
        Value isVerbal =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, v,
                                  arith::ConstantIndexOp::create(nb, nl, vv));
        Value p = math::ExpOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, a[0], a[2]));
        Value isTarget = arith::CmpIOp::create(
            nb, nl, arith::CmpIPredicate::eq,
            arith::IndexCastOp::create(nb, nl, nb.getI32Type(), v), a[3]);
        Value q = arith::AddFOp::create(
            nb, nl,
            arith::SelectOp::create(nb, nl, isTarget,
                                    f32(nb, nl, 1 - st.alpha - st.mu),
                                    f32(nb, nl, 0)),
            f32(nb, nl, st.alpha / vv));
        if (refLse) {
          Value at = arith::MinUIOp::create(
              nb, nl, v, arith::ConstantIndexOp::create(nb, nl, vv - 1));
          Value r = tensor::ExtractOp::create(
              nb, nl, scaledRef,
              ValueRange{linalg::IndexOp::create(nb, nl, 0),
                         linalg::IndexOp::create(nb, nl, 1), at});
          Value rp = math::ExpOp::create(
              nb, nl, arith::SubFOp::create(nb, nl, r, a[4]));
          q = arith::AddFOp::create(
              nb, nl, q, arith::MulFOp::create(nb, nl, f32(nb, nl, st.mu), rp));
        }
        Value g = arith::MulFOp::create(nb, nl, a[1],
                                        arith::SubFOp::create(nb, nl, p, q));
        Value live = arith::AndIOp::create(
            nb, nl, isVerbal,
            arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::ONE, a[1],
                                  f32(nb, nl, 0)));
        return arith::SelectOp::create(nb, nl, live, g, f32(nb, nl, 0));
      });
}

/// `x` [B, T] times the scalar `c`, 0 where `x` is 0.
Value scaledBy(OpBuilder &b, Location l, Value x, Value c) {
  MLIRContext *ctx = b.getContext();
  return generic(
      b, l, tensor::EmptyOp::create(b, l, batchTime(b, l, x), b.getF32Type()),
      {x}, {bt2(ctx), bt2(ctx)}, loops(2),
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::MulFOp::create(nb, nl, a[0], c);
      });
}

/// The f32 value of a 0-d tensor.
Value scalarOf(OpBuilder &b, Location l, Value x) {
  return tensor::ExtractOp::create(b, l, x, ValueRange{});
}

// d L_ce / d logits = dL m / M (softmax_verbal - q); PonderNet weights each
// step by p_n and d L_ce / d p_n = dL m / M CE_n.
struct VerbalXentGradLowering : OpConversionPattern<VerbalXentGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(VerbalXentGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    SoftTarget st = SoftTarget::of(op);
    auto [target, scored] =
        targets(rewriter, l, adaptor.getIds(), adaptor.getLengths());
    Value m = targetMask(
        rewriter, l, shifted(rewriter, l, adaptor.getTargetWeight(), scored),
        target, st.verbal);
    Value c = arith::DivFOp::create(
        rewriter, l, scalarOf(rewriter, l, adaptor.getLossGrad()),
        arith::MaximumFOp::create(rewriter, l, total(rewriter, l, m),
                                  f32(rewriter, l, 1.0)));
    Value weight = scaledBy(rewriter, l, m, c); // dL m / M
    Value logits = adaptor.getLogits(), probs = adaptor.getStepProbs();
    if (!probs) {
      rewriter.replaceOp(op, softTargetGrad(rewriter, l, st, logits, target,
                                            adaptor.getReference(), weight));
      return success();
    }
    int64_t steps = cast<RankedTensorType>(logits.getType()).getDimSize(0);
    Value dLogits =
        filled(rewriter, l, tensor::getMixedSizes(rewriter, l, logits), 0.0);
    Value dProbs =
        filled(rewriter, l, tensor::getMixedSizes(rewriter, l, probs), 0.0);
    for (int64_t n = 0; n < steps; ++n) {
      Value zN = stepSlice(rewriter, l, logits, n);
      Value pN = stepSlice(rewriter, l, probs, n);
      Value ceN =
          softTargetCE(rewriter, l, st, zN, target, adaptor.getReference());
      SmallVector<Value> wd = genericN(
          rewriter, l,
          {tensor::EmptyOp::create(rewriter, l, batchTime(rewriter, l, ceN),
                                   rewriter.getF32Type()),
           tensor::EmptyOp::create(rewriter, l, batchTime(rewriter, l, ceN),
                                   rewriter.getF32Type())},
          {weight, pN, ceN}, SmallVector<AffineMap>(5, bt2(ctx)), loops(2),
          [](OpBuilder &nb, Location nl, ValueRange a) -> SmallVector<Value> {
            Value live = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::ONE, a[0], f32(nb, nl, 0));
            Value dp = arith::SelectOp::create(
                nb, nl, live, arith::MulFOp::create(nb, nl, a[0], a[2]),
                f32(nb, nl, 0));
            return {arith::MulFOp::create(nb, nl, a[0], a[1]), dp};
          });
      Value gN = softTargetGrad(rewriter, l, st, zN, target,
                                adaptor.getReference(), wd[0]);
      dLogits = insertStepSlice(rewriter, l, gN, dLogits, n);
      dProbs = insertStepSlice(rewriter, l, wd[1], dProbs, n);
    }
    rewriter.replaceOp(op, {dLogits, dProbs});
    return success();
  }
};

// d L_pg / d z[t - 1] = -dL A[t] / D d logpi_t / dz: at a think token
// onehot(x) - softmax_all, at a verbal one [v < Vv] softmax_verbal -
// softmax_all.
struct PolicyLossGradLowering : OpConversionPattern<PolicyLossGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PolicyLossGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    int64_t vv = op.getVocab().getVerbal();
    Value logits = adaptor.getLogits();
    auto [target, scored] =
        targets(rewriter, l, adaptor.getIds(), adaptor.getLengths());
    Value lseAll = logSumExp(rewriter, l, logits);
    Value lseVerbal =
        logSumExp(rewriter, l, channels(rewriter, l, logits, 0, vv));
    Value advantage = shifted(rewriter, l, adaptor.getAdvantage(), scored);
    bool grouped = op.getGrouped();
    // Grouped think decisions read the think ids' logsumexp instead.
    Value lseThink = grouped ? logSumExp(rewriter, l,
                                         channels(rewriter, l, logits, vv,
                                                  op.getVocab().getThink()))
                             : lseVerbal;
    Value count = generic(
        rewriter, l,
        tensor::EmptyOp::create(rewriter, l, batchTime(rewriter, l, logits),
                                rewriter.getF32Type()),
        {scored}, {bt2(ctx), bt2(ctx)}, loops(2),
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          return arith::SelectOp::create(nb, nl, a[0], f32(nb, nl, 1),
                                         f32(nb, nl, 0));
        });
    Value c = arith::DivFOp::create(
        rewriter, l,
        arith::NegFOp::create(rewriter, l,
                              scalarOf(rewriter, l, adaptor.getLossGrad())),
        arith::MaximumFOp::create(rewriter, l, total(rewriter, l, count),
                                  f32(rewriter, l, 1.0)));
    AffineMap all = dims(ctx, 3, {0, 1, 2}), bt = dims(ctx, 3, {0, 1});
    Value grad = generic(
        rewriter, l,
        tensor::EmptyOp::create(rewriter, l,
                                tensor::getMixedSizes(rewriter, l, logits),
                                rewriter.getF32Type()),
        {logits, advantage, target, lseAll, lseVerbal, lseThink},
        {all, bt, bt, bt, bt, bt, all}, loops(3),
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value v = linalg::IndexOp::create(nb, nl, 2);
          Value vi = arith::IndexCastOp::create(nb, nl, nb.getI32Type(), v);
          Value vvConst = arith::ConstantIntOp::create(nb, nl, vv, 32);
          Value smAll = math::ExpOp::create(
              nb, nl, arith::SubFOp::create(nb, nl, a[0], a[3]));
          Value smVerbal = math::ExpOp::create(
              nb, nl, arith::SubFOp::create(nb, nl, a[0], a[4]));
          Value isThinkTarget = arith::CmpIOp::create(
              nb, nl, arith::CmpIPredicate::sge, a[2], vvConst);
          Value isTarget =
              arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, vi, a[2]);
          Value isVerbal = arith::CmpIOp::create(
              nb, nl, arith::CmpIPredicate::slt, vi, vvConst);
          Value zero = f32(nb, nl, 0), one = f32(nb, nl, 1);
          Value thinkFirst =
              grouped
                  ? arith::SelectOp::create(
                        nb, nl, isVerbal, zero,
                        math::ExpOp::create(
                            nb, nl, arith::SubFOp::create(nb, nl, a[0], a[5])))
                  : arith::SelectOp::create(nb, nl, isTarget, one, zero);
          Value first = arith::SelectOp::create(
              nb, nl, isThinkTarget, thinkFirst,
              arith::SelectOp::create(nb, nl, isVerbal, smVerbal, zero));
          Value g = arith::MulFOp::create(
              nb, nl, arith::MulFOp::create(nb, nl, c, a[1]),
              arith::SubFOp::create(nb, nl, first, smAll));
          Value live = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::ONE,
                                             a[1], zero);
          return arith::SelectOp::create(nb, nl, live, g, zero);
        });
    rewriter.replaceOp(op, grad);
    return success();
  }
};

// act: dR = dL / count at valid positions; pondernet: dp_n = dL (log p_n -
// log g_n + 1) / count (0 where p_n = 0, as 0 log 0 = 0); fixed: zeros.
struct PonderCostGradLowering : OpConversionPattern<PonderCostGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PonderCostGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value remainder = adaptor.getRemainder(), probs = adaptor.getProbs();
    SmallVector<OpFoldResult> bt = batchTime(rewriter, l, remainder);
    Value zeroR = filled(rewriter, l, bt, 0.0);
    Value zeroP =
        filled(rewriter, l, tensor::getMixedSizes(rewriter, l, probs), 0.0);
    if (op.getMode() == HaltingMode::Fixed) {
      rewriter.replaceOp(op, {zeroR, zeroP});
      return success();
    }
    Value valid = generic(
        rewriter, l,
        tensor::EmptyOp::create(rewriter, l, bt, rewriter.getF32Type()),
        {adaptor.getLengths()}, {b2(ctx), bt2(ctx)}, loops(2),
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value t = linalg::IndexOp::create(nb, nl, 1);
          Value len =
              arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
          Value in =
              arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, t, len);
          return arith::SelectOp::create(nb, nl, in, f32(nb, nl, 1),
                                         f32(nb, nl, 0));
        });
    Value c = arith::DivFOp::create(
        rewriter, l, scalarOf(rewriter, l, adaptor.getLossGrad()),
        arith::MaximumFOp::create(rewriter, l, total(rewriter, l, valid),
                                  f32(rewriter, l, 1.0)));
    if (op.getMode() == HaltingMode::Act) {
      rewriter.replaceOp(op, {scaledBy(rewriter, l, valid, c), zeroP});
      return success();
    }
    auto probsType = cast<RankedTensorType>(probs.getType());
    int64_t n = probsType.getDimSize(0);
    Value prior = logGeometricPrior(rewriter, l, n,
                                    op.getPriorLambda()->convertToDouble());
    Value dp = generic(
        rewriter, l,
        tensor::EmptyOp::create(rewriter, l,
                                tensor::getMixedSizes(rewriter, l, probs),
                                rewriter.getF32Type()),
        {probs, prior, valid},
        {dims(ctx, 3, {0, 1, 2}), dims(ctx, 3, {0}), dims(ctx, 3, {1, 2}),
         dims(ctx, 3, {0, 1, 2})},
        loops(3), [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value zero = f32(nb, nl, 0);
          Value term = arith::AddFOp::create(
              nb, nl,
              arith::SubFOp::create(nb, nl, math::LogOp::create(nb, nl, a[0]),
                                    a[1]),
              f32(nb, nl, 1));
          Value live = arith::AndIOp::create(
              nb, nl,
              arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OGT, a[0],
                                    zero),
              arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::ONE, a[2],
                                    zero));
          return arith::SelectOp::create(
              nb, nl, live, arith::MulFOp::create(nb, nl, c, term), zero);
        });
    rewriter.replaceOp(op, {zeroR, dp});
    return success();
  }
};

} // namespace

void mlir::ponder::populateLossLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<VerbalXentLowering, PolicyLossLowering, PonderCostLowering,
               VerbalXentGradLowering, PolicyLossGradLowering,
               PonderCostGradLowering>(patterns.getContext());
}
