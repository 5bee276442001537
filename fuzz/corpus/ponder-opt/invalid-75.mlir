func.func @policy_advantage_dims(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %a: tensor<3x3xf32>) {
  %y = ponder.policy_loss %z, %ids, %l, %a vocab <verbal = 16, think = 8> : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<3x3xf32> -> tensor<f32>
  return
}
