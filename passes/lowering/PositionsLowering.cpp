//===- PositionsLowering.cpp - Gathered rows of a compacted halting loop --===//
//
// `ponder.gather_positions` becomes a linalg.generic over the packed rows
// that reads each row's source position; `ponder.scatter_positions` a loop
// that writes the packed rows back in place. (Attention over gathered
// queries is lowered with the fused attention, FusedAttention.cpp.)
//
//===----------------------------------------------------------------------===//

#include "dialects/ponder/IR/PonderOps.h"
#include "passes/lowering/LoweringUtils.h"
#include "passes/lowering/Patterns.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::ponder;
using namespace mlir::ponder::lowering;

namespace {

/// (b, t) of the flat position `p` (i32) in rows of `length`.
std::pair<Value, Value> rowAndColumn(OpBuilder &b, Location l, Value p,
                                     Value length) {
  Value flat = arith::IndexCastOp::create(b, l, b.getIndexType(), p);
  return {arith::DivUIOp::create(b, l, flat, length),
          arith::RemUIOp::create(b, l, flat, length)};
}

struct GatherPositionsLowering : OpConversionPattern<GatherPositionsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherPositionsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value input = adaptor.getInput(), positions = adaptor.getPositions();
    Value length = tensor::DimOp::create(rewriter, loc, input, 1);
    Value out = generic(
        rewriter, loc,
        emptyOf(rewriter, loc, op.getType(),
                {rewriter.getIndexAttr(1), sizeOf(rewriter, loc, positions, 0),
                 sizeOf(rewriter, loc, input, 2)}),
        {positions}, {dims(ctx, 3, {1}), dims(ctx, 3, {0, 1, 2})}, loops(3),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          auto [row, column] = rowAndColumn(b, l, a[0], length);
          return tensor::ExtractOp::create(
              b, l, input,
              ValueRange{row, column, linalg::IndexOp::create(b, l, 2)});
        });
    // The packed rows are [1, M, d]; the op's type keeps the input's.
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op.getType(), out);
    return success();
  }
};

struct ScatterPositionsLowering : OpConversionPattern<ScatterPositionsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScatterPositionsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value source = adaptor.getSource(), positions = adaptor.getPositions();
    Value length = tensor::DimOp::create(rewriter, loc, adaptor.getDest(), 1);
    OpFoldResult width = sizeOf(rewriter, loc, source, 2);
    OpFoldResult one = rewriter.getIndexAttr(1),
                 zero = rewriter.getIndexAttr(0);
    SmallVector<OpFoldResult> rowSizes = {one, one, width};
    SmallVector<OpFoldResult> unit = {one, one, one};
    auto loop = scf::ForOp::create(
        rewriter, loc, arith::ConstantIndexOp::create(rewriter, loc, 0),
        tensor::DimOp::create(rewriter, loc, positions, 0),
        arith::ConstantIndexOp::create(rewriter, loc, 1),
        ValueRange{adaptor.getDest()},
        [&](OpBuilder &b, Location l, Value m, ValueRange acc) {
          Value p = tensor::ExtractOp::create(b, l, positions, m);
          auto [row, column] = rowAndColumn(b, l, p, length);
          Value packed = tensor::ExtractSliceOp::create(
              b, l, source, SmallVector<OpFoldResult>{zero, m, zero}, rowSizes,
              unit);
          Value written = tensor::InsertSliceOp::create(
              b, l, packed, acc[0],
              SmallVector<OpFoldResult>{row, column, zero}, rowSizes, unit);
          scf::YieldOp::create(b, l, written);
        });
    rewriter.replaceOp(op, loop.getResult(0));
    return success();
  }
};

} // namespace

void mlir::ponder::populatePositionsLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns.add<GatherPositionsLowering, ScatterPositionsLowering>(
      patterns.getContext());
}
