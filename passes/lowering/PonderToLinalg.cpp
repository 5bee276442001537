//===- PonderToLinalg.cpp - ponder layer ops -> linalg on tensors ---------===//
//
// Each layer op of MODEL.md §4 becomes one or a few `linalg.generic` ops on
// tensors. Loop dimensions are named in comments as in the contract (b batch,
// t/i query position, j key position, h head, e head channel, d model
// channel, k reduced channel).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/lowering/LoweringUtils.h"
#include "passes/lowering/Patterns.h"

#include "dialects/ponder/IR/PonderOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace mlir::ponder {
#define GEN_PASS_DEF_CONVERTPONDERTOLINALG
#include "passes/Passes.h.inc"
} // namespace mlir::ponder

using namespace mlir;
using namespace mlir::ponder;

namespace {

using namespace mlir::ponder::lowering;

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

// y[..., o] = sum_k x[..., k] W[o, k]  (y = x W^T, MODEL.md §3).
struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput(), w = adaptor.getWeight();
    unsigned rank = op.getType().getRank();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);
    sizes.back() = sizeOf(rewriter, loc, w, 0);
    Value init = filled(rewriter, loc, sizes, 0.0);
    if (init.getType() != op.getType())
      init = tensor::CastOp::create(rewriter, loc, op.getType(), init);
    // Loops: the output dims (0 .. rank-1), then k (rank).
    SmallVector<unsigned> xDims = iota(rank - 1);
    xDims.push_back(rank);
    MLIRContext *ctx = rewriter.getContext();
    Value y = generic(
        rewriter, loc, init, {x, w},
        {dims(ctx, rank + 1, xDims), dims(ctx, rank + 1, {rank - 1, rank}),
         dims(ctx, rank + 1, iota(rank))},
        loops(rank, 1), [](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value prod = arith::MulFOp::create(b, l, a[0], a[1]);
          return arith::AddFOp::create(b, l, a[2], prod);
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

// RMSNorm(x, w) = x / sqrt(mean(x^2) + eps) * w  (MODEL.md §4).
struct RMSNormLowering : OpConversionPattern<RMSNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RMSNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput(), w = adaptor.getWeight();
    unsigned rank = op.getType().getRank();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, x);

    // sumsq[...] = sum_d x[..., d]^2
    SmallVector<OpFoldResult> outer(sizes.begin(), sizes.end() - 1);
    Value sumsq =
        generic(rewriter, loc, filled(rewriter, loc, outer, 0.0), {x},
                {dims(ctx, rank, iota(rank)), dims(ctx, rank, iota(rank - 1))},
                loops(rank - 1, 1),
                [](OpBuilder &b, Location l, ValueRange a) -> Value {
                  Value sq = arith::MulFOp::create(b, l, a[0], a[0]);
                  return arith::AddFOp::create(b, l, a[1], sq);
                });

    Value width = sizeAsF32(rewriter, loc, x, rank - 1);
    Value eps = f32(rewriter, loc, op.getEpsilon().convertToDouble());
    Value y = generic(
        rewriter, loc, emptyOf(rewriter, loc, op.getType(), sizes),
        {x, sumsq, w},
        {dims(ctx, rank, iota(rank)), dims(ctx, rank, iota(rank - 1)),
         dims(ctx, rank, {rank - 1}), dims(ctx, rank, iota(rank))},
        loops(rank), [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value mean = arith::DivFOp::create(b, l, a[1], width);
          Value rms = math::SqrtOp::create(
              b, l, arith::AddFOp::create(b, l, mean, eps));
          Value normed = arith::DivFOp::create(b, l, a[0], rms);
          return arith::MulFOp::create(b, l, normed, a[2]);
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

// GELU(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (MODEL.md §4).
struct GeluLowering : OpConversionPattern<GeluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GeluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    unsigned rank = op.getType().getRank();
    MLIRContext *ctx = rewriter.getContext();
    Value half = f32(rewriter, loc, 0.5), one = f32(rewriter, loc, 1.0);
    Value c = f32(rewriter, loc, std::sqrt(2.0 / M_PI));
    Value cubic = f32(rewriter, loc, 0.044715);
    Value y = generic(
        rewriter, loc,
        emptyOf(rewriter, loc, op.getType(),
                tensor::getMixedSizes(rewriter, loc, x)),
        {x}, {dims(ctx, rank, iota(rank)), dims(ctx, rank, iota(rank))},
        loops(rank), [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value v = a[0];
          Value v3 =
              arith::MulFOp::create(b, l, v, arith::MulFOp::create(b, l, v, v));
          Value inner = arith::MulFOp::create(
              b, l, c,
              arith::AddFOp::create(b, l, v,
                                    arith::MulFOp::create(b, l, cubic, v3)));
          Value t = math::TanhOp::create(b, l, inner);
          return arith::MulFOp::create(b, l,
                                       arith::MulFOp::create(b, l, half, v),
                                       arith::AddFOp::create(b, l, one, t));
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// Row `row` of the 2-D `table` as a 1-D tensor.
Value tableRow(OpBuilder &b, Location loc, Value table, OpFoldResult row) {
  auto type = cast<RankedTensorType>(table.getType());
  auto rowType =
      RankedTensorType::get({type.getDimSize(1)}, type.getElementType());
  return tensor::ExtractSliceOp::create(
      b, loc, rowType, table, {row, b.getIndexAttr(0)},
      {b.getIndexAttr(1), sizeOf(b, loc, table, 1)},
      {b.getIndexAttr(1), b.getIndexAttr(1)});
}

// u = s + table[n]  (MODEL.md §4, Block).
struct StepEmbedLowering : OpConversionPattern<StepEmbedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(StepEmbedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value s = adaptor.getState();
    unsigned rank = op.getType().getRank();
    Value row = tableRow(rewriter, loc, adaptor.getTable(), adaptor.getStep());
    Value u = generic(rewriter, loc,
                      emptyOf(rewriter, loc, op.getType(),
                              tensor::getMixedSizes(rewriter, loc, s)),
                      {s, row},
                      {dims(ctx, rank, iota(rank)), dims(ctx, rank, {rank - 1}),
                       dims(ctx, rank, iota(rank))},
                      loops(rank),
                      [](OpBuilder &b, Location l, ValueRange a) -> Value {
                        return arith::AddFOp::create(b, l, a[0], a[1]);
                      });
    rewriter.replaceOp(op, u);
    return success();
  }
};

/// A [B] i32 tensor of zeros, the `start` of rows that begin at position 0.
Value zeroStarts(OpBuilder &b, Location loc, Value perRow) {
  return filledWith(b, loc, {sizeOf(b, loc, perRow, 0)},
                    arith::ConstantIntOp::create(b, loc, 0, 32));
}

// x[b, t, d] = token[ids[b, t], d] + position[start[b] + t, d]  (MODEL.md §4;
// start = 0 outside cached decoding); with thoughts, a think id at absolute
// position >= 1 reads thoughts[b, t, d] instead of its token's row (§9). Ids
// and start are range-checked by the runtime before the model runs.
struct EmbedLowering : OpConversionPattern<EmbedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(EmbedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value ids = adaptor.getIds(), token = adaptor.getToken();
    Value position = adaptor.getPosition();
    Value thoughts = adaptor.getThoughts();
    Value start = adaptor.getStart() ? adaptor.getStart()
                                     : zeroStarts(rewriter, loc, ids);
    OpFoldResult batch = sizeOf(rewriter, loc, ids, 0);
    OpFoldResult length = sizeOf(rewriter, loc, ids, 1);
    OpFoldResult width = sizeOf(rewriter, loc, token, 1);
    Value x = generic(
        rewriter, loc,
        emptyOf(rewriter, loc, op.getType(), {batch, length, width}),
        {ids, start},
        {dims(ctx, 3, {0, 1}), dims(ctx, 3, {0}), dims(ctx, 3, {0, 1, 2})},
        loops(3), [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Type index = b.getIndexType();
          Value id = arith::IndexCastOp::create(b, l, index, a[0]);
          Value t = arith::AddIOp::create(
              b, l, arith::IndexCastOp::create(b, l, index, a[1]),
              linalg::IndexOp::create(b, l, 1));
          Value d = linalg::IndexOp::create(b, l, 2);
          Value tok = tensor::ExtractOp::create(b, l, token, {id, d});
          Value pos = tensor::ExtractOp::create(b, l, position, {t, d});
          if (thoughts) {
            Value reads =
                readsThought(b, l, a[0], t, op.getVocab().getVerbal());
            Value thought = tensor::ExtractOp::create(
                b, l, thoughts,
                {linalg::IndexOp::create(b, l, 0),
                 linalg::IndexOp::create(b, l, 1), d});
            tok = arith::SelectOp::create(b, l, reads, thought, tok);
          }
          return arith::AddFOp::create(b, l, tok, pos);
        });
    rewriter.replaceOp(op, x);
    return success();
  }
};

// out[b, t, ...] = in[max(steps[b, t], 1) - 1, b, t, ...]  (PonderNet's
// reported logits, MODEL.md §4; padding reads step 1, docs/contract-notes.md).
struct SelectStepLowering : OpConversionPattern<SelectStepOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SelectStepOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value input = adaptor.getInput();
    unsigned rank = op.getType().getRank();
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, input);
    sizes.erase(sizes.begin());
    Value out = generic(
        rewriter, loc, emptyOf(rewriter, loc, op.getType(), sizes),
        {adaptor.getSteps()},
        {dims(ctx, rank, {0, 1}), dims(ctx, rank, iota(rank))}, loops(rank),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value one = arith::ConstantIntOp::create(b, l, 1, 32);
          Value step = arith::SubIOp::create(
              b, l, arith::MaxSIOp::create(b, l, a[0], one), one);
          SmallVector<Value> index = {
              arith::IndexCastOp::create(b, l, b.getIndexType(), step)};
          for (unsigned d = 0; d < rank; ++d)
            index.push_back(linalg::IndexOp::create(b, l, d));
          return tensor::ExtractOp::create(b, l, input, index);
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// Five loops whose fourth is reduced: the reduced key (or query) index
/// outside the head channel e, which stays innermost and contiguous.
SmallVector<IteratorType> reductionFourth() {
  SmallVector<IteratorType> types = loops(3);
  types.append({IteratorType::reduction, IteratorType::parallel});
  return types;
}

/// [B, T, d] -> [B, T, H, E].
Value splitHeads(OpBuilder &b, Location loc, Value v, int64_t heads) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t headDim = type.getDimSize(2) / heads;
  auto splitType = RankedTensorType::get(
      {type.getDimSize(0), type.getDimSize(1), heads, headDim}, b.getF32Type());
  return tensor::ExpandShapeOp::create(
      b, loc, splitType, v, {{0}, {1}, {2, 3}},
      {sizeOf(b, loc, v, 0), sizeOf(b, loc, v, 1), b.getIndexAttr(heads),
       b.getIndexAttr(headDim)});
}

/// The unnormalised attention weights `e[b, h, i, j]` (exp(scale q.k - row
/// max) where visible, else 0) and their row sums `[B, H, T]`, from split
/// heads `q` [B, T, H, E] and `k` [B, Tk, H, E]. Query i of row b sits at
/// position start[b] + i and sees key j iff j <= start[b] + i and
/// j < start[b] + lengths[b].
std::pair<Value, Value> attentionWeights(OpBuilder &rewriter, Location loc,
                                         Value q, Value k, Value start,
                                         Value lengths) {
  MLIRContext *ctx = rewriter.getContext();
  auto qType = cast<RankedTensorType>(q.getType());
  int64_t heads = qType.getDimSize(2), headDim = qType.getDimSize(3);
  OpFoldResult batch = sizeOf(rewriter, loc, q, 0);
  OpFoldResult length = sizeOf(rewriter, loc, q, 1);
  OpFoldResult keyLength = sizeOf(rewriter, loc, k, 1);
  OpFoldResult h = rewriter.getIndexAttr(heads);
  SmallVector<OpFoldResult> scoreSizes = {batch, h, length, keyLength};
  SmallVector<OpFoldResult> rowSizes = {batch, h, length};

  // scores[b, h, i, j] = sum_e q[b, i, h, e] k[b, j, h, e]; loops b h i j e.
  Value scores =
      generic(rewriter, loc, filled(rewriter, loc, scoreSizes, 0.0), {q, k},
              {dims(ctx, 5, {0, 2, 1, 4}), dims(ctx, 5, {0, 3, 1, 4}),
               dims(ctx, 5, {0, 1, 2, 3})},
              loops(4, 1), [](OpBuilder &b, Location l, ValueRange a) -> Value {
                Value prod = arith::MulFOp::create(b, l, a[0], a[1]);
                return arith::AddFOp::create(b, l, a[2], prod);
              });

  Value scale = f32(rewriter, loc, 1.0 / std::sqrt(double(headDim)));
  auto visible = [](OpBuilder &b, Location l, Value start,
                    Value length) -> Value {
    Type index = b.getIndexType();
    Value first = arith::IndexCastOp::create(b, l, index, start);
    Value i =
        arith::AddIOp::create(b, l, first, linalg::IndexOp::create(b, l, 2));
    Value j = linalg::IndexOp::create(b, l, 3);
    Value end = arith::AddIOp::create(
        b, l, first, arith::IndexCastOp::create(b, l, index, length));
    return arith::AndIOp::create(
        b, l, arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule, j, i),
        arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, j, end));
  };
  AffineMap all4 = dims(ctx, 4, {0, 1, 2, 3});
  AffineMap batchOf4 = dims(ctx, 4, {0});
  AffineMap row4 = dims(ctx, 4, {0, 1, 2});

  // rowMax[b, h, i] = max over visible j of scale * scores.
  Value negInf = f32(rewriter, loc, -INFINITY);
  Value rowMax = generic(
      rewriter, loc, filled(rewriter, loc, rowSizes, -INFINITY),
      {scores, start, lengths}, {all4, batchOf4, batchOf4, row4}, loops(3, 1),
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value s = arith::MulFOp::create(b, l, a[0], scale);
        Value masked =
            arith::SelectOp::create(b, l, visible(b, l, a[1], a[2]), s, negInf);
        return arith::MaximumFOp::create(b, l, a[3], masked);
      });

  // e[b, h, i, j] = exp(scale * scores - rowMax) where visible, else 0.
  Value zero = f32(rewriter, loc, 0.0);
  Value e = generic(
      rewriter, loc,
      tensor::EmptyOp::create(rewriter, loc, scoreSizes, rewriter.getF32Type()),
      {scores, start, lengths, rowMax}, {all4, batchOf4, batchOf4, row4, all4},
      loops(4), [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value s = arith::MulFOp::create(b, l, a[0], scale);
        Value ex =
            math::ExpOp::create(b, l, arith::SubFOp::create(b, l, s, a[3]));
        return arith::SelectOp::create(b, l, visible(b, l, a[1], a[2]), ex,
                                       zero);
      });

  // rowSum[b, h, i] = sum_j e.
  Value rowSum = generic(rewriter, loc, filled(rewriter, loc, rowSizes, 0.0),
                         {e}, {all4, row4}, loops(3, 1),
                         [](OpBuilder &b, Location l, ValueRange a) -> Value {
                           return arith::AddFOp::create(b, l, a[1], a[0]);
                         });
  return {e, rowSum};
}

