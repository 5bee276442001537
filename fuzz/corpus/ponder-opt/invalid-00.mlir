func.func @vocab_verbal(%ids: tensor<2x3xi32>, %t: tensor<8x4xf32>, %p: tensor<8x4xf32>) {
  %x = ponder.embed %ids, %t, %p vocab <verbal = 0, think = 8> : (tensor<2x3xi32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<2x3x4xf32>
  return
}
