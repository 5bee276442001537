//===- LoweringUtils.h - Builders of the ponder lowerings -------*- C++ -*-===//
//
// Small builders for linalg.generic ops on tensors: empty and filled tensors,
// indexing maps from dimension lists, iterator lists, one-result generics.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_PASSES_LOWERING_LOWERINGUTILS_H
#define PONDER_PASSES_LOWERING_LOWERINGUTILS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::ponder::lowering {

using utils::IteratorType;

/// The size of dimension `dim` of `value`: a constant when static.
inline OpFoldResult sizeOf(OpBuilder &b, Location loc, Value value,
                           int64_t dim) {
  return tensor::getMixedSize(b, loc, value, dim);
}

/// A `tensor.empty` of `type` whose dynamic dimensions are `sizes[i]`.
inline Value emptyOf(OpBuilder &b, Location loc, RankedTensorType type,
                     ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> mixed;
  for (auto [i, size] : llvm::enumerate(type.getShape()))
    mixed.push_back(ShapedType::isDynamic(size) ? sizes[i]
                                                : b.getIndexAttr(size));
  return tensor::EmptyOp::create(b, loc, mixed, type.getElementType());
}

/// A read-only view of a tensor operand, for loops written on memrefs.
inline Value bufferOf(OpBuilder &b, Location loc, Value tensor) {
  auto type = bufferization::getMemRefTypeWithFullyDynamicLayout(
      cast<TensorType>(tensor.getType()));
  return bufferization::ToBufferOp::create(b, loc, type, tensor,
                                           /*read_only=*/true);
}

/// Like bufferOf, with a unit innermost stride, as vector loads need
/// (bufferization copies a view that has another).
inline Value rowsBufferOf(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  strides.back() = 1;
  auto layout =
      StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, strides);
  return bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(type.getShape(), type.getElementType(), layout),
      tensor, /*read_only=*/true);
}

/// A fresh buffer written by such loops, as the tensor one-shot
/// bufferization takes as it is.
inline Value asTensor(OpBuilder &b, Location loc, RankedTensorType type,
                      Value buffer) {
  return bufferization::ToTensorOp::create(b, loc, type, buffer,
                                           /*restrict=*/true,
                                           /*writable=*/true);
}

/// A tensor of `sizes` filled with the f32 `value`.
inline Value filled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                    double value) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  Value fill = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(static_cast<float>(value)));
  return linalg::FillOp::create(b, loc, fill, empty).getResult(0);
}

/// The map from `numDims` loop dimensions to the listed ones.
/// A tensor of `sizes` filled with the scalar `value` (of any element type).
inline Value filledWith(OpBuilder &b, Location loc,
                        ArrayRef<OpFoldResult> sizes, Value value) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, value.getType());
  return linalg::FillOp::create(b, loc, value, empty).getResult(0);
}

inline AffineMap dims(MLIRContext *ctx, unsigned numDims,
                      ArrayRef<unsigned> which) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : which)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(numDims, 0, exprs, ctx);
}

/// `parallel` parallel loops followed by `reduction` reduction loops.
inline SmallVector<IteratorType> loops(unsigned parallel,
                                       unsigned reduction = 0) {
  SmallVector<IteratorType> types(parallel, IteratorType::parallel);
  types.append(reduction, IteratorType::reduction);
  return types;
}

/// 0, 1, ..., n - 1.
inline SmallVector<unsigned> iota(unsigned n) {
  SmallVector<unsigned> result(n);
  for (unsigned i = 0; i < n; ++i)
    result[i] = i;
  return result;
}

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// A one-result `linalg.generic` whose region yields `body(args)`.
inline Value generic(OpBuilder &b, Location loc, Value init, ValueRange inputs,
                     ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iterators,
                     BodyFn body) {
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, body(nb, nloc, args));
      });
  return op.getResult(0);
}

/// The body of a generic that accumulates products: out + in0 * in1.
inline Value multiplyAdd(OpBuilder &b, Location loc, ValueRange args) {
  return arith::AddFOp::create(b, loc, args[2],
                               arith::MulFOp::create(b, loc, args[0], args[1]));
}

using MultiBodyFn =
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)>;

/// A `linalg.generic` with one result per init, yielding `body(args)`.
inline SmallVector<Value> genericN(OpBuilder &b, Location loc, ValueRange inits,
                                   ValueRange inputs, ArrayRef<AffineMap> maps,
                                   ArrayRef<IteratorType> iterators,
                                   MultiBodyFn body) {
  auto op = linalg::GenericOp::create(
      b, loc, inits.getTypes(), inputs, inits, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, body(nb, nloc, args));
      });
  return SmallVector<Value>(op.getResults());
}

inline Value f32(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(static_cast<float>(value)));
}

/// Whether the token `id` (i32) at absolute `position` (index) reads a
/// thought under the hidden channel (MODEL.md §9): a think id, not at 0.
inline Value readsThought(OpBuilder &b, Location loc, Value id, Value position,
                          int64_t verbal) {
  Value isThink =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, id,
                            arith::ConstantIntOp::create(b, loc, verbal, 32));
  Value notFirst =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, position,
                            arith::ConstantIndexOp::create(b, loc, 1));
  return arith::AndIOp::create(b, loc, isThink, notFirst);
}

/// `dim` of `value` as an f32 (for means over a possibly dynamic width).
inline Value sizeAsF32(OpBuilder &b, Location loc, Value value, int64_t dim) {
  int64_t size = cast<RankedTensorType>(value.getType()).getDimSize(dim);
  if (!ShapedType::isDynamic(size))
    return f32(b, loc, static_cast<double>(size));
  Value index = tensor::DimOp::create(b, loc, value, dim);
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), i64);
}

} // namespace mlir::ponder::lowering

#endif // PONDER_PASSES_LOWERING_LOWERINGUTILS_H