/// Causal multi-head attention with key padding (MODEL.md §4), as five
/// generics over [B, H, T, Tk] scores: q.k, masked row max, exp, row sum, and
/// the probability-weighted sum of values. `query` is [B, T, d], `key` and
/// `value` [B, Tk, d] (see attentionWeights for `start`). The CPU keeps
/// this form, whose generics vectorise; the GPU target takes the online
/// softmax of FusedAttention.cpp instead.
Value buildAttention(OpBuilder &rewriter, Location loc, RankedTensorType type,
                     int64_t heads, Value query, Value key, Value value,
                     Value start, Value lengths) {
  MLIRContext *ctx = rewriter.getContext();
  int64_t headDim = type.getDimSize(2) / heads;
  Value q = splitHeads(rewriter, loc, query, heads);
  Value v = splitHeads(rewriter, loc, value, heads);
  auto [e, rowSum] = attentionWeights(
      rewriter, loc, q, splitHeads(rewriter, loc, key, heads), start, lengths);
  // out[b, i, h, e] = sum_j e[b, h, i, j] / rowSum[b, h, i] * v[b, j, h, e];
  // loops b i h j e: e innermost, contiguous in v and out.
  Value heads4 = generic(
      rewriter, loc,
      filled(rewriter, loc,
             {sizeOf(rewriter, loc, query, 0), sizeOf(rewriter, loc, query, 1),
              rewriter.getIndexAttr(heads), rewriter.getIndexAttr(headDim)},
             0.0),
      {e, rowSum, v},
      {dims(ctx, 5, {0, 2, 1, 3}), dims(ctx, 5, {0, 2, 1}),
       dims(ctx, 5, {0, 3, 2, 4}), dims(ctx, 5, {0, 1, 2, 4})},
      reductionFourth(), [](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value w = arith::DivFOp::create(b, l, a[0], a[1]);
        return arith::AddFOp::create(b, l, a[3],
                                     arith::MulFOp::create(b, l, w, a[2]));
      });
  return tensor::CollapseShapeOp::create(rewriter, loc, type, heads4,
                                         {{0}, {1}, {2, 3}});
}

