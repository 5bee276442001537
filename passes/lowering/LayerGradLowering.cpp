//===- LayerGradLowering.cpp - gradients of the layers -> linalg ----------===//
//
// The vector-Jacobian products of embed, step_embed, rms_norm, linear, gelu
// and select_step (PonderGradOps.td) as linalg.generic ops on tensors, named
// by loop dimension as in PonderToLinalg.cpp. Attention's VJP lives with the
// forward attention, whose weights it recomputes.
//
//===----------------------------------------------------------------------===//

#include "dialects/ponder/IR/PonderOps.h"
#include "passes/lowering/LoweringUtils.h"
#include "passes/lowering/Patterns.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ponder;
using namespace mlir::ponder::lowering;

namespace {

/// dims 0 .. n-1 followed by `extra`.
SmallVector<unsigned> leadingThen(unsigned n, ArrayRef<unsigned> extra) {
  SmallVector<unsigned> d = iota(n);
  d.append(extra.begin(), extra.end());
  return d;
}

/// out[...] = sum over the leading dims of `x` [..., d] -> [d].
Value sumLeading(OpBuilder &b, Location l, Value x) {
  MLIRContext *ctx = b.getContext();
  unsigned rank = cast<RankedTensorType>(x.getType()).getRank();
  // Loops: c (the channel) first, then the leading dims as reductions.
  SmallVector<unsigned> xDims;
  for (unsigned i = 1; i < rank; ++i)
    xDims.push_back(i);
  xDims.push_back(0);
  return generic(b, l, filled(b, l, {sizeOf(b, l, x, rank - 1)}, 0.0), {x},
                 {dims(ctx, rank, xDims), dims(ctx, rank, {0})},
                 loops(1, rank - 1),
                 [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                   return arith::AddFOp::create(nb, nl, a[1], a[0]);
                 });
}

/// A zero tensor with the sizes of `like`.
Value zerosLike(OpBuilder &b, Location l, Value like) {
  return filled(b, l, tensor::getMixedSizes(b, l, like), 0.0);
}

// dx[..., i] = sum_o dy[..., o] W[o, i];
// dW[o, i] = sum over leading dims of dy[..., o] x[..., i].
struct LinearGradLowering : OpConversionPattern<LinearGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LinearGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value dy = adaptor.getResultGrad(), x = adaptor.getInput();
    Value w = adaptor.getWeight();
    unsigned r = op.getInput().getType().getRank();
    // The loop order puts a contiguous, unreduced dimension innermost (as
    // linalg-to-loops keeps it): rank-1 updates that vectorise.
    // dx loops: the leading dims, o (reduced), then i.
    SmallVector<IteratorType> dxLoops = loops(r - 1);
    dxLoops.append({IteratorType::reduction, IteratorType::parallel});
    SmallVector<unsigned> outDims = leadingThen(r - 1, {r});
    Value dx =
        generic(rewriter, l, zerosLike(rewriter, l, x), {dy, w},
                {dims(ctx, r + 1, leadingThen(r - 1, {r - 1})),
                 dims(ctx, r + 1, {r - 1, r}), dims(ctx, r + 1, outDims)},
                dxLoops, multiplyAdd);
    // dw loops: the leading dims (reduced), o, then i.
    SmallVector<IteratorType> dwLoops(r - 1, IteratorType::reduction);
    dwLoops.append(2, IteratorType::parallel);
    Value dw = generic(rewriter, l, zerosLike(rewriter, l, w), {dy, x},
                       {dims(ctx, r + 1, leadingThen(r - 1, {r - 1})),
                        dims(ctx, r + 1, leadingThen(r - 1, {r})),
                        dims(ctx, r + 1, {r - 1, r})},
                       dwLoops, multiplyAdd);
    rewriter.replaceOp(op, {dx, dw});
    return success();
  }
};

