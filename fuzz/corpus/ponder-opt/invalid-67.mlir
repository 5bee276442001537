func.func @xent_step_probs_dims(%z: tensor<4x2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>, %p: tensor<5x2x3xf32>) {
  %y = ponder.verbal_xent %z, %ids, %l, %w step_probs(%p : tensor<5x2x3xf32>) vocab <verbal = 16, think = 8>  : tensor<4x2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}