// The attention's VJP per head: with P = e / rowSum recomputed,
// dV = P^T dO, dP = dO V^T, dS = P (dP - rowsum(P dP)), dQ = scale dS K,
// dK = scale dS^T Q.
struct AttentionGradLowering : OpConversionPattern<AttentionGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getQuery().getType();
    if (ShapedType::isDynamic(type.getDimSize(2)) || op.getPositions())
      return rewriter.notifyMatchFailure(op, "needs every query, static width");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    int64_t heads = op.getHeads();
    int64_t headDim = type.getDimSize(2) / heads;
    Value lengths = adaptor.getLengths();
    Value q = splitHeads(rewriter, loc, adaptor.getQuery(), heads);
    Value k = splitHeads(rewriter, loc, adaptor.getKey(), heads);
    Value v = splitHeads(rewriter, loc, adaptor.getValue(), heads);
    Value dOut = splitHeads(rewriter, loc, adaptor.getResultGrad(), heads);
    auto [e, rowSum] = attentionWeights(
        rewriter, loc, q, k, zeroStarts(rewriter, loc, lengths), lengths);
    AffineMap all4 = dims(ctx, 4, {0, 1, 2, 3});
    AffineMap row4 = dims(ctx, 4, {0, 1, 2});
    SmallVector<OpFoldResult> scoreSizes =
        tensor::getMixedSizes(rewriter, loc, e);
    SmallVector<OpFoldResult> headSizes =
        tensor::getMixedSizes(rewriter, loc, q);
    Value p = generic(rewriter, loc,
                      tensor::EmptyOp::create(rewriter, loc, scoreSizes,
                                              rewriter.getF32Type()),
                      {e, rowSum}, {all4, row4, all4}, loops(4),
                      [](OpBuilder &b, Location l, ValueRange a) -> Value {
                        return arith::DivFOp::create(b, l, a[0], a[1]);
                      });
    // dV[b, j, h, e] = sum_i P[b, h, i, j] dO[b, i, h, e]; loops b j h i e.
    Value dV =
        generic(rewriter, loc, filled(rewriter, loc, headSizes, 0.0), {p, dOut},
                {dims(ctx, 5, {0, 2, 3, 1}), dims(ctx, 5, {0, 3, 2, 4}),
                 dims(ctx, 5, {0, 1, 2, 4})},
                reductionFourth(), multiplyAdd);
    // dP[b, h, i, j] = sum_e dO[b, i, h, e] V[b, j, h, e]; loops b h i j e.
    Value dP = generic(rewriter, loc, filled(rewriter, loc, scoreSizes, 0.0),
                       {dOut, v},
                       {dims(ctx, 5, {0, 2, 1, 4}), dims(ctx, 5, {0, 3, 1, 4}),
                        dims(ctx, 5, {0, 1, 2, 3})},
                       loops(4, 1), multiplyAdd);
    // rowDot[b, h, i] = sum_j P dP.
    Value rowDot =
        generic(rewriter, loc,
                filled(rewriter, loc, ArrayRef(scoreSizes).drop_back(), 0.0),
                {p, dP}, {all4, all4, row4}, loops(3, 1), multiplyAdd);
    // dS = scale P (dP - rowDot); masked entries have P = 0.
    Value scale = f32(rewriter, loc, 1.0 / std::sqrt(double(headDim)));
    Value dS =
        generic(rewriter, loc,
                tensor::EmptyOp::create(rewriter, loc, scoreSizes,
                                        rewriter.getF32Type()),
                {p, dP, rowDot}, {all4, all4, row4, all4}, loops(4),
                [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                  Value diff = arith::SubFOp::create(b, l, a[1], a[2]);
                  return arith::MulFOp::create(
                      b, l, scale, arith::MulFOp::create(b, l, a[0], diff));
                });
    // dQ[b, i, h, e] = sum_j dS[b, h, i, j] K[b, j, h, e]; loops b i h j e.
    Value dQ =
        generic(rewriter, loc, filled(rewriter, loc, headSizes, 0.0), {dS, k},
                {dims(ctx, 5, {0, 2, 1, 3}), dims(ctx, 5, {0, 3, 2, 4}),
                 dims(ctx, 5, {0, 1, 2, 4})},
                reductionFourth(), multiplyAdd);
    // dK[b, j, h, e] = sum_i dS[b, h, i, j] Q[b, i, h, e]; loops b j h i e.
    Value dK =
        generic(rewriter, loc, filled(rewriter, loc, headSizes, 0.0), {dS, q},
                {dims(ctx, 5, {0, 2, 3, 1}), dims(ctx, 5, {0, 3, 2, 4}),
                 dims(ctx, 5, {0, 1, 2, 4})},
                reductionFourth(), multiplyAdd);
    auto merge = [&](Value x) -> Value {
      return tensor::CollapseShapeOp::create(rewriter, loc, type, x,
                                             {{0}, {1}, {2, 3}});
    };
    rewriter.replaceOp(op, {merge(dQ), merge(dK), merge(dV)});
    return success();
  }
};

