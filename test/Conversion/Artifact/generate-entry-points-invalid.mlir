// A C interface with a non-pointer parameter is not one ponderc produced.
// RUN: not ponder-opt %s --ponder-generate-entry-points 2>&1 | FileCheck %s
// CHECK: expected a C interface taking only pointers
module {
  llvm.func @_mlir_ciface_bad(%x: i64) {
    llvm.return
  }
}
