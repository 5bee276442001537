func.func @cost_lambda_only_pondernet(%s: tensor<2x3xi32>, %r: tensor<2x3xf32>, %p: tensor<4x2x3xf32>, %l: tensor<2xi32>) {
  %y = ponder.ponder_cost act %s, %r, %p, %l {prior_lambda = 0.2 : f64} : tensor<2x3xi32>, tensor<2x3xf32>, tensor<4x2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}
