// RUN: ponder-opt %s --pass-pipeline='builtin.module(func.func(ponder-tile-contractions-for-gpu,canonicalize))' --split-input-file | FileCheck %s

// y[b, t, n] += x[b, t, k] w[n, k] (a linear layer): m = (b, t) flattened,
// 64x64 tiles of (m, n) on a grid of ceil(N/64) x ceil(M/64) blocks of
// 16x16 threads, two staged 16x65 tiles in workgroup memory, a barrier
// after staging and one after the products, a 4x4 accumulator per thread.
// CHECK-LABEL: func.func @linear
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[B:.*]] = memref.dim %arg0, %c0
// CHECK: %[[T:.*]] = memref.dim %arg0, %c1
// CHECK: %[[M:.*]] = arith.muli %[[B]], %[[T]]
// CHECK: %[[GM:.*]] = arith.ceildivui %[[M]], %[[C64]]
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[C1]], {{.*}} = %[[GM]], {{.*}} = %[[C1]]) threads({{.*}}) in ({{.*}} = %[[C16]], {{.*}} = %[[C16]], {{.*}} = %[[C1]])
// CHECK-SAME: workgroup(%[[A:.*]] : memref<16x65xf32, #gpu.address_space<workgroup>>, %[[W:.*]] : memref<16x65xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[ACC:.*]]:16 = scf.for %[[K0:.*]] = %{{.*}} to %{{.*}} step %[[C16]] iter_args(
// CHECK: memref.load %arg0
// CHECK: memref.store %{{.*}}, %[[A]]
// CHECK: memref.load %arg1
// CHECK: memref.store %{{.*}}, %[[W]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: memref.load %[[A]]
// CHECK: memref.load %[[W]]
// CHECK: gpu.barrier
// CHECK-COUNT-16: memref.store %{{.*}}, %arg2
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @linear(%x: memref<?x?x32xf32>, %w: memref<48x32xf32>, %y: memref<?x?x48xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, t, n, k) -> (b, t, k)>, affine_map<(b, t, n, k) -> (n, k)>, affine_map<(b, t, n, k) -> (b, t, n)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x?x32xf32>, memref<48x32xf32>) outs(%y : memref<?x?x48xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Batched products (a dimension in all three operands) and bodies other
// than a multiply-accumulate keep the one-thread-per-output mapping.
// CHECK-LABEL: func.func @not_tiled
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
// CHECK: linalg.generic
func.func @not_tiled(%a: memref<4x8x16xf32>, %b: memref<4x16x8xf32>, %c: memref<4x8x8xf32>, %w: memref<8x16xf32>, %y: memref<8x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(z, i, j, k) -> (z, i, k)>, affine_map<(z, i, j, k) -> (z, k, j)>, affine_map<(z, i, j, k) -> (z, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<4x8x16xf32>, memref<4x16x8xf32>) outs(%c : memref<4x8x8xf32>) {
  ^bb0(%x: f32, %v: f32, %o: f32):
    %p = arith.mulf %x, %v : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j, k) -> (i, k)>, affine_map<(i, j, k) -> (j, k)>, affine_map<(i, j, k) -> (i, j)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %w : memref<8x16xf32>, memref<8x16xf32>) outs(%y : memref<8x8xf32>) {
  ^bb0(%x: f32, %v: f32, %o: f32):
    %p = arith.subf %x, %v : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A product between the fill of its output and a GELU-like epilogue with a
// bias (ContractionEnds.h): the accumulators start from the fill's value,
// each result goes through the epilogue's payload into the epilogue's
// output; the fill, the epilogue and every store to the product's buffer
// are gone.
// CHECK-LABEL: func.func @fill_and_epilogue
// CHECK-NOT: linalg.fill
// CHECK: gpu.launch
// CHECK-NOT: memref.load %alloc
// CHECK: gpu.barrier
// CHECK: gpu.barrier
// CHECK-COUNT-16: memref.store %{{.*}}, %arg3
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @fill_and_epilogue(%x: memref<?x32xf32>, %w: memref<48x32xf32>, %bias: memref<48xf32>, %out: memref<?x48xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %x, %c0 : memref<?x32xf32>
  %y = memref.alloc(%m) : memref<?x48xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<?x48xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x32xf32>, memref<48x32xf32>) outs(%y : memref<?x48xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (n)>, affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : memref<?x48xf32>, memref<48xf32>) outs(%out : memref<?x48xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  memref.dealloc %y : memref<?x48xf32>
  return
}

// -----

// The product's output is read again after the element-wise op: the kernel
// keeps storing it and the element-wise op stays.
// CHECK-LABEL: func.func @read_again
// CHECK: gpu.launch
// CHECK: linalg.generic
func.func @read_again(%x: memref<?x32xf32>, %w: memref<48x32xf32>, %out: memref<?x48xf32>, %copy: memref<?x48xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %x, %c0 : memref<?x32xf32>
  %y = memref.alloc(%m) : memref<?x48xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<?x48xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x32xf32>, memref<48x32xf32>) outs(%y : memref<?x48xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<?x48xf32>) outs(%out : memref<?x48xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %zero : f32
    linalg.yield %r : f32
  }
  memref.copy %y, %copy : memref<?x48xf32> to memref<?x48xf32>
  memref.dealloc %y : memref<?x48xf32>
  return
}

// -----

// A gradient accumulated in place (acc = acc + product): the epilogue reads
// the accumulator at the point it writes, so the kernel does both.
// CHECK-LABEL: func.func @accumulate
// CHECK-NOT: linalg.fill
// CHECK: gpu.launch
// CHECK-COUNT-16: memref.store %{{.*}}, %arg2
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @accumulate(%x: memref<?x32xf32>, %w: memref<48x32xf32>, %acc: memref<?x48xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %m = memref.dim %x, %c0 : memref<?x32xf32>
  %y = memref.alloc(%m) : memref<?x48xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<?x48xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x32xf32>, memref<48x32xf32>) outs(%y : memref<?x48xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%acc, %y : memref<?x48xf32>, memref<?x48xf32>) outs(%acc : memref<?x48xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  }
  memref.dealloc %y : memref<?x48xf32>
  return
}
