func.func @embed_position_rank(%ids: tensor<2x3xi32>, %t: tensor<24x4xf32>, %p: tensor<32xf32>) {
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x3xi32>, tensor<24x4xf32>, tensor<32xf32>) -> tensor<2x3x4xf32>
  return
}
