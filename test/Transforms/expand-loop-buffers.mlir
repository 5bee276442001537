// ponder-expand-loop-buffers: a row's buffers, allocated in every iteration
// of a loop over rows, become slices of one buffer allocated before the
// loop (the loop's extents in front) and freed after it. A buffer that a
// non-linalg op reads stays where it is.
// RUN: ponder-opt %s --ponder-expand-loop-buffers | FileCheck %s

// CHECK-LABEL: func.func @rows
// CHECK: memref.alloc() : memref<4xf32>
// CHECK-NEXT: %[[WHOLE:.*]] = memref.alloc(%arg1, %arg2) {alignment = 64 : i64} : memref<?x?x1x8xf32>
// CHECK-NEXT: scf.parallel (%[[B:.*]], %[[T:.*]]) =
// CHECK-NOT: memref.alloc()
// CHECK: %[[ROW:.*]] = memref.subview %[[WHOLE]][%[[B]], %[[T]], 0, 0] [1, 1, 1, 8] [1, 1, 1, 1]
// CHECK-SAME: to memref<1x8xf32, strided<[?, 1], offset: ?>>
// CHECK: linalg.fill {{.*}} outs(%[[ROW]]
// CHECK: linalg.generic {{.*}} ins(%[[ROW]]
// CHECK-NOT: memref.dealloc %[[ROW]]
// CHECK: memref.alloc() : memref<2xf32>
// CHECK: memref.dealloc
// CHECK: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: memref.dealloc %[[WHOLE]]
func.func @rows(%x: memref<?x?x8xf32>, %b: index, %t: index, %out: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %kept = memref.alloc() : memref<4xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%b, %t) step (%c1, %c1) {
    %row = memref.alloc() {alignment = 64 : i64} : memref<1x8xf32>
    linalg.fill ins(%zero : f32) outs(%row : memref<1x8xf32>)
    %o = memref.subview %out[%i, %j] [1, 1] [1, 1] : memref<?x?xf32> to memref<1xf32, strided<[1], offset: ?>>
    linalg.generic {indexing_maps = [affine_map<(a, k) -> (a, k)>, affine_map<(a, k) -> (a)>],
                    iterator_types = ["parallel", "reduction"]}
        ins(%row : memref<1x8xf32>) outs(%o : memref<1xf32, strided<[1], offset: ?>>) {
    ^bb0(%v: f32, %acc: f32):
      %s = arith.addf %acc, %v : f32
      linalg.yield %s : f32
    }
    memref.dealloc %row : memref<1x8xf32>
    %other = memref.alloc() : memref<2xf32>
    %e = memref.load %other[%c0] : memref<2xf32>
    memref.dealloc %other : memref<2xf32>
    scf.reduce
  }
  memref.dealloc %kept : memref<4xf32>
  return
}
