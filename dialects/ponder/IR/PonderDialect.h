//===- PonderDialect.h - Ponder dialect -------------------------*- C++ -*-===//

#ifndef PONDER_DIALECT_PONDERDIALECT_H
#define PONDER_DIALECT_PONDERDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "dialects/ponder/IR/PonderDialect.h.inc"
#include "dialects/ponder/IR/PonderEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/ponder/IR/PonderAttrs.h.inc"

#endif // PONDER_DIALECT_PONDERDIALECT_H
