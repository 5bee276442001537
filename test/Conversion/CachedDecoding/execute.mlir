// Runs the lowered cached-decoding ops on the CPU: the embedding of positions
// that start later in a row, cached attention (which must equal
// full attention at the same position), and a kv_cache ACT loop whose keys
// after an early exit come from the frozen state (docs/decoding.md).
// RUN: ponder-opt %s --ponder-lower-to-llvm | \
// RUN: mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils,%omp | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>)

func.func @print3(%t: tensor<?x?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?x?xf32> to memref<?x?x?xf32>
  %u = memref.cast %m : memref<?x?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @print4(%t: tensor<?x?x?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?x?x?xf32> to memref<?x?x?x?xf32>
  %u = memref.cast %m : memref<?x?x?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  // Row 0's new token sits at position 2, row 1's at position 0:
  // token[1] + position[2] and token[0] + position[0].
  // CHECK-LABEL: embed
  // CHECK: {{\[}}[53, 64]],
  // CHECK-NEXT: {{\[}}[11, 22]]]
  %ids = arith.constant dense<[[1], [0]]> : tensor<2x1xi32>
  %start = arith.constant dense<[2, 0]> : tensor<2xi32>
  %token = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %position = arith.constant dense<[[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]]> : tensor<3x2xf32>
  %emb = ponder.embed %ids, %token, %position start(%start) vocab <verbal = 2, think = 0>
      : (tensor<2x1xi32>, tensor<2x2xf32>, tensor<3x2xf32>, tensor<2xi32>) -> tensor<2x1x2xf32>
  vector.print str "embed\n"
  %emb_d = tensor.cast %emb : tensor<2x1x2xf32> to tensor<?x?x?xf32>
  call @print3(%emb_d) : (tensor<?x?x?xf32>) -> ()

  // Full attention over 3 positions (2 heads) versus the last position
  // decoded against a cache holding the first two at step 1.
  // CHECK-LABEL: attention
  // CHECK-NEXT: Unranked Memref
  // CHECK-NEXT: [[FULL:\[\[\[.*\]\]\]]]
  // CHECK-NEXT: Unranked Memref
  // CHECK-NEXT: [[FULL]]
  %qkv = arith.constant dense<[[[1.0, 0.0, 0.5, 1.0], [0.0, 2.0, 1.0, 0.0], [1.0, 1.0, -1.0, 3.0]]]> : tensor<1x3x4xf32>
  %len3 = arith.constant dense<[3]> : tensor<1xi32>
  %full = ponder.attention %qkv, %qkv, %qkv, %len3 heads(2) : tensor<1x3x4xf32>, tensor<1xi32>
  %last = tensor.extract_slice %full[0, 2, 0] [1, 1, 4] [1, 1, 1] : tensor<1x3x4xf32> to tensor<1x1x4xf32>
  vector.print str "attention\n"
  %last_d = tensor.cast %last : tensor<1x1x4xf32> to tensor<?x?x?xf32>
  call @print3(%last_d) : (tensor<?x?x?xf32>) -> ()
  %kv_cache = arith.constant dense<[[[[9.0, 9.0, 9.0, 9.0], [9.0, 9.0, 9.0, 9.0], [9.0, 9.0, 9.0, 9.0], [9.0, 9.0, 9.0, 9.0]]],
                                    [[[1.0, 0.0, 0.5, 1.0], [0.0, 2.0, 1.0, 0.0], [7.0, 7.0, 7.0, 7.0], [7.0, 7.0, 7.0, 7.0]]]]> : tensor<2x1x4x4xf32>
  %q = tensor.extract_slice %qkv[0, 2, 0] [1, 1, 4] [1, 1, 1] : tensor<1x3x4xf32> to tensor<1x1x4xf32>
  %c1 = arith.constant 1 : index
  %start2 = arith.constant dense<[2]> : tensor<1xi32>
  %len1 = arith.constant dense<[1]> : tensor<1xi32>
  %cached = ponder.cached_attention %q, %q, %q, %kv_cache, %kv_cache[%c1] start(%start2) lengths(%len1) heads(2)
      : tensor<1x1x4xf32>, tensor<2x1x4x4xf32>, tensor<1xi32>
  %cached_d = tensor.cast %cached : tensor<1x1x4xf32> to tensor<?x?x?xf32>
  call @print3(%cached_d) : (tensor<?x?x?xf32>) -> ()

  // ACT with keys = values = u = s + 1 per step (the halting_loop test's
  // block): position 0 halts at step 2 of 3, so the loop exits after two
  // steps; its step-3 key comes from the frozen state 2 through `frozen`:
  // 2 + 1 = 3. Position 1 is padding and never runs: its keys are 0 + 1.
  // CHECK-LABEL: kv_cache
  // CHECK: {{\[}}[1],
  // CHECK-NEXT: [1]]],
  // CHECK-NEXT: {{\[}}[2],
  // CHECK-NEXT: [1]]],
  // CHECK-NEXT: {{\[}}[3],
  // CHECK-NEXT: [1]]]]
  %x = arith.constant dense<0.0> : tensor<1x2x1xf32>
  %len = arith.constant dense<[1]> : tensor<1xi32>
  %w = arith.constant dense<[[1.0]]> : tensor<1x1xf32>
  %b = arith.constant dense<[0.0]> : tensor<1xf32>
  %ones = arith.constant dense<1.0> : tensor<3x1xf32>
  %y, %steps, %r, %p, %keys, %values = ponder.halting_loop act max_steps 3 epsilon 0.01
      lengths(%len : tensor<1xi32>) halt(%w, %b : tensor<1x1xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<1x2x1xf32>) step(%n) kv_cache {
    %u = ponder.step_embed %s, %ones[%n] : tensor<1x2x1xf32>, tensor<3x1xf32>
    ponder.yield %u, %u, %u : tensor<1x2x1xf32>, tensor<1x2x1xf32>, tensor<1x2x1xf32>
  } frozen {
  ^bb0(%fs: tensor<1x2x1xf32>, %fn: index):
    %u = ponder.step_embed %fs, %ones[%fn] : tensor<1x2x1xf32>, tensor<3x1xf32>
    ponder.yield %u, %u : tensor<1x2x1xf32>, tensor<1x2x1xf32>
  }
  vector.print str "kv_cache\n"
  %keys_d = tensor.cast %keys : tensor<3x1x2x1xf32> to tensor<?x?x?x?xf32>
  call @print4(%keys_d) : (tensor<?x?x?x?xf32>) -> ()
  return
}
