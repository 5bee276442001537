//===- PonderVJP.h - Differentiation models for other dialects --*- C++ -*-===//

#ifndef PONDER_DIALECT_PONDERVJP_H
#define PONDER_DIALECT_PONDERVJP_H

namespace mlir {
class DialectRegistry;
namespace ponder {

/// Makes arith.addf, arith.subf and arith.mulf DifferentiableOpInterface ops.
void registerDifferentiableArithModels(DialectRegistry &registry);

} // namespace ponder
} // namespace mlir

#endif // PONDER_DIALECT_PONDERVJP_H
