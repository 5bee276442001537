//===- OptimizerLowering.cpp - clipping and AdamW -> linalg ---------------===//
//
// MODEL.md §7: global-norm gradient clipping and the AdamW update, as
// elementwise linalg.generic ops whose scalars (learning rate, bias
// corrections, clipping factor) are computed once outside the loops.
//
//===----------------------------------------------------------------------===//

#include "dialects/ponder/IR/PonderOps.h"
#include "passes/lowering/LoweringUtils.h"
#include "passes/lowering/Patterns.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::ponder;
using namespace mlir::ponder::lowering;

namespace {

AffineMap identity(MLIRContext *ctx, unsigned rank) {
  return dims(ctx, rank, iota(rank));
}

/// sum of x^2 over every element, as an f32 value.
Value sumOfSquares(OpBuilder &b, Location l, Value x) {
  MLIRContext *ctx = b.getContext();
  unsigned rank = cast<RankedTensorType>(x.getType()).getRank();
  Value sum = generic(
      b, l, filled(b, l, {}, 0.0), {x},
      {identity(ctx, rank), AffineMap::get(rank, 0, ctx)}, loops(0, rank),
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::AddFOp::create(nb, nl, a[1],
                                     arith::MulFOp::create(nb, nl, a[0], a[0]));
      });
  return tensor::ExtractOp::create(b, l, sum, ValueRange{});
}

// norm = sqrt(sum g^2); g' = g min(1, max_norm / (norm + 1e-6)).
struct ClipGlobalNormLowering : OpConversionPattern<ClipGlobalNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ClipGlobalNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value total = f32(rewriter, l, 0.0);
    for (Value g : adaptor.getGrads())
      total = arith::AddFOp::create(rewriter, l, total,
                                    sumOfSquares(rewriter, l, g));
    Value norm = math::SqrtOp::create(rewriter, l, total);
    Value factor = arith::MinimumFOp::create(
        rewriter, l, f32(rewriter, l, 1.0),
        arith::DivFOp::create(
            rewriter, l, f32(rewriter, l, op.getMaxNorm().convertToDouble()),
            arith::AddFOp::create(rewriter, l, norm, f32(rewriter, l, 1e-6))));
    SmallVector<Value> results;
    for (Value g : adaptor.getGrads()) {
      auto type = cast<RankedTensorType>(g.getType());
      unsigned rank = type.getRank();
      results.push_back(generic(
          rewriter, l,
          emptyOf(rewriter, l, type, tensor::getMixedSizes(rewriter, l, g)),
          {g}, {identity(ctx, rank), identity(ctx, rank)}, loops(rank),
          [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            return arith::MulFOp::create(nb, nl, a[0], factor);
          }));
    }
    results.push_back(tensor::FromElementsOp::create(
        rewriter, l, RankedTensorType::get({}, rewriter.getF32Type()),
        ValueRange{norm}));
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct AdamWLowering : OpConversionPattern<AdamWOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AdamWOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    double b1 = op.getBeta1().convertToDouble();
    double b2 = op.getBeta2().convertToDouble();
    double eps = op.getEpsilon().convertToDouble();
    // Bias corrections 1 - beta^t, computed once.
    Value t = arith::SIToFPOp::create(rewriter, l, rewriter.getF32Type(),
                                      adaptor.getStep());
    auto correction = [&](double beta) -> Value {
      return arith::SubFOp::create(
          rewriter, l, f32(rewriter, l, 1.0),
          math::PowFOp::create(rewriter, l, f32(rewriter, l, beta), t));
    };
    Value c1 = correction(b1), c2 = correction(b2);
    Value lr = adaptor.getLr(), decay = adaptor.getWeightDecay();
    Value p = adaptor.getParam();
    auto type = cast<RankedTensorType>(p.getType());
    unsigned rank = type.getRank();
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, l, p);
    SmallVector<Value> inits(3, emptyOf(rewriter, l, type, sizes));
    SmallVector<Value> r = genericN(
        rewriter, l, inits,
        {p, adaptor.getGrad(), adaptor.getM(), adaptor.getV()},
        SmallVector<AffineMap>(7, identity(ctx, rank)), loops(rank),
        [&](OpBuilder &b, Location nl, ValueRange a) -> SmallVector<Value> {
          Value g = a[1];
          Value m = arith::AddFOp::create(
              b, nl, arith::MulFOp::create(b, nl, f32(b, nl, b1), a[2]),
              arith::MulFOp::create(b, nl, f32(b, nl, 1 - b1), g));
          Value v = arith::AddFOp::create(
              b, nl, arith::MulFOp::create(b, nl, f32(b, nl, b2), a[3]),
              arith::MulFOp::create(b, nl, f32(b, nl, 1 - b2),
                                    arith::MulFOp::create(b, nl, g, g)));
          Value mHat = arith::DivFOp::create(b, nl, m, c1);
          Value vHat = arith::DivFOp::create(b, nl, v, c2);
          Value step = arith::DivFOp::create(
              b, nl, mHat,
              arith::AddFOp::create(b, nl, math::SqrtOp::create(b, nl, vHat),
                                    f32(b, nl, eps)));
          Value update = arith::AddFOp::create(
              b, nl, arith::MulFOp::create(b, nl, decay, a[0]), step);
          Value next = arith::SubFOp::create(
              b, nl, a[0], arith::MulFOp::create(b, nl, lr, update));
          return {next, m, v};
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

} // namespace

void mlir::ponder::populateOptimizerLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ClipGlobalNormLowering, AdamWLowering>(patterns.getContext());
}
