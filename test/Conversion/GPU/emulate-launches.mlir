// RUN: ponder-opt %s --ponder-emulate-gpu-launches --split-input-file --verify-diagnostics | FileCheck %s

// A launch becomes loops over blocks (z, y, x) then threads (z, y, x); the
// body sees the loop indices as its block and thread ids and the launch's
// sizes as its grid and block dimensions.
// CHECK-LABEL: func.func @copy
// CHECK-SAME: (%[[IN:.*]]: memref<?xf32>, %[[OUT:.*]]: memref<?xf32>, %[[N:.*]]: index)
// CHECK: %[[C4:.*]] = arith.constant 4 : index
// CHECK: scf.for %[[BZ:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[BY:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[BX:.*]] = %{{.*}} to %[[N]] step
// CHECK: scf.for %[[TZ:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[TY:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for %[[TX:.*]] = %{{.*}} to %[[C4]] step
// CHECK: %[[BASE:.*]] = arith.muli %[[BX]], %[[C4]]
// CHECK: %[[I:.*]] = arith.addi %[[BASE]], %[[TX]]
// CHECK: memref.load %[[IN]][%[[I]]]
// CHECK-NOT: gpu.launch
func.func @copy(%in: memref<?xf32>, %out: memref<?xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %base = arith.muli %bx, %sx : index
    %i = arith.addi %base, %tx : index
    %v = memref.load %in[%i] : memref<?xf32>
    memref.store %v, %out[%i] : memref<?xf32>
    gpu.terminator
  }
  return
}

// -----

// Private attributions are not emulated (the mapping makes none).
func.func @private_memory(%n: index) {
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{only synchronous launches of one block without private attributions or dynamic shared memory are emulated}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
             private(%p : memref<4xf32, #gpu.address_space<private>>) {
    gpu.terminator
  }
  return
}
