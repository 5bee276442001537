// Runs the lowered layer ops on the CPU and checks their numbers against
// values computed by hand from MODEL.md §4.
// RUN: ponder-opt %s --ponder-lower-to-llvm | \
// RUN: mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils,%omp | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>)

func.func @main() {
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %w = arith.constant dense<[1.0, 1.0, 2.0, 0.5]> : tensor<4xf32>
  // rms = sqrt((1 + 4 + 9 + 16) / 4 + 1e-5) = 2.738614
  // CHECK: [0.365148, 0.730296, 2.19089, 0.730296]
  %n = ponder.rms_norm %x, %w epsilon(1.0e-5) : tensor<1x4xf32>, tensor<4xf32>
  %n_m = bufferization.to_buffer %n : tensor<1x4xf32> to memref<1x4xf32>
  %n_u = memref.cast %n_m : memref<1x4xf32> to memref<*xf32>
  call @printMemrefF32(%n_u) : (memref<*xf32>) -> ()

  // y = x W^T with W [out = 2, in = 4].
  // CHECK: [1, 5]
  %wl = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5]]> : tensor<2x4xf32>
  %y = ponder.linear %x, %wl : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  %y_m = bufferization.to_buffer %y : tensor<1x2xf32> to memref<1x2xf32>
  %y_u = memref.cast %y_m : memref<1x2xf32> to memref<*xf32>
  call @printMemrefF32(%y_u) : (memref<*xf32>) -> ()

  // CHECK: [-0.158808, 0, 0.841192, 1.9546]
  %g_in = arith.constant dense<[[-1.0, 0.0, 1.0, 2.0]]> : tensor<1x4xf32>
  %g = ponder.gelu %g_in : tensor<1x4xf32>
  %g_m = bufferization.to_buffer %g : tensor<1x4xf32> to memref<1x4xf32>
  %g_u = memref.cast %g_m : memref<1x4xf32> to memref<*xf32>
  call @printMemrefF32(%g_u) : (memref<*xf32>) -> ()

  // Two heads of 2 channels; row 0 has length 2, row 1 length 1. Query 1 of
  // row 0 sees keys 0 and 1 with scores (0, 1) / sqrt(2) in each head:
  // softmax = (0.330238, 0.669762). Query 2 of row 0 is padding but still
  // reads keys j <= 2 with j < 2. Row 1 sees key 0 only.
  // CHECK: [1, 0, 0, 1]
  // CHECK: [0.330238, 0.669762, 0.669762, 0.330238]
  // CHECK: [0.5, 0.5, 0.5, 0.5]
  // CHECK: [1, 0, 0, 1]
  // CHECK: [1, 0, 0, 1]
  // CHECK: [1, 0, 0, 1]
  %qkv = arith.constant dense<[[[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]],
                               [[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]]]> : tensor<2x3x4xf32>
  %lengths = arith.constant dense<[2, 1]> : tensor<2xi32>
  %att = ponder.attention %qkv, %qkv, %qkv, %lengths heads(2) : tensor<2x3x4xf32>, tensor<2xi32>
  %att_m = bufferization.to_buffer %att : tensor<2x3x4xf32> to memref<2x3x4xf32>
  %att_u = memref.cast %att_m : memref<2x3x4xf32> to memref<*xf32>
  call @printMemrefF32(%att_u) : (memref<*xf32>) -> ()

  // x[b, t] = token[ids[b, t]] + position[t].
  // CHECK: [15, 26]
  // CHECK: [31, 42]
  %ids = arith.constant dense<[[2, 0]]> : tensor<1x2xi32>
  %token = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %position = arith.constant dense<[[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]]> : tensor<3x2xf32>
  %emb = ponder.embed %ids, %token, %position vocab <verbal = 2, think = 1>
      : (tensor<1x2xi32>, tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<1x2x2xf32>
  %emb_m = bufferization.to_buffer %emb : tensor<1x2x2xf32> to memref<1x2x2xf32>
  %emb_u = memref.cast %emb_m : memref<1x2x2xf32> to memref<*xf32>
  call @printMemrefF32(%emb_u) : (memref<*xf32>) -> ()

  // u = s + step[1].
  // CHECK: [3, 4]
  // CHECK: [4, 5]
  %s = arith.constant dense<[[[0.0, 0.0], [1.0, 1.0]]]> : tensor<1x2x2xf32>
  %steps_table = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %c1 = arith.constant 1 : index
  %u = ponder.step_embed %s, %steps_table[%c1] : tensor<1x2x2xf32>, tensor<2x2xf32>
  %u_m = bufferization.to_buffer %u : tensor<1x2x2xf32> to memref<1x2x2xf32>
  %u_u = memref.cast %u_m : memref<1x2x2xf32> to memref<*xf32>
  call @printMemrefF32(%u_u) : (memref<*xf32>) -> ()

  // Position 0 halted at step 2; position 1 is padding (step 0) and reads
  // step 1.
  // CHECK: {{\[}}[3],
  // CHECK: [2]]]
  %per_step = arith.constant dense<[[[[1.0], [2.0]]], [[[3.0], [4.0]]]]> : tensor<2x1x2x1xf32>
  %halt_steps = arith.constant dense<[[2, 0]]> : tensor<1x2xi32>
  %sel = ponder.select_step %per_step, %halt_steps : (tensor<2x1x2x1xf32>, tensor<1x2xi32>) -> tensor<1x2x1xf32>
  %sel_m = bufferization.to_buffer %sel : tensor<1x2x1xf32> to memref<1x2x1xf32>
  %sel_u = memref.cast %sel_m : memref<1x2x1xf32> to memref<*xf32>
  call @printMemrefF32(%sel_u) : (memref<*xf32>) -> ()
  return
}
