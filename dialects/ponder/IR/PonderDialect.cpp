//===- PonderDialect.cpp - Ponder dialect and attributes ------------------===//

#include "dialects/ponder/IR/PonderDialect.h"
#include "dialects/ponder/IR/PonderOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ponder;

#include "dialects/ponder/IR/PonderDialect.cpp.inc"
#include "dialects/ponder/IR/PonderEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/ponder/IR/PonderAttrs.cpp.inc"

void PonderDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/ponder/IR/PonderAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/ponder/IR/PonderOps.cpp.inc"
      >();
}

Operation *PonderDialect::materializeConstant(OpBuilder &builder,
                                              Attribute value, Type type,
                                              Location loc) {
  auto typed = dyn_cast<TypedAttr>(value);
  if (!typed || typed.getType() != type)
    return nullptr;
  return arith::ConstantOp::create(builder, loc, type, typed);
}

LogicalResult VocabAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t verbal, int64_t think) {
  if (verbal < 1)
    return emitError() << "vocab: expected verbal >= 1 (at least one verbal "
                          "id), got "
                       << verbal;
  if (think < 0)
    return emitError() << "vocab: expected think >= 0, got " << think;
  return success();
}
