//===- KernelIndexing.h - index arithmetic of generated kernels -*- C++ -*-===//

#ifndef PONDER_PASSES_GPU_KERNELINDEXING_H
#define PONDER_PASSES_GPU_KERNELINDEXING_H

#include "mlir/Dialect/Arith/IR/Arith.h"

namespace mlir::ponder {

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
