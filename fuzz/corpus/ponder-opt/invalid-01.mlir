func.func @vocab_think(%ids: tensor<2x3xi32>, %t: tensor<8x4xf32>, %p: tensor<8x4xf32>) {
  %x = ponder.embed %ids, %t, %p vocab <verbal = 9, think = -1> : (tensor<2x3xi32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<2x3x4xf32>
  return
}
