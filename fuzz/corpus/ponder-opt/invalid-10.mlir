func.func @embed_result_width(%ids: tensor<2x3xi32>, %t: tensor<24x4xf32>, %p: tensor<8x4xf32>) {
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x3xi32>, tensor<24x4xf32>, tensor<8x4xf32>) -> tensor<2x3x8xf32>
  return
}
