// Runs the lowered losses on the CPU against MODEL.md §5 worked by hand.
// Vocabulary: verbal {0, 1}, think {2}. Position 0 predicts token 1 (= 1)
// from z = (1, 2, 5): lse_verbal = log(e + e^2) = 2.313262,
// lse_all = log(e + e^2 + e^5) = 5.065884.
// RUN: ponder-opt %s --ponder-lower-to-llvm | \
// RUN: mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_c_runner_utils,%mlir_runner_utils,%omp | FileCheck %s

func.func @main() {
  %z = arith.constant dense<[[[1.0, 2.0, 5.0], [0.0, 0.0, 0.0]]]> : tensor<1x2x3xf32>
  %ids = arith.constant dense<[[0, 1]]> : tensor<1x2xi32>
  %len = arith.constant dense<[2]> : tensor<1xi32>
  %w = arith.constant dense<1.0> : tensor<1x2xf32>
  %adv = arith.constant dense<[[0.0, 2.0]]> : tensor<1x2xf32>

  // CE = -(2 - lse_verbal) = 0.313262.
  // CHECK: 0.313262
  %ce = ponder.verbal_xent %z, %ids, %len, %w vocab <verbal = 2, think = 1>
      : tensor<1x2x3xf32>, tensor<1x2xi32>, tensor<1xi32>, tensor<1x2xf32> -> tensor<f32>
  %ce_v = tensor.extract %ce[] : tensor<f32>
  vector.print %ce_v : f32

  // Smoothing 0.5: -(0.5 l_1 + 0.25 (l_0 + l_1)) = 0.563262.
  // CHECK: 0.563262
  %sm = ponder.verbal_xent %z, %ids, %len, %w vocab <verbal = 2, think = 1> {smoothing = 0.5 : f64}
      : tensor<1x2x3xf32>, tensor<1x2xi32>, tensor<1xi32>, tensor<1x2xf32> -> tensor<f32>
  %sm_v = tensor.extract %sm[] : tensor<f32>
  vector.print %sm_v : f32

  // A think target is masked out: no scored position, loss 0.
  // CHECK: 0
  %think_ids = arith.constant dense<[[0, 2]]> : tensor<1x2xi32>
  %masked = ponder.verbal_xent %z, %think_ids, %len, %w vocab <verbal = 2, think = 1>
      : tensor<1x2x3xf32>, tensor<1x2xi32>, tensor<1xi32>, tensor<1x2xf32> -> tensor<f32>
  %masked_v = tensor.extract %masked[] : tensor<f32>
  vector.print %masked_v : f32

  // Policy: a verbal token with A = 2: -2 (lse_verbal - lse_all) = 5.505244.
  // CHECK: 5.50524
  %pg = ponder.policy_loss %z, %ids, %len, %adv vocab <verbal = 2, think = 1>
      : tensor<1x2x3xf32>, tensor<1x2xi32>, tensor<1xi32>, tensor<1x2xf32> -> tensor<f32>
  %pg_v = tensor.extract %pg[] : tensor<f32>
  vector.print %pg_v : f32

  // ACT ponder cost: the one valid position has N + R = 2.25.
  // CHECK: 2.25
  %steps = arith.constant dense<[[2, 3]]> : tensor<1x2xi32>
  %rem = arith.constant dense<[[0.25, 0.5]]> : tensor<1x2xf32>
  %probs = arith.constant dense<[[[0.25, 1.0]], [[0.75, 0.0]]]> : tensor<2x1x2xf32>
  %one = arith.constant dense<[1]> : tensor<1xi32>
  %act = ponder.ponder_cost act %steps, %rem, %probs, %one
      : tensor<1x2xi32>, tensor<1x2xf32>, tensor<2x1x2xf32>, tensor<1xi32> -> tensor<f32>
  %act_v = tensor.extract %act[] : tensor<f32>
  vector.print %act_v : f32

  // PonderNet KL of p = (0.25, 0.75) to the geometric(0.5) prior truncated to
  // 2 steps, g = (2/3, 1/3): 0.36299.
  // CHECK: 0.36299
  %kl = ponder.ponder_cost pondernet %steps, %rem, %probs, %one {prior_lambda = 0.5 : f64}
      : tensor<1x2xi32>, tensor<1x2xf32>, tensor<2x1x2xf32>, tensor<1xi32> -> tensor<f32>
  %kl_v = tensor.extract %kl[] : tensor<f32>
  vector.print %kl_v : f32
  return
}
