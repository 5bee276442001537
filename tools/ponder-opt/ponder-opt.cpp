//===- ponder-opt.cpp - The Ponder optimizer driver -----------------------===//
//
// mlir-opt with the ponder dialect and the dialects and passes of Ponder's
// pipeline: `ponder-opt --help`, `--pass-pipeline=...`,
// `--mlir-print-ir-after-all`, `-split-input-file`, `-verify-diagnostics`.
//
//===----------------------------------------------------------------------===//

#include "tools/registration/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  ponder::registerPonderDialects(registry);
  ponder::registerPonderPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Ponder optimizer driver\n", registry));
}
