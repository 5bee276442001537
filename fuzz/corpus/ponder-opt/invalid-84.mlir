func.func @cost_lambda_range(%s: tensor<2x3xi32>, %r: tensor<2x3xf32>, %p: tensor<4x2x3xf32>, %l: tensor<2xi32>) {
  %y = ponder.ponder_cost pondernet %s, %r, %p, %l {prior_lambda = 0.0 : f64} : tensor<2x3xi32>, tensor<2x3xf32>, tensor<4x2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}
