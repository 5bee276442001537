func.func @embed_max_seq(%ids: tensor<2x9xi32>, %t: tensor<24x4xf32>, %p: tensor<8x4xf32>) {
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x9xi32>, tensor<24x4xf32>, tensor<8x4xf32>) -> tensor<2x9x4xf32>
  return
}
