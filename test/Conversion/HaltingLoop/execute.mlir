// Runs lowered halting loops on the CPU and checks state, steps, remainder
// and halting probabilities against MODEL.md §4 worked by hand. The block adds
// 1 to the state (step table of ones); halt = sigmoid(s + 0), so
// h = sigmoid(1) = 0.731059 after step 0 and sigmoid(2) = 0.880797 after
// step 1. Row 0 has length 1: position 1 is padding.
// RUN: ponder-opt %s --ponder-lower-to-llvm | \
// RUN: mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils,%omp | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>)
func.func private @printMemrefI32(memref<*xi32>)

func.func @main() {
  %x = arith.constant dense<0.0> : tensor<1x2x1xf32>
  %len = arith.constant dense<[1]> : tensor<1xi32>
  %w = arith.constant dense<[[1.0]]> : tensor<1x1xf32>
  %b = arith.constant dense<[0.0]> : tensor<1xf32>
  %ones = arith.constant dense<1.0> : tensor<3x1xf32>

  // ACT: step 0 p = 0.731059 (acc 0.731059 < 0.99); step 1 halts with
  // R = 1 - 0.731059 = 0.268941; y = 0.731059 * 1 + 0.268941 * 2; N = 2.
  // CHECK-LABEL: act
  // CHECK: {{\[}}[1.26894],
  // CHECK-NEXT: [0]]]
  // CHECK: {{\[}}[2, 0]]
  // CHECK: {{\[}}[0.268941, 0]]
  // CHECK: {{\[}}[0.731059, 0]],
  // CHECK-NEXT: [0.268941, 0]],
  // CHECK-NEXT: [0, 0]]]
  %ay, %an, %ar, %ap = ponder.halting_loop act max_steps 3 epsilon 0.01
      lengths(%len : tensor<1xi32>) halt(%w, %b : tensor<1x1xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<1x2x1xf32>) step(%n) {
    %u = ponder.step_embed %s, %ones[%n] : tensor<1x2x1xf32>, tensor<3x1xf32>
    ponder.yield %u : tensor<1x2x1xf32>
  }
  vector.print str "act\n"
  %ay_m = bufferization.to_buffer %ay : tensor<1x2x1xf32> to memref<1x2x1xf32>
  %ay_u = memref.cast %ay_m : memref<1x2x1xf32> to memref<*xf32>
  call @printMemrefF32(%ay_u) : (memref<*xf32>) -> ()
  %an_m = bufferization.to_buffer %an : tensor<1x2xi32> to memref<1x2xi32>
  %an_u = memref.cast %an_m : memref<1x2xi32> to memref<*xi32>
  call @printMemrefI32(%an_u) : (memref<*xi32>) -> ()
  %ar_m = bufferization.to_buffer %ar : tensor<1x2xf32> to memref<1x2xf32>
  %ar_u = memref.cast %ar_m : memref<1x2xf32> to memref<*xf32>
  call @printMemrefF32(%ar_u) : (memref<*xf32>) -> ()
  %ap_m = bufferization.to_buffer %ap : tensor<3x1x2xf32> to memref<3x1x2xf32>
  %ap_u = memref.cast %ap_m : memref<3x1x2xf32> to memref<*xf32>
  call @printMemrefF32(%ap_u) : (memref<*xf32>) -> ()

  // Fixed: three steps, y = 3; N = 3 and p one-hot on the last step for the
  // valid position.
  // CHECK-LABEL: fixed
  // CHECK: {{\[}}[3],
  // CHECK-NEXT: [3]]]
  // CHECK: {{\[}}[3, 0]]
  // CHECK: {{\[}}[0, 0]],
  // CHECK-NEXT: [0, 0]],
  // CHECK-NEXT: [1, 0]]]
  %fy, %fn, %fr, %fp = ponder.halting_loop fixed max_steps 3
      lengths(%len : tensor<1xi32>) iter_state(%s = %x : tensor<1x2x1xf32>) step(%n) {
    %u = ponder.step_embed %s, %ones[%n] : tensor<1x2x1xf32>, tensor<3x1xf32>
    ponder.yield %u : tensor<1x2x1xf32>
  }
  vector.print str "fixed\n"
  %fy_m = bufferization.to_buffer %fy : tensor<1x2x1xf32> to memref<1x2x1xf32>
  %fy_u = memref.cast %fy_m : memref<1x2x1xf32> to memref<*xf32>
  call @printMemrefF32(%fy_u) : (memref<*xf32>) -> ()
  %fn_m = bufferization.to_buffer %fn : tensor<1x2xi32> to memref<1x2xi32>
  %fn_u = memref.cast %fn_m : memref<1x2xi32> to memref<*xi32>
  call @printMemrefI32(%fn_u) : (memref<*xi32>) -> ()
  %fp_m = bufferization.to_buffer %fp : tensor<3x1x2xf32> to memref<3x1x2xf32>
  %fp_u = memref.cast %fp_m : memref<3x1x2xf32> to memref<*xf32>
  call @printMemrefF32(%fp_u) : (memref<*xf32>) -> ()

  // PonderNet: p = (0.731059, 0.268941 * 0.880797, rest) =
  // (0.731059, 0.236883, 0.0320586); N = 1 (first step); states 1, 2, 3.
  // CHECK-LABEL: pondernet
  // CHECK: {{\[}}{{\[}}[1],
  // CHECK-NEXT: [1]]],
  // CHECK-NEXT: {{\[}}[2],
  // CHECK-NEXT: [2]]],
  // CHECK-NEXT: {{\[}}[3],
  // CHECK-NEXT: [3]]]]
  // CHECK: {{\[}}[1, 0]]
  // CHECK: {{\[}}[0.731059, 0]],
  // CHECK-NEXT: [0.236883, 0]],
  // CHECK-NEXT: [0.0320586, 0]]]
  %py, %pn, %pr, %pp = ponder.halting_loop pondernet max_steps 3
      lengths(%len : tensor<1xi32>) halt(%w, %b : tensor<1x1xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<1x2x1xf32>) step(%n) {
    %u = ponder.step_embed %s, %ones[%n] : tensor<1x2x1xf32>, tensor<3x1xf32>
    ponder.yield %u : tensor<1x2x1xf32>
  }
  vector.print str "pondernet\n"
  %py_m = bufferization.to_buffer %py : tensor<3x1x2x1xf32> to memref<3x1x2x1xf32>
  %py_u = memref.cast %py_m : memref<3x1x2x1xf32> to memref<*xf32>
  call @printMemrefF32(%py_u) : (memref<*xf32>) -> ()
  %pn_m = bufferization.to_buffer %pn : tensor<1x2xi32> to memref<1x2xi32>
  %pn_u = memref.cast %pn_m : memref<1x2xi32> to memref<*xi32>
  call @printMemrefI32(%pn_u) : (memref<*xi32>) -> ()
  %pp_m = bufferization.to_buffer %pp : tensor<3x1x2xf32> to memref<3x1x2xf32>
  %pp_u = memref.cast %pp_m : memref<3x1x2xf32> to memref<*xf32>
  call @printMemrefF32(%pp_u) : (memref<*xf32>) -> ()
  return
}
