//===- PonderVJP.h - Differentiation models for other dialects --*- C++ -*-===//

#ifndef PONDER_DIALECT_PONDERVJP_H
#define PONDER_DIALECT_PONDERVJP_H

#include "mlir/IR/Builders.h"

namespace mlir {
class DialectRegistry;
namespace ponder {

/// An f32 tensor of zeros shaped like `like` at run time (its type too):
/// the cotangent of a value nothing reaches.
Value zerosLike(OpBuilder &b, Location loc, Value like);

/// Makes arith.addf, arith.subf and arith.mulf DifferentiableOpInterface ops.
void registerDifferentiableArithModels(DialectRegistry &registry);

} // namespace ponder
} // namespace mlir

#endif // PONDER_DIALECT_PONDERVJP_H
