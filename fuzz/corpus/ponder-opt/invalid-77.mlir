func.func @cost_steps_rank(%s: tensor<6xi32>, %r: tensor<2x3xf32>, %p: tensor<4x2x3xf32>, %l: tensor<2xi32>) {
  %y = ponder.ponder_cost act %s, %r, %p, %l  : tensor<6xi32>, tensor<2x3xf32>, tensor<4x2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}