struct AttentionLowering : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (ShapedType::isDynamic(op.getType().getDimSize(2)) || op.getPositions())
      return rewriter.notifyMatchFailure(op, "needs every query, static width");
    Location loc = op.getLoc();
    Value out = buildAttention(
        rewriter, loc, op.getType(), op.getHeads(), adaptor.getQuery(),
        adaptor.getKey(), adaptor.getValue(),
        zeroStarts(rewriter, loc, adaptor.getLengths()), adaptor.getLengths());
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// Index `j - start` into the new positions, clamped into [0, count - 1] so
/// that the read is in bounds even where a select discards it.
Value clampedNewIndex(OpBuilder &b, Location l, Value j, Value start,
                      Value count) {
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value last = arith::SubIOp::create(b, l, count,
                                     arith::ConstantIndexOp::create(b, l, 1));
  Value jn = arith::SubIOp::create(b, l, j, start);
  return arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, jn, zero),
                                last);
}

// Cached decoding's attention: the keys (values) at step n of row b are
// cache[n, b, j] for the start[b] positions already cached, then the new
// positions' own; attention runs over the first max_b(start + lengths).
struct CachedAttentionLowering : OpConversionPattern<CachedAttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CachedAttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    if (ShapedType::isDynamic(type.getDimSize(2)))
      return rewriter.notifyMatchFailure(op, "model width must be static");
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value start = adaptor.getStart(), lengths = adaptor.getLengths();
    Type index = rewriter.getIndexType();

    // keyLength = max_b (start[b] + lengths[b]).
    Value end = generic(
        rewriter, loc,
        filledWith(rewriter, loc, {},
                   arith::ConstantIntOp::create(rewriter, loc, 0, 32)),
        {start, lengths},
        {dims(ctx, 1, {0}), dims(ctx, 1, {0}), AffineMap::get(1, 0, ctx)},
        loops(0, 1), [](OpBuilder &b, Location l, ValueRange a) -> Value {
          return arith::MaxSIOp::create(
              b, l, a[2], arith::AddIOp::create(b, l, a[0], a[1]));
        });
    Value keyLength = arith::IndexCastOp::create(
        rewriter, loc, index,
        tensor::ExtractOp::create(rewriter, loc, end, ValueRange{}));

    OpFoldResult batch = sizeOf(rewriter, loc, adaptor.getQuery(), 0);
    Value count = getValueOrCreateConstantIndexOp(
        rewriter, loc, sizeOf(rewriter, loc, adaptor.getQuery(), 1));
    Value step = adaptor.getStep();
    auto keysAt = [&](Value cache, Value fresh) -> Value {
      return generic(
          rewriter, loc,
          tensor::EmptyOp::create(
              rewriter, loc,
              {batch, OpFoldResult(keyLength), sizeOf(rewriter, loc, fresh, 2)},
              rewriter.getF32Type()),
          {start, lengths},
          {dims(ctx, 3, {0}), dims(ctx, 3, {0}), dims(ctx, 3, {0, 1, 2})},
          loops(3), [&](OpBuilder &b, Location l, ValueRange a) -> Value {
            Value row = linalg::IndexOp::create(b, l, 0);
            Value j = linalg::IndexOp::create(b, l, 1);
            Value c = linalg::IndexOp::create(b, l, 2);
            Value first = arith::IndexCastOp::create(b, l, index, a[0]);
            Value len = arith::IndexCastOp::create(b, l, index, a[1]);
            Value jn = clampedNewIndex(b, l, j, first, count);
            Value cached =
                tensor::ExtractOp::create(b, l, cache, {step, row, j, c});
            Value own = tensor::ExtractOp::create(b, l, fresh, {row, jn, c});
            Value isCached = arith::CmpIOp::create(
                b, l, arith::CmpIPredicate::ult, j, first);
            Value isOwn =
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, j,
                                      arith::AddIOp::create(b, l, first, len));
            return arith::SelectOp::create(
                b, l, isCached, cached,
                arith::SelectOp::create(b, l, isOwn, own, f32(b, l, 0.0)));
          });
    };
    Value keys = keysAt(adaptor.getKeyCache(), adaptor.getKey());
    Value values = keysAt(adaptor.getValueCache(), adaptor.getValue());
    Value out =
        buildAttention(rewriter, loc, type, op.getHeads(), adaptor.getQuery(),
                       keys, values, start, lengths);
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::ponder::populateLayerLoweringPatterns(RewritePatternSet &patterns) {
  patterns
      .add<EmbedLowering, StepEmbedLowering, RMSNormLowering, LinearLowering,
           GeluLowering, AttentionLowering, AttentionGradLowering,
           CachedAttentionLowering, SelectStepLowering>(patterns.getContext());
}

