// Every C interface gets a uniform ponder_entry_NAME(void **args) wrapper that
// loads each argument pointer and calls it (docs/artifact-abi.md).
// RUN: ponder-opt %s --ponder-generate-entry-points | FileCheck %s

// CHECK-LABEL: llvm.func @ponder_entry_forward(%arg0: !llvm.ptr) {
// CHECK: %[[S0:.*]] = llvm.getelementptr %arg0[0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[A0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[S1:.*]] = llvm.getelementptr %arg0[1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[A1:.*]] = llvm.load %[[S1]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[S2:.*]] = llvm.getelementptr %arg0[2] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[A2:.*]] = llvm.load %[[S2]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call @_mlir_ciface_forward(%[[A0]], %[[A1]], %[[A2]]) : (!llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
// CHECK: llvm.return
// CHECK-NOT: ponder_entry_helper
module {
  llvm.func @_mlir_ciface_forward(%out: !llvm.ptr, %a: !llvm.ptr, %b: !llvm.ptr) {
    llvm.return
  }
  // Declarations and other functions get no wrapper.
  llvm.func @_mlir_ciface_helper(!llvm.ptr)
  llvm.func @other(%x: !llvm.ptr) {
    llvm.return
  }
}
