//===- KernelIndexing.h - index arithmetic of generated kernels -*- C++ -*-===//

#ifndef PONDER_PASSES_GPU_KERNELINDEXING_H
#define PONDER_PASSES_GPU_KERNELINDEXING_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"

namespace mlir::ponder {

/// The extent of every loop of `op`, as index values.
inline SmallVector<Value> loopExtents(OpBuilder &b, Location loc,
                                      linalg::LinalgOp op) {
  SmallVector<Value> sizes;
  for (Range r : op.createLoopRanges(b, loc))
    sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
  return sizes;
}

/// The product of `values` (1 for none): the extent of their flattening.
inline Value product(OpBuilder &b, Location loc, ArrayRef<Value> values) {
  Value p = arith::ConstantIndexOp::create(b, loc, 1);
  for (Value v : values)
    p = arith::MulIOp::create(b, loc, p, v);
  return p;
}

/// The indices of `flat` in a row-major flattening of `sizes` (innermost
/// last): how one flat thread or tile index covers several loop dimensions.
inline SmallVector<Value> delinearize(OpBuilder &b, Location loc, Value flat,
                                      ArrayRef<Value> sizes) {
  SmallVector<Value> indices(sizes.size());
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i > 0; --i) {
    indices[i] = arith::RemUIOp::create(b, loc, flat, sizes[i]);
    flat = arith::DivUIOp::create(b, loc, flat, sizes[i]);
  }
  indices[0] = flat;
  return indices;
}

} // namespace mlir::ponder

#endif // PONDER_PASSES_GPU_KERNELINDEXING_H
