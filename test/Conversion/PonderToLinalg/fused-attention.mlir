// With fused-attention (the CUDA target), attention and its gradient become
// parallel loops with an online softmax: no [B, H, T, Tk] scores anywhere.
// RUN: ponder-opt %s --convert-ponder-to-linalg=fused-attention --split-input-file | FileCheck %s

// One thread per (row, head, query): running max, sum and the head's 4
// accumulators are carried through the scan of the visible keys.
// CHECK-LABEL: func.func @attention
// CHECK-NOT: linalg.generic
// CHECK: %[[Q:.*]] = bufferization.to_buffer %arg0 read_only
// CHECK: %[[L:.*]] = bufferization.to_buffer %arg1 read_only
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?x8xf32>
// CHECK: scf.parallel (%[[B:.*]], %[[H:.*]], %[[I:.*]]) = {{.*}} to (%{{.*}}, %c2{{.*}}, %{{.*}})
// CHECK: %[[LEN:.*]] = memref.load %[[L]][%[[B]]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32)
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: math.exp
// CHECK: scf.yield
// CHECK: arith.divf
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[B]], %[[I]], %{{.*}}]
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// CHECK-NOT: linalg.generic
func.func @attention(%q: tensor<?x?x8xf32>, %l: tensor<?xi32>) -> tensor<?x?x8xf32> {
  %y = ponder.attention %q, %q, %q, %l heads(2) : tensor<?x?x8xf32>, tensor<?xi32>
  return %y : tensor<?x?x8xf32>
}

// -----

// The gradient: per query (statistics [B, H, T] and dQ), then per key (dK
// and dV in 8 accumulators over the queries that see the key).
// CHECK-LABEL: func.func @attention_grad
// CHECK-NOT: linalg.generic
// CHECK-COUNT-3: memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?x8xf32>
// CHECK-COUNT-3: memref.alloc(%{{.*}}, %{{.*}}) : memref<?x2x?xf32>
// CHECK: scf.parallel
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32)
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32)
// CHECK: scf.parallel
// CHECK: scf.for {{.*}} -> (f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-COUNT-3: bufferization.to_tensor {{.*}} restrict writable
// CHECK-NOT: linalg.generic
func.func @attention_grad(%dy: tensor<?x?x8xf32>, %q: tensor<?x?x8xf32>, %l: tensor<?xi32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  %dq, %dk, %dv = ponder.attention_grad %dy, %q, %q, %q, %l heads(2) : tensor<?x?x8xf32>, tensor<?xi32>
  return %dq, %dk, %dv : tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
}

// -----

// Cached decoding: below start[b] a key comes from the cache at the step,
// above it from the new positions.
// CHECK-LABEL: func.func @cached_attention
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: %[[CACHED:.*]] = arith.cmpi ult
// CHECK: scf.if %[[CACHED]] -> (f32, f32, f32, f32)
// CHECK: memref.load %{{.*}}[%arg2, {{.*}}] : memref<3x?x6x8xf32
// CHECK: } else {
// CHECK: arith.subi
// CHECK: memref.load %{{.*}} : memref<?x?x8xf32
func.func @cached_attention(%q: tensor<?x?x8xf32>, %c: tensor<3x?x6x8xf32>, %n: index, %start: tensor<?xi32>, %l: tensor<?xi32>) -> tensor<?x?x8xf32> {
  %y = ponder.cached_attention %q, %q, %q, %c, %c[%n] start(%start) lengths(%l) heads(2) : tensor<?x?x8xf32>, tensor<3x?x6x8xf32>, tensor<?xi32>
  return %y : tensor<?x?x8xf32>
}
