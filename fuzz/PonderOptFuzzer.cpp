//===- PonderOptFuzzer.cpp - Fuzz ponder-opt's parse and verify -----------===//
//
// Any bytes as MLIR text with the dialects of ponder IR registered (ponder,
// func, arith, tensor): parsing and verification must give a module or
// diagnostics, never crash. A module that verifies is printed, parsed again
// and must verify again (the custom assembly round-trips).
//
//===----------------------------------------------------------------------===//

#include "dialects/ponder/IR/PonderDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  DialectRegistry registry;
  registry.insert<ponder::PonderDialect, arith::ArithDialect, func::FuncDialect,
                  tensor::TensorDialect>();
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false);
  ScopedDiagnosticHandler quiet(&context,
                                [](Diagnostic &) { return success(); });
  // MLIR's lexer, like ponder-opt's file buffers, expects a NUL after the
  // text (libFuzzer's data has none).
  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
  if (!module || failed(verify(*module)))
    return 0;
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  OwningOpRef<ModuleOp> again = parseSourceString<ModuleOp>(printed, &context);
  if (!again || failed(verify(*again)))
    std::abort(); // printed IR that does not parse back
  return 0;
}
