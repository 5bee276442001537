// ponder-vectorize-contractions: the tile structure of each kernel shape,
// and the contractions it leaves to linalg-to-loops.
// RUN: ponder-opt %s --ponder-vectorize-contractions | FileCheck %s

// y = x W^T: both operands contiguous along k. Tiles of 4 rows in
// parallel (the last one row by row), 4 x 4 tiles of 16-lane partial sums
// over k, a masked tail over k, then one horizontal sum per output.
// CHECK-LABEL: func.func @dot_product
// CHECK: %[[TILES:.*]] = arith.ceildivui %{{.*}}, %c4
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[TILES]])
// CHECK: scf.if
// CHECK: scf.for {{.*}} step %c4
// CHECK: scf.for {{.*}} step %c16{{.*}} iter_args
// CHECK-COUNT-16: vector.fma
// CHECK: scf.for {{.*}} step %c16{{.*}} iter_args
// CHECK: vector.create_mask
// CHECK: vector.maskedload
// CHECK: vector.reduction <add>, {{.*}} fastmath<reassoc>
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @dot_product(%x: memref<?x64xf32>, %w: memref<32x64xf32>, %y: memref<?x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x64xf32>, memref<32x64xf32>) outs(%y : memref<?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// dx = dy W: the output and W contiguous along n. 8 rows x 2 vectors of C
// loaded once, 16 broadcast-FMAs per step of k, stored once.
// CHECK-LABEL: func.func @outer_product
// CHECK: arith.ceildivui %{{.*}}, %c8
// CHECK: scf.parallel
// CHECK: scf.for %{{.*}} step %c32
// CHECK-COUNT-16: vector.load %arg2
// CHECK: scf.for {{.*}} iter_args
// CHECK-COUNT-2: vector.load %arg1
// CHECK: memref.load %arg0
// CHECK-NEXT: vector.broadcast
// CHECK-NEXT: vector.fma
// CHECK: scf.yield
// CHECK-COUNT-16: vector.store
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @outer_product(%dy: memref<?x32xf32>, %w: memref<32x64xf32>, %dx: memref<?x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>, affine_map<(m, k, n) -> (k, n)>, affine_map<(m, k, n) -> (m, n)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%dy, %w : memref<?x32xf32>, memref<32x64xf32>) outs(%dx : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// dW = sum over rows b and positions t of dy^T x: the sum over b runs
// outside the parallel tiles (each row's panels stay in cache across
// them), the sum over t inside each tile.
// CHECK-LABEL: func.func @weight_gradient
// CHECK: scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: scf.parallel
// CHECK: scf.for %{{.*}} step %c32
// CHECK: scf.for {{.*}} iter_args
// CHECK-NOT: scf.for
// CHECK: vector.load %arg1[%[[B]]
// CHECK: memref.load %arg0[%[[B]]
// CHECK: scf.yield
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @weight_gradient(%dy: memref<?x?x32xf32>, %x: memref<?x?x64xf32>, %dw: memref<32x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(o, i, b, t) -> (b, t, o)>, affine_map<(o, i, b, t) -> (b, t, i)>, affine_map<(o, i, b, t) -> (o, i)>],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%dy, %x : memref<?x?x32xf32>, memref<?x?x64xf32>) outs(%dw : memref<32x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// Left alone: a row-wise dot product (no column dimension), an operand
// whose innermost stride is not 1, and a body that is not a multiply-add.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: vector.
// CHECK: return
func.func @left_alone(%a: memref<?x64xf32>, %b: memref<?x64xf32>, %r: memref<?xf32>,
                      %s: memref<8x32xf32, strided<[1, 8]>>, %w: memref<32x64xf32>, %y: memref<8x64xf32>,
                      %s2: memref<8x64xf32, strided<[1, 8]>>, %y2: memref<8x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, k) -> (m, k)>, affine_map<(m, k) -> (m, k)>, affine_map<(m, k) -> (m)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%a, %b : memref<?x64xf32>, memref<?x64xf32>) outs(%r : memref<?xf32>) {
  ^bb0(%x: f32, %z: f32, %acc: f32):
    %p = arith.mulf %x, %z : f32
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s2, %w : memref<8x64xf32, strided<[1, 8]>>, memref<32x64xf32>) outs(%y2 : memref<8x32xf32>) {
  ^bb0(%x: f32, %z: f32, %acc: f32):
    %p = arith.mulf %x, %z : f32
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>, affine_map<(m, k, n) -> (k, n)>, affine_map<(m, k, n) -> (m, n)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%s, %w : memref<8x32xf32, strided<[1, 8]>>, memref<32x64xf32>) outs(%y : memref<8x64xf32>) {
  ^bb0(%x: f32, %z: f32, %acc: f32):
    %p = arith.mulf %x, %z : f32
    %t = arith.maximumf %acc, %p : f32
    linalg.yield %t : f32
  }
  return
}

// A tile size below 1 is one error, not a crash.
// RUN: not ponder-opt %s --ponder-vectorize-contractions=rows=0 2>&1 | \
// RUN:   FileCheck %s --check-prefix=BAD
// BAD: error: ponder-vectorize-contractions: tile sizes and lanes must be >= 1