// r = 1 / sqrt(mean(x^2) + eps), g = dy w:
// dx = r g - (r^3 / D) x (g . x); dw = sum over leading dims of dy x r.
struct RMSNormGradLowering : OpConversionPattern<RMSNormGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RMSNormGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value dy = adaptor.getResultGrad(), x = adaptor.getInput();
    Value w = adaptor.getWeight();
    unsigned r = op.getInput().getType().getRank();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, l, x);
    SmallVector<OpFoldResult> outer(sizes.begin(), sizes.end() - 1);
    AffineMap all = dims(ctx, r, iota(r)), row = dims(ctx, r, iota(r - 1));
    AffineMap channel = dims(ctx, r, {r - 1});
    // sumsq = sum x^2 and gx = sum dy w x, per row.
    SmallVector<Value> sums = genericN(
        rewriter, l,
        {filled(rewriter, l, outer, 0.0), filled(rewriter, l, outer, 0.0)},
        {x, dy, w}, {all, all, channel, row, row}, loops(r - 1, 1),
        [](OpBuilder &b, Location nl, ValueRange a) -> SmallVector<Value> {
          Value sq = arith::MulFOp::create(b, nl, a[0], a[0]);
          Value g = arith::MulFOp::create(b, nl, a[1], a[2]);
          return {arith::AddFOp::create(b, nl, a[3], sq),
                  arith::AddFOp::create(b, nl, a[4],
                                        arith::MulFOp::create(b, nl, g, a[0]))};
        });
    Value width = sizeAsF32(rewriter, l, x, r - 1);
    Value eps = f32(rewriter, l, op.getEpsilon().convertToDouble());
    auto rms = [&](OpBuilder &b, Location nl, Value sumsq) -> Value {
      Value mean = arith::DivFOp::create(b, nl, sumsq, width);
      return math::RsqrtOp::create(b, nl,
                                   arith::AddFOp::create(b, nl, mean, eps));
    };
    Value dx = generic(
        rewriter, l, emptyOf(rewriter, l, op.getInput().getType(), sizes),
        {x, dy, w, sums[0], sums[1]}, {all, all, channel, row, row, all},
        loops(r), [&](OpBuilder &b, Location nl, ValueRange a) -> Value {
          Value inv = rms(b, nl, a[3]);
          Value g = arith::MulFOp::create(b, nl, a[1], a[2]);
          Value inv3 = arith::MulFOp::create(
              b, nl, inv, arith::MulFOp::create(b, nl, inv, inv));
          Value corr = arith::MulFOp::create(
              b, nl, arith::DivFOp::create(b, nl, inv3, width),
              arith::MulFOp::create(b, nl, a[0], a[4]));
          return arith::SubFOp::create(
              b, nl, arith::MulFOp::create(b, nl, inv, g), corr);
        });
    // dw: loops c, then the leading dims (reduced).
    SmallVector<unsigned> lead;
    for (unsigned i = 1; i < r; ++i)
      lead.push_back(i);
    SmallVector<unsigned> xDims = lead;
    xDims.push_back(0);
    Value dw = generic(rewriter, l, zerosLike(rewriter, l, w), {x, dy, sums[0]},
                       {dims(ctx, r, xDims), dims(ctx, r, xDims),
                        dims(ctx, r, lead), dims(ctx, r, {0})},
                       loops(1, r - 1),
                       [&](OpBuilder &b, Location nl, ValueRange a) -> Value {
                         Value t = arith::MulFOp::create(
                             b, nl, arith::MulFOp::create(b, nl, a[0], a[1]),
                             rms(b, nl, a[2]));
                         return arith::AddFOp::create(b, nl, a[3], t);
                       });
    rewriter.replaceOp(op, {dx, dw});
    return success();
  }
};

// GELU'(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 k x^2),
// t = tanh(c (x + k x^3)), c = sqrt(2 / pi), k = 0.044715.
struct GeluGradLowering : OpConversionPattern<GeluGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GeluGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    unsigned r = op.getInput().getType().getRank();
    AffineMap all = dims(ctx, r, iota(r));
    double c = std::sqrt(2.0 / M_PI), k = 0.044715;
    Value dx = generic(
        rewriter, l,
        emptyOf(rewriter, l, op.getInput().getType(),
                tensor::getMixedSizes(rewriter, l, x)),
        {adaptor.getResultGrad(), x}, {all, all, all}, loops(r),
        [&](OpBuilder &b, Location nl, ValueRange a) -> Value {
          Value v = a[1];
          Value v2 = arith::MulFOp::create(b, nl, v, v);
          Value inner = arith::MulFOp::create(
              b, nl, f32(b, nl, c),
              arith::AddFOp::create(
                  b, nl, v,
                  arith::MulFOp::create(b, nl, f32(b, nl, k),
                                        arith::MulFOp::create(b, nl, v2, v))));
          Value t = math::TanhOp::create(b, nl, inner);
          Value one = f32(b, nl, 1.0), half = f32(b, nl, 0.5);
          Value left = arith::MulFOp::create(
              b, nl, half, arith::AddFOp::create(b, nl, one, t));
          Value sech2 = arith::SubFOp::create(
              b, nl, one, arith::MulFOp::create(b, nl, t, t));
          Value slope = arith::MulFOp::create(
              b, nl, f32(b, nl, c),
              arith::AddFOp::create(
                  b, nl, one,
                  arith::MulFOp::create(b, nl, f32(b, nl, 3 * k), v2)));
          Value right = arith::MulFOp::create(
              b, nl, arith::MulFOp::create(b, nl, half, v),
              arith::MulFOp::create(b, nl, sech2, slope));
          return arith::MulFOp::create(
              b, nl, a[0], arith::AddFOp::create(b, nl, left, right));
        });
    rewriter.replaceOp(op, dx);
    return success();
  }
};