namespace {

struct ConvertPonderToLinalgPass
    : mlir::ponder::impl::ConvertPonderToLinalgBase<ConvertPonderToLinalgPass> {
  using ConvertPonderToLinalgBase::ConvertPonderToLinalgBase;

  void runOnOperation() final {
    MLIRContext *ctx = &getContext();
    // Layers first, so that the halting loop moves lowered bodies.
    ConversionTarget layers(*ctx);
    layers.addIllegalOp<
        EmbedOp, StepEmbedOp, RMSNormOp, LinearOp, GeluOp, AttentionOp,
        CachedAttentionOp, SelectStepOp, VerbalXentOp, PolicyLossOp,
        PonderCostOp, EmbedGradOp, StepEmbedGradOp, RMSNormGradOp, LinearGradOp,
        GeluGradOp, AttentionGradOp, SelectStepGradOp, VerbalXentGradOp,
        PolicyLossGradOp, PonderCostGradOp, ClipGlobalNormOp, AdamWOp,
        GatherPositionsOp, ScatterPositionsOp>();
    // Elementwise arith/math on tensors (the residual adds, the scalar loss
    // arithmetic) becomes linalg too, so the output is linalg end to end.
    layers.markUnknownOpDynamicallyLegal([](Operation *op) {
      return !OpTrait::hasElementwiseMappableTraits(op) ||
             llvm::none_of(op->getOperandTypes(), llvm::IsaPred<TensorType>);
    });
    RewritePatternSet layerPatterns(ctx);
    linalg::populateElementwiseToLinalgConversionPatterns(layerPatterns);
    populateLayerLoweringPatterns(layerPatterns);
    populatePositionsLoweringPatterns(layerPatterns);
    populateGatheredAttentionPatterns(
        layerPatterns, attentionLanes,
        /*everyQueryWhenMostRun=*/!fusedAttention);
    if (fusedAttention)
      populateFusedAttentionPatterns(layerPatterns, attentionLanes);
    populateLayerGradLoweringPatterns(layerPatterns);
    populateOptimizerLoweringPatterns(layerPatterns);
    populateLossLoweringPatterns(layerPatterns);
    if (failed(applyPartialConversion(getOperation(), layers,
                                      std::move(layerPatterns))))
      return signalPassFailure();

    ConversionTarget loops(*ctx);
    loops.addIllegalOp<HaltingLoopOp, HaltingLoopGradOp, ThoughtChainOp,
                       ThoughtChainGradOp, YieldOp>();
    loops.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet loopPatterns(ctx);
    populateHaltingLoopLoweringPatterns(loopPatterns);
    populateThoughtChainLoweringPatterns(loopPatterns);
    if (failed(applyPartialConversion(getOperation(), loops,
                                      std::move(loopPatterns))))
      return signalPassFailure();
  }
};

} // namespace
