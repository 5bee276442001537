// The layer ops become linalg.generic ops on tensors; the halting loop and the
// losses are left for later passes.
// RUN: ponder-opt %s --convert-ponder-to-linalg --split-input-file | FileCheck %s

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @linear
// CHECK: %[[B:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[T:.*]] = tensor.dim %arg0, %c1
// CHECK: %[[EMPTY:.*]] = tensor.empty(%[[B]], %[[T]]) : tensor<?x?x8xf32>
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[EMPTY]] : tensor<?x?x8xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<?x?x4xf32>, tensor<8x4xf32>) outs(%[[ZERO]] : tensor<?x?x8xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: ponder.linear
func.func @linear(%x: tensor<?x?x4xf32>, %w: tensor<8x4xf32>) -> tensor<?x?x8xf32> {
  %y = ponder.linear %x, %w : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}

// -----

// CHECK-LABEL: func.func @rms_norm
// CHECK: %[[SUMSQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: %[[WIDTH:.*]] = arith.constant 4.000000e+00 : f32
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[SUMSQ]], %arg1
// CHECK: arith.divf %{{.*}}, %[[WIDTH]]
// CHECK: math.sqrt
// CHECK-NOT: ponder.rms_norm
func.func @rms_norm(%x: tensor<?x?x4xf32>, %w: tensor<4xf32>) -> tensor<?x?x4xf32> {
  %y = ponder.rms_norm %x, %w epsilon(1.0e-5) : tensor<?x?x4xf32>, tensor<4xf32>
  return %y : tensor<?x?x4xf32>
}

// -----

// CHECK-LABEL: func.func @gelu
// CHECK: linalg.generic
// CHECK: math.tanh
// CHECK-NOT: ponder.gelu
func.func @gelu(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> {
  %y = ponder.gelu %x : tensor<?x?x4xf32>
  return %y : tensor<?x?x4xf32>
}

// -----

// CHECK-LABEL: func.func @attention
// CHECK-COUNT-3: tensor.expand_shape {{.*}} : tensor<?x?x8xf32> into tensor<?x?x2x4xf32>
// CHECK-COUNT-5: linalg.generic
// CHECK: tensor.collapse_shape {{.*}} : tensor<?x?x2x4xf32> into tensor<?x?x8xf32>
// CHECK-NOT: ponder.attention
func.func @attention(%q: tensor<?x?x8xf32>, %l: tensor<?xi32>) -> tensor<?x?x8xf32> {
  %y = ponder.attention %q, %q, %q, %l heads(2) : tensor<?x?x8xf32>, tensor<?xi32>
  return %y : tensor<?x?x8xf32>
}

// -----

// A fixed halting loop becomes an scf.while over n < 3 whose body is the
// lowered block.
// CHECK-LABEL: func.func @loop_body
// CHECK: scf.while (%[[N:.*]] = %{{.*}}, %[[S:.*]] = %arg0, {{.*}}) : (index, tensor<?x?x8xf32>, {{.*}}) -> (index, tensor<?x?x8xf32>, {{.*}}) {
// CHECK: %[[C3:.*]] = arith.constant 3 : index
// CHECK: %[[MORE:.*]] = arith.cmpi ult, %[[N]], %[[C3]] : index
// CHECK: scf.condition(%[[MORE]])
// CHECK: } do {
// CHECK: tensor.extract_slice %arg2[%[[N]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<8xf32>
// CHECK: linalg.generic
// CHECK: scf.yield
// CHECK-NOT: ponder.halting_loop
// CHECK-NOT: ponder.yield
func.func @loop_body(%x: tensor<?x?x8xf32>, %l: tensor<?xi32>, %t: tensor<3x8xf32>) -> tensor<?x?x8xf32> {
  %y, %steps, %r, %p = ponder.halting_loop fixed max_steps 3 lengths(%l : tensor<?xi32>)
      iter_state(%s = %x : tensor<?x?x8xf32>) step(%n) {
    %u = ponder.step_embed %s, %t[%n] : tensor<?x?x8xf32>, tensor<3x8xf32>
    ponder.yield %u : tensor<?x?x8xf32>
  }
  return %y : tensor<?x?x8xf32>
}

// -----

// Cached attention gathers each row's keys and values (cache below start,
// the new positions after) over max_b(start + lengths) positions, then runs
// the five attention generics.
// CHECK-LABEL: func.func @cached_attention
// CHECK: %[[END:.*]] = linalg.generic {{.*}} iterator_types = ["reduction"]} ins(%arg3, %arg4 : tensor<?xi32>, tensor<?xi32>)
// CHECK: arith.maxsi
// CHECK: %[[E:.*]] = tensor.extract %[[END]][] : tensor<i32>
// CHECK: %[[KEYLEN:.*]] = arith.index_cast %[[E]] : i32 to index
// CHECK: tensor.empty(%{{.*}}, %[[KEYLEN]]) : tensor<?x?x8xf32>
// CHECK-COUNT-2: tensor.extract %arg1[%arg2,
// CHECK-COUNT-5: linalg.generic
// CHECK-NOT: ponder.cached_attention
func.func @cached_attention(%q: tensor<?x?x8xf32>, %c: tensor<3x?x6x8xf32>, %n: index, %start: tensor<?xi32>, %l: tensor<?xi32>) -> tensor<?x?x8xf32> {
  %y = ponder.cached_attention %q, %q, %q, %c, %c[%n] start(%start) lengths(%l) heads(2)
      : tensor<?x?x8xf32>, tensor<3x?x6x8xf32>, tensor<?xi32>
  return %y : tensor<?x?x8xf32>
}

// -----

// A kv_cache ACT loop collects the body's keys and values per step; after
// the scf.while exits at step m, an scf.for over [m, 3) runs the frozen
// region on the final states.
// CHECK-LABEL: func.func @kv_cache_loop
// CHECK: %[[W:.*]]:10 = scf.while
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[%{{.*}}, 0, 0, 0] [1, %{{.*}}, %{{.*}}, 8] [1, 1, 1, 1] : tensor<?x?x8xf32> into tensor<3x?x?x8xf32>
// CHECK: %[[C3:.*]] = arith.constant 3 : index
// CHECK: scf.for %[[N:.*]] = %[[W]]#0 to %[[C3]] step %{{.*}} iter_args(
// CHECK: tensor.extract_slice %arg4[%[[N]], 0]
// CHECK: scf.yield
// CHECK-NOT: ponder.
func.func @kv_cache_loop(%x: tensor<?x?x8xf32>, %l: tensor<?xi32>, %hw: tensor<1x8xf32>, %hb: tensor<1xf32>, %t: tensor<3x8xf32>) -> (tensor<3x?x?x8xf32>, tensor<3x?x?x8xf32>) {
  %y, %steps, %r, %p, %k, %v = ponder.halting_loop act max_steps 3 epsilon 1.0e-2 lengths(%l : tensor<?xi32>)
      halt(%hw, %hb : tensor<1x8xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<?x?x8xf32>) step(%n) kv_cache {
    %u = ponder.step_embed %s, %t[%n] : tensor<?x?x8xf32>, tensor<3x8xf32>
    ponder.yield %u, %u, %u : tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
  } frozen {
  ^bb0(%fs: tensor<?x?x8xf32>, %fn: index):
    %u = ponder.step_embed %fs, %t[%fn] : tensor<?x?x8xf32>, tensor<3x8xf32>
    ponder.yield %u, %u : tensor<?x?x8xf32>, tensor<?x?x8xf32>
  }
  return %k, %v : tensor<3x?x?x8xf32>, tensor<3x?x?x8xf32>
}
