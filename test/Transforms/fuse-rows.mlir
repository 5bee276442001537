// ponder-fuse-rows: an RMSNorm (the input's sum of squares per row, then
// the scaling) becomes one scf.forall over rows with the fill, the
// reduction and the element-wise ops inside; the input, also read after the
// norm, is computed once in the loop and returned by it; the matrix product
// that reads the norm stays outside.
// RUN: ponder-opt %s --ponder-fuse-rows --canonicalize --cse | FileCheck %s

#x = affine_map<(b, t, d) -> (b, t, d)>
#r = affine_map<(b, t, d) -> (b, t)>
#g = affine_map<(b, t, d) -> (d)>

// CHECK-LABEL: func.func @rms_norm
// CHECK: %[[LOOP:.*]]:2 = scf.forall (%[[B:.*]], %[[T:.*]]) in
// CHECK: tensor.extract_slice %arg0[%[[B]], %[[T]], 0] [1, 1, 8]
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}}["parallel", "parallel", "parallel"]
// CHECK-NOT: linalg.generic {{.*}}["parallel", "parallel", "parallel"]
// CHECK: linalg.fill {{.*}} -> tensor<1x1xf32>
// CHECK: linalg.generic {{.*}}["parallel", "parallel", "reduction"]{{.*}}ins(%[[SUM]]
// CHECK: linalg.generic {{.*}}["parallel", "parallel", "parallel"]{{.*}}ins(%[[SUM]]
// CHECK: scf.forall.in_parallel
// CHECK-COUNT-2: tensor.parallel_insert_slice
// CHECK: }
// CHECK: linalg.generic {{.*}}["parallel", "parallel", "parallel", "reduction"]{{.*}}ins(%[[LOOP]]#0
// CHECK: return {{.*}}%[[LOOP]]#1
func.func @rms_norm(%x: tensor<?x?x8xf32>, %pos: tensor<8xf32>, %g: tensor<8xf32>,
                    %w: tensor<4x8xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %n = arith.constant 8.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
  %h = linalg.generic {indexing_maps = [#x, #g, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %pos : tensor<?x?x8xf32>, tensor<8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %p: f32, %o: f32):
    %s = arith.addf %a, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x8xf32>
  %er = tensor.empty(%b, %t) : tensor<?x?xf32>
  %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<?x?xf32>) -> tensor<?x?xf32>
  %ss = linalg.generic {indexing_maps = [#x, #r], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h : tensor<?x?x8xf32>) outs(%zr : tensor<?x?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  %normed = linalg.generic {indexing_maps = [#x, #r, #g, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%h, %ss, %g : tensor<?x?x8xf32>, tensor<?x?xf32>, tensor<8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %s: f32, %gi: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %me = arith.addf %m, %eps : f32
    %r = math.sqrt %me : f32
    %y = arith.divf %a, %r : f32
    %z = arith.mulf %y, %gi : f32
    linalg.yield %z : f32
  } -> tensor<?x?x8xf32>
  %eo = tensor.empty(%b, %t) : tensor<?x?x4xf32>
  %zo = linalg.fill ins(%zero : f32) outs(%eo : tensor<?x?x4xf32>) -> tensor<?x?x4xf32>
  %out = linalg.generic {indexing_maps = [affine_map<(b, t, n, k) -> (b, t, k)>, affine_map<(b, t, n, k) -> (n, k)>, affine_map<(b, t, n, k) -> (b, t, n)>],
                         iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%normed, %w : tensor<?x?x8xf32>, tensor<4x8xf32>) outs(%zo : tensor<?x?x4xf32>) {
  ^bb0(%a: f32, %wi: f32, %acc: f32):
    %p = arith.mulf %a, %wi : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x4xf32>
  return %out, %h : tensor<?x?x4xf32>, tensor<?x?x8xf32>
}

// A norm inside a loop whose input comes from outside it: the producer
// outside is not pulled into the loop over rows (it would run every step).
// CHECK-LABEL: func.func @producer_in_another_region
// CHECK: %[[H:.*]] = linalg.generic
// CHECK: scf.for
// CHECK: scf.forall
// CHECK: tensor.extract_slice %[[H]]
// CHECK-NOT: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: linalg.generic {{.*}}["parallel", "parallel", "reduction"]
func.func @producer_in_another_region(%x: tensor<?x?x8xf32>, %steps: index) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %t = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %e = tensor.empty(%b, %t) : tensor<?x?x8xf32>
  %h = linalg.generic {indexing_maps = [#x, #x], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x8xf32>) outs(%e : tensor<?x?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<?x?x8xf32>
  %er = tensor.empty(%b, %t) : tensor<?x?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%er : tensor<?x?xf32>) -> tensor<?x?xf32>
  %res = scf.for %i = %c0 to %steps step %c1 iter_args(%acc = %init) -> tensor<?x?xf32> {
    %zr = linalg.fill ins(%zero : f32) outs(%er : tensor<?x?xf32>) -> tensor<?x?xf32>
    %ss = linalg.generic {indexing_maps = [#x, #r], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%h : tensor<?x?x8xf32>) outs(%zr : tensor<?x?xf32>) {
    ^bb0(%a: f32, %s: f32):
      %sq = arith.mulf %a, %a : f32
      %n = arith.addf %s, %sq : f32
      linalg.yield %n : f32
    } -> tensor<?x?xf32>
    %next = linalg.generic {indexing_maps = [affine_map<(b, t) -> (b, t)>, affine_map<(b, t) -> (b, t)>, affine_map<(b, t) -> (b, t)>], iterator_types = ["parallel", "parallel"]}
        ins(%ss, %acc : tensor<?x?xf32>, tensor<?x?xf32>) outs(%er : tensor<?x?xf32>) {
    ^bb0(%s: f32, %a: f32, %o: f32):
      %r = math.sqrt %s : f32
      %n = arith.mulf %r, %a : f32
      linalg.yield %n : f32
    } -> tensor<?x?xf32>
    scf.yield %next : tensor<?x?xf32>
  }
  return %res : tensor<?x?xf32>
}
