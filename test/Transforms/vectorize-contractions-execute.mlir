// Runs contractions of every shape ponder-vectorize-contractions handles,
// with ragged sizes (rows, columns and the reduction not multiples of the
// tile), and checks the results equal plain linalg-to-loops exactly: the
// inputs are small integers, so every order of summation is exact. The
// kernels' tiles run on two OpenMP threads.
// RUN: ponder-opt %s --ponder-vectorize-contractions --convert-linalg-to-loops \
// RUN:   --convert-scf-to-openmp --canonicalize --convert-scf-to-cf --expand-strided-metadata \
// RUN:   --lower-affine --convert-vector-to-llvm --finalize-memref-to-llvm \
// RUN:   --convert-openmp-to-llvm --convert-to-llvm --reconcile-unrealized-casts | \
// RUN: env OMP_NUM_THREADS=2 mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils,%omp | \
// RUN:   sed "s/base@ = 0x[0-9a-f]*//" > %t.kernels
// RUN: ponder-opt %s --convert-linalg-to-loops \
// RUN:   --convert-scf-to-cf --expand-strided-metadata --lower-affine \
// RUN:   --finalize-memref-to-llvm --convert-to-llvm \
// RUN:   --reconcile-unrealized-casts | \
// RUN: mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils | \
// RUN:   sed "s/base@ = 0x[0-9a-f]*//" > %t.loops
// RUN: diff %t.kernels %t.loops
// RUN: FileCheck %s < %t.kernels
// RUN: ponder-opt %s --ponder-vectorize-contractions | FileCheck %s --check-prefix=IR

// Every contraction in @main becomes a kernel: dot products end in a
// horizontal reduction, outer products broadcast one operand.
// IR-LABEL: func.func @main
// IR-NOT: linalg.generic
// IR: vector.reduction <add>
// IR-NOT: linalg.generic
// IR: vector.broadcast
// IR-NOT: linalg.generic
// IR-NOT: linalg.fill
// IR: return

// CHECK-LABEL: linear
// CHECK: sizes = [2, 11, 7]
// CHECK-LABEL: input_grad
// CHECK: sizes = [2, 11, 45]
// CHECK-LABEL: weight_grad
// CHECK: sizes = [5, 45]
// CHECK-LABEL: weighted_values
// CHECK: sizes = [2, 13, 3, 20]
// CHECK-LABEL: linear_epilogue
// CHECK: sizes = [2, 11, 7]
// CHECK-LABEL: input_grad_epilogue
// CHECK: sizes = [2, 11, 45]

#p2 = affine_map<(d0, d1) -> (d0, d1)>
#p3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#p4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>

func.func private @printMemrefF32(memref<*xf32>)