// token_grad[v, c] = sum_{b, t} [ids[b, t] == v] dx[b, t, c];
// position_grad[t, c] = sum_b dx[b, t, c] for t < T, 0 after. With thoughts,
// the positions that read one (MODEL.md §9) give their dx to thoughts_grad
// instead of the token table.
/// token_grad[v, :] = the sum of dx[b, t, :] over the positions whose id is
/// v (and that read no thought): a scatter-add, O(B T d) whatever the
/// vocabulary. Blocks of channels run in parallel, each adding its
/// positions in (b, t) order.
Value tokenGrad(OpBuilder &b, Location l, RankedTensorType type, Value dx,
                Value ids, bool thoughts, int64_t verbal) {
  int64_t vocab = type.getDimSize(0), width = type.getDimSize(1);
  int64_t chunk = 16;
  while (width % chunk)
    chunk /= 2;
  auto index = [&](OpBuilder &nb, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(nb, l, v);
  };
  Value dxBuf = bufferOf(b, l, dx), idsBuf = bufferOf(b, l, ids);
  Value batch = tensor::DimOp::create(b, l, dx, 0);
  Value length = tensor::DimOp::create(b, l, dx, 1);
  Value out = memref::AllocOp::create(
      b, l, MemRefType::get(type.getShape(), b.getF32Type()));
  auto forEach = [&](OpBuilder &nb, Value end,
                     function_ref<void(OpBuilder &, Value)> body) {
    scf::ForOp::create(nb, l, index(nb, 0), end, index(nb, 1), ValueRange{},
                       [&](OpBuilder &ib, Location, Value i, ValueRange) {
                         body(ib, i);
                         scf::YieldOp::create(ib, l);
                       });
  };
  scf::ParallelOp::create(
      b, l, index(b, 0), index(b, width / chunk), index(b, 1),
      [&](OpBuilder &nb, Location, ValueRange ivs) {
        Value c0 = arith::MulIOp::create(nb, l, ivs[0], index(nb, chunk));
        auto channels = [&](OpBuilder &ib,
                            function_ref<void(OpBuilder &, Value)> body) {
          forEach(ib, index(ib, chunk), [&](OpBuilder &cb, Value e) {
            body(cb, arith::AddIOp::create(cb, l, c0, e));
          });
        };
        forEach(nb, index(nb, vocab), [&](OpBuilder &vb, Value v) {
          channels(vb, [&](OpBuilder &cb, Value c) {
            memref::StoreOp::create(cb, l, f32(cb, l, 0.0), out, {v, c});
          });
        });
        forEach(nb, batch, [&](OpBuilder &bb, Value row) {
          forEach(bb, length, [&](OpBuilder &tb, Value t) {
            Value id = memref::LoadOp::create(tb, l, idsBuf, {row, t});
            Value adds = arith::ConstantIntOp::create(tb, l, 1, 1);
            if (thoughts)
              adds = arith::XOrIOp::create(
                  tb, l, readsThought(tb, l, id, t, verbal), adds);
            scf::IfOp::create(tb, l, adds, [&](OpBuilder &ab, Location) {
              Value v =
                  arith::IndexCastOp::create(ab, l, ab.getIndexType(), id);
              channels(ab, [&](OpBuilder &cb, Value c) {
                Value sum = arith::AddFOp::create(
                    cb, l, memref::LoadOp::create(cb, l, out, {v, c}),
                    memref::LoadOp::create(cb, l, dxBuf, {row, t, c}));
                memref::StoreOp::create(cb, l, sum, out, {v, c});
              });
              scf::YieldOp::create(ab, l);
            });
          });
        });
      });
  return asTensor(b, l, type, out);
}

