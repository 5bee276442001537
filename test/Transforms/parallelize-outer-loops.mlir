// ponder-parallelize-outer-loops: the first loop of a linalg op on buffers
// becomes an scf.parallel around the rest of the op; ops whose first loop
// reduces, or whose static iteration space is small, stay as they are.
// RUN: ponder-opt %s --ponder-parallelize-outer-loops | FileCheck %s

// CHECK-LABEL: func.func @rows
// CHECK: scf.parallel (%[[I:[a-z0-9_]+]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}})
// CHECK: memref.subview %arg0[%[[I]], 0] [1, 64] [1, 1]
// CHECK: memref.subview %arg1[%[[I]], 0] [1, 64] [1, 1]
// CHECK: linalg.generic
// CHECK: arith.mulf
// CHECK: scf.reduce
func.func @rows(%x: memref<?x64xf32>, %y: memref<?x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<?x64xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %p = arith.mulf %a, %a : f32
    linalg.yield %p : f32
  }
  return
}

// Three loops or more: the second parallel loop too, so that packed rows
// [1, M, d] (a compacted halting loop's) still spread over threads.
// CHECK-LABEL: func.func @positions
// CHECK: scf.parallel (%[[B:[a-z0-9_]+]], %[[T:[a-z0-9_]+]]) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK: memref.subview %arg0[%[[B]], %[[T]], 0] [1, 1, 64] [1, 1, 1]
// CHECK: linalg.generic
func.func @positions(%x: memref<?x?x64xf32>, %y: memref<?x?x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, t, c) -> (b, t, c)>, affine_map<(b, t, c) -> (b, t, c)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : memref<?x?x64xf32>) outs(%y : memref<?x?x64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %p = arith.mulf %a, %a : f32
    linalg.yield %p : f32
  }
  return
}

// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @left_alone(%x: memref<?x64xf32>, %s: memref<64xf32>, %small: memref<8x8xf32>) {
  // The first loop reduces.
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<?x64xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %p = arith.addf %a, %b : f32
    linalg.yield %p : f32
  }
  // 64 points: below minimum-points.
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      outs(%small : memref<8x8xf32>) {
  ^bb0(%b: f32):
    %p = arith.addf %b, %b : f32
    linalg.yield %p : f32
  }
  return
}
