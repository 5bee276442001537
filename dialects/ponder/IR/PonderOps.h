//===- PonderOps.h - Ponder operations --------------------------*- C++ -*-===//

#ifndef PONDER_DIALECT_PONDEROPS_H
#define PONDER_DIALECT_PONDEROPS_H

#include "dialects/ponder/IR/PonderDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/ponder/IR/PonderInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialects/ponder/IR/PonderOps.h.inc"

#endif // PONDER_DIALECT_PONDEROPS_H