struct EmbedGradLowering : OpConversionPattern<EmbedGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(EmbedGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value dx = adaptor.getResultGrad(), ids = adaptor.getIds();
    auto tokenType = cast<RankedTensorType>(op.getTokenGrad().getType());
    auto positionType = cast<RankedTensorType>(op.getPositionGrad().getType());
    bool thoughts = op.getThoughts();
    int64_t verbal = op.getVocab().getVerbal();
    Value token = tokenGrad(rewriter, l, tokenType, dx, ids, thoughts, verbal);
    // Loops t, c, b (b reduced) over the first T positions.
    OpFoldResult length = sizeOf(rewriter, l, dx, 1);
    OpFoldResult width = rewriter.getIndexAttr(positionType.getDimSize(1));
    Value rows =
        generic(rewriter, l, filled(rewriter, l, {length, width}, 0.0), {dx},
                {dims(ctx, 3, {2, 0, 1}), dims(ctx, 3, {0, 1})}, loops(2, 1),
                [](OpBuilder &b, Location nl, ValueRange a) -> Value {
                  return arith::AddFOp::create(b, nl, a[1], a[0]);
                });
    Value zero =
        filled(rewriter, l,
               {rewriter.getIndexAttr(positionType.getDimSize(0)), width}, 0.0);
    Value position = tensor::InsertSliceOp::create(
        rewriter, l, rows, zero,
        {rewriter.getIndexAttr(0), rewriter.getIndexAttr(0)}, {length, width},
        {rewriter.getIndexAttr(1), rewriter.getIndexAttr(1)});
    SmallVector<Value> results = {token, position};
    if (thoughts)
      results.push_back(thoughtsGrad(rewriter, l, dx, ids, verbal));
    rewriter.replaceOp(op, results);
    return success();
  }

private:
  /// dx where a position reads a thought, 0 elsewhere.
  static Value thoughtsGrad(OpBuilder &b, Location l, Value dx, Value ids,
                            int64_t verbal) {
    MLIRContext *ctx = b.getContext();
    return generic(
        b, l,
        tensor::EmptyOp::create(b, l, tensor::getMixedSizes(b, l, dx),
                                b.getF32Type()),
        {dx, ids},
        {dims(ctx, 3, {0, 1, 2}), dims(ctx, 3, {0, 1}),
         dims(ctx, 3, {0, 1, 2})},
        loops(3), [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value reads = readsThought(
              nb, nl, a[1], linalg::IndexOp::create(nb, nl, 1), verbal);
          return arith::SelectOp::create(nb, nl, reads, a[0], f32(nb, nl, 0));
        });
  }
};

// table_grad[n] = sum over positions of du; other rows 0.
struct StepEmbedGradLowering : OpConversionPattern<StepEmbedGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(StepEmbedGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Value row = sumLeading(rewriter, l, adaptor.getResultGrad());
    Value zero = filled(rewriter, l,
                        {rewriter.getIndexAttr(type.getDimSize(0)),
                         rewriter.getIndexAttr(type.getDimSize(1))},
                        0.0);
    Value table = tensor::InsertSliceOp::create(
        rewriter, l, row, zero, {adaptor.getStep(), rewriter.getIndexAttr(0)},
        {rewriter.getIndexAttr(1), rewriter.getIndexAttr(type.getDimSize(1))},
        {rewriter.getIndexAttr(1), rewriter.getIndexAttr(1)});
    rewriter.replaceOp(op, table);
    return success();
  }
};

// input_grad[n, b, t, ...] = result_grad[b, t, ...] at n = max(steps, 1) - 1.
struct SelectStepGradLowering : OpConversionPattern<SelectStepGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SelectStepGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    unsigned r = type.getRank();
    Value dy = adaptor.getResultGrad();
    SmallVector<OpFoldResult> sizes = {
        rewriter.getIndexAttr(type.getDimSize(0))};
    for (unsigned d = 0; d + 1 < r; ++d)
      sizes.push_back(sizeOf(rewriter, l, dy, d));
    SmallVector<unsigned> inner;
    for (unsigned d = 1; d < r; ++d)
      inner.push_back(d);
    Value grad = generic(
        rewriter, l, emptyOf(rewriter, l, type, sizes),
        {dy, adaptor.getSteps()},
        {dims(ctx, r, inner), dims(ctx, r, {1, 2}), dims(ctx, r, iota(r))},
        loops(r), [](OpBuilder &b, Location nl, ValueRange a) -> Value {
          Value one = arith::ConstantIntOp::create(b, nl, 1, 32);
          Value step = arith::SubIOp::create(
              b, nl, arith::MaxSIOp::create(b, nl, a[1], one), one);
          Value n = arith::IndexCastOp::create(
              b, nl, b.getI32Type(), linalg::IndexOp::create(b, nl, 0));
          Value hit =
              arith::CmpIOp::create(b, nl, arith::CmpIPredicate::eq, n, step);
          return arith::SelectOp::create(b, nl, hit, a[0], f32(b, nl, 0.0));
        });
    rewriter.replaceOp(op, grad);
    return success();
  }
};

} // namespace

void mlir::ponder::populateLayerGradLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns
      .add<LinearGradLowering, RMSNormGradLowering, GeluGradLowering,
           EmbedGradLowering, StepEmbedGradLowering, SelectStepGradLowering>(
          patterns.getContext());
}