// value = (sum_d index_d * prime_d + seed) mod 11 - 5
func.func @value(%i: index, %seed: index) -> f32 {
  %c11 = arith.constant 11 : index
  %c5 = arith.constant 5 : index
  %s = arith.addi %i, %seed : index
  %r = arith.remui %s, %c11 : index
  %v = arith.subi %r, %c5 : index
  %i64 = arith.index_cast %v : index to i64
  %f = arith.sitofp %i64 : i64 to f32
  return %f : f32
}
func.func @fill1(%m: memref<?xf32>, %seed: index) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%m : memref<?xf32>) {
  ^bb0(%out: f32):
    %a = linalg.index 0 : index
    %v = func.call @value(%a, %seed) : (index, index) -> f32
    linalg.yield %v : f32
  }
  return
}
func.func @fill2(%m: memref<?x?xf32>, %seed: index) {
  linalg.generic {indexing_maps = [#p2], iterator_types = ["parallel", "parallel"]} outs(%m : memref<?x?xf32>) {
  ^bb0(%out: f32):
    %a = linalg.index 0 : index
    %b = linalg.index 1 : index
    %c3 = arith.constant 3 : index
    %b3 = arith.muli %b, %c3 : index
    %s = arith.addi %a, %b3 : index
    %v = func.call @value(%s, %seed) : (index, index) -> f32
    linalg.yield %v : f32
  }
  return
}
func.func @fill3(%m: memref<?x?x?xf32>, %seed: index) {
  linalg.generic {indexing_maps = [#p3], iterator_types = ["parallel", "parallel", "parallel"]} outs(%m : memref<?x?x?xf32>) {
  ^bb0(%out: f32):
    %a = linalg.index 0 : index
    %b = linalg.index 1 : index
    %c = linalg.index 2 : index
    %c3 = arith.constant 3 : index
    %c7 = arith.constant 7 : index
    %b3 = arith.muli %b, %c3 : index
    %c7c = arith.muli %c, %c7 : index
    %s0 = arith.addi %a, %b3 : index
    %s = arith.addi %s0, %c7c : index
    %v = func.call @value(%s, %seed) : (index, index) -> f32
    linalg.yield %v : f32
  }
  return
}
func.func @fill4(%m: memref<?x?x?x?xf32>, %seed: index) {
  linalg.generic {indexing_maps = [#p4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%m : memref<?x?x?x?xf32>) {
  ^bb0(%out: f32):
    %a = linalg.index 0 : index
    %b = linalg.index 1 : index
    %c = linalg.index 2 : index
    %d = linalg.index 3 : index
    %c3 = arith.constant 3 : index
    %c7 = arith.constant 7 : index
    %c5 = arith.constant 5 : index
    %b3 = arith.muli %b, %c3 : index
    %c7c = arith.muli %c, %c7 : index
    %d5 = arith.muli %d, %c5 : index
    %s0 = arith.addi %a, %b3 : index
    %s1 = arith.addi %s0, %c7c : index
    %s = arith.addi %s1, %d5 : index
    %v = func.call @value(%s, %seed) : (index, index) -> f32
    linalg.yield %v : f32
  }
  return
}

func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c5 = arith.constant 5 : index
  %c7 = arith.constant 7 : index
  %c11 = arith.constant 11 : index
  %c13 = arith.constant 13 : index
  %c20 = arith.constant 20 : index
  %c37 = arith.constant 37 : index
  %c45 = arith.constant 45 : index

  // y[b, t, o] += x[b, t, k] w[o, k]: the dot-product kernel.
  %x = memref.alloc(%c2, %c11, %c37) : memref<?x?x?xf32>
  %w = memref.alloc(%c7, %c37) : memref<?x?xf32>
  %y = memref.alloc(%c2, %c11, %c7) : memref<?x?x?xf32>
  call @fill3(%x, %c0) : (memref<?x?x?xf32>, index) -> ()
  call @fill2(%w, %c1) : (memref<?x?xf32>, index) -> ()
  call @fill3(%y, %c2) : (memref<?x?x?xf32>, index) -> ()
  linalg.generic {indexing_maps = [affine_map<(b, t, o, k) -> (b, t, k)>, affine_map<(b, t, o, k) -> (o, k)>, affine_map<(b, t, o, k) -> (b, t, o)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x?x?xf32>, memref<?x?xf32>) outs(%y : memref<?x?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  vector.print str "linear\n"
  %yu = memref.cast %y : memref<?x?x?xf32> to memref<*xf32>
  call @printMemrefF32(%yu) : (memref<*xf32>) -> ()

  // dx[b, t, i] += dy[b, t, o] w2[o, i]: the outer-product kernel.
  %dy = memref.alloc(%c2, %c11, %c5) : memref<?x?x?xf32>
  %w2 = memref.alloc(%c5, %c45) : memref<?x?xf32>
  %dx = memref.alloc(%c2, %c11, %c45) : memref<?x?x?xf32>
  call @fill3(%dy, %c3) : (memref<?x?x?xf32>, index) -> ()
  call @fill2(%w2, %c5) : (memref<?x?xf32>, index) -> ()
  call @fill3(%dx, %c7) : (memref<?x?x?xf32>, index) -> ()
  linalg.generic {indexing_maps = [affine_map<(b, t, o, i) -> (b, t, o)>, affine_map<(b, t, o, i) -> (o, i)>, affine_map<(b, t, o, i) -> (b, t, i)>],
                  iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%dy, %w2 : memref<?x?x?xf32>, memref<?x?xf32>) outs(%dx : memref<?x?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  vector.print str "input_grad\n"
  %dxu = memref.cast %dx : memref<?x?x?xf32> to memref<*xf32>
  call @printMemrefF32(%dxu) : (memref<*xf32>) -> ()

  // dw[o, i] += dy[b, t, o] x2[b, t, i]: outer products reduced over two
  // loops (b and t).
  %x2 = memref.alloc(%c2, %c11, %c45) : memref<?x?x?xf32>
  %dw = memref.alloc(%c5, %c45) : memref<?x?xf32>
  call @fill3(%x2, %c11) : (memref<?x?x?xf32>, index) -> ()
  call @fill2(%dw, %c13) : (memref<?x?xf32>, index) -> ()
  linalg.generic {indexing_maps = [affine_map<(b, t, o, i) -> (b, t, o)>, affine_map<(b, t, o, i) -> (b, t, i)>, affine_map<(b, t, o, i) -> (o, i)>],
                  iterator_types = ["reduction", "reduction", "parallel", "parallel"]}
      ins(%dy, %x2 : memref<?x?x?xf32>, memref<?x?x?xf32>) outs(%dw : memref<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  vector.print str "weight_grad\n"
  %dwu = memref.cast %dw : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%dwu) : (memref<*xf32>) -> ()

  // o[b, i, h, d] += p[b, h, i, j] v[b, j, h, d]: batch dimensions (b, h)
  // outside the tile, as in attention's weighted values.
  %pr = memref.alloc(%c2, %c3, %c13, %c13) : memref<?x?x?x?xf32>
  %v = memref.alloc(%c2, %c13, %c3, %c20) : memref<?x?x?x?xf32>
  %o = memref.alloc(%c2, %c13, %c3, %c20) : memref<?x?x?x?xf32>
  call @fill4(%pr, %c1) : (memref<?x?x?x?xf32>, index) -> ()
  call @fill4(%v, %c2) : (memref<?x?x?x?xf32>, index) -> ()
  call @fill4(%o, %c3) : (memref<?x?x?x?xf32>, index) -> ()
  linalg.generic {indexing_maps = [affine_map<(b, h, i, j, d) -> (b, h, i, j)>, affine_map<(b, h, i, j, d) -> (b, j, h, d)>, affine_map<(b, h, i, j, d) -> (b, i, h, d)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]}
      ins(%pr, %v : memref<?x?x?x?xf32>, memref<?x?x?x?xf32>) outs(%o : memref<?x?x?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  vector.print str "weighted_values\n"
  %ou = memref.cast %o : memref<?x?x?x?xf32> to memref<*xf32>
  call @printMemrefF32(%ou) : (memref<*xf32>) -> ()

  // Fill, dot-product kernel and epilogue (ContractionEnds.h):
  // e = max(y + bias[o], 0) * r[b, t, o], y never written.
  %zero = arith.constant 0.0 : f32
  %bias = memref.alloc(%c7) : memref<?xf32>
  %r = memref.alloc(%c2, %c11, %c7) : memref<?x?x?xf32>
  %e = memref.alloc(%c2, %c11, %c7) : memref<?x?x?xf32>
  call @fill3(%r, %c5) : (memref<?x?x?xf32>, index) -> ()
  call @fill2(%w, %c3) : (memref<?x?xf32>, index) -> ()
  call @fill1(%bias, %c7) : (memref<?xf32>, index) -> ()
  %y2 = memref.alloc(%c2, %c11, %c7) : memref<?x?x?xf32>
  linalg.fill ins(%zero : f32) outs(%y2 : memref<?x?x?xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, t, o, k) -> (b, t, k)>, affine_map<(b, t, o, k) -> (o, k)>, affine_map<(b, t, o, k) -> (b, t, o)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x?x?xf32>, memref<?x?xf32>) outs(%y2 : memref<?x?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#p3, affine_map<(b, t, o) -> (o)>, #p3, #p3],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%y2, %bias, %r : memref<?x?x?xf32>, memref<?xf32>, memref<?x?x?xf32>) outs(%e : memref<?x?x?xf32>) {
  ^bb0(%a: f32, %bi: f32, %ri: f32, %out: f32):
    %s = arith.addf %a, %bi : f32
    %m = arith.maximumf %s, %zero : f32
    %p = arith.mulf %m, %ri : f32
    linalg.yield %p : f32
  }
  vector.print str "linear_epilogue\n"
  %eu = memref.cast %e : memref<?x?x?xf32> to memref<*xf32>
  call @printMemrefF32(%eu) : (memref<*xf32>) -> ()

  // Fill, outer-product kernel (a masked tail along i) and epilogue:
  // f = (dx + res[b, t, i]) * scale[b, t] - bias2[i], one scale per row.
  %res = memref.alloc(%c2, %c11, %c45) : memref<?x?x?xf32>
  %scale = memref.alloc(%c2, %c11) : memref<?x?xf32>
  %bias3 = memref.alloc(%c2, %c45) : memref<?x?xf32>
  %f = memref.alloc(%c2, %c11, %c45) : memref<?x?x?xf32>
  call @fill3(%res, %c2) : (memref<?x?x?xf32>, index) -> ()
  call @fill2(%scale, %c3) : (memref<?x?xf32>, index) -> ()
  call @fill2(%bias3, %c5) : (memref<?x?xf32>, index) -> ()
  %dx2 = memref.alloc(%c2, %c11, %c45) : memref<?x?x?xf32>
  linalg.fill ins(%zero : f32) outs(%dx2 : memref<?x?x?xf32>)
  linalg.generic {indexing_maps = [affine_map<(b, t, o, i) -> (b, t, o)>, affine_map<(b, t, o, i) -> (o, i)>, affine_map<(b, t, o, i) -> (b, t, i)>],
                  iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%dy, %w2 : memref<?x?x?xf32>, memref<?x?xf32>) outs(%dx2 : memref<?x?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#p3, #p3, affine_map<(b, t, i) -> (b, t)>, affine_map<(b, t, i) -> (b, i)>, #p3],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dx2, %res, %scale, %bias3 : memref<?x?x?xf32>, memref<?x?x?xf32>, memref<?x?xf32>, memref<?x?xf32>) outs(%f : memref<?x?x?xf32>) {
  ^bb0(%a: f32, %re: f32, %sc: f32, %bi: f32, %out: f32):
    %s = arith.addf %a, %re : f32
    %m = arith.mulf %s, %sc : f32
    %d = arith.subf %m, %bi : f32
    linalg.yield %d : f32
  }
  vector.print str "input_grad_epilogue\n"
  %fu = memref.cast %f : memref<?x?x?xf32> to memref<*xf32>
  call @printMemrefF32(%fu) : (memref<*xf32>) -> ()
  return
}
