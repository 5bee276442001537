func.func @cost_remainder_rank(%s: tensor<2x3xi32>, %r: tensor<6xf32>, %p: tensor<4x2x3xf32>, %l: tensor<2xi32>) {
  %y = ponder.ponder_cost act %s, %r, %p, %l  : tensor<2x3xi32>, tensor<6xf32>, tensor<4x2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}
