func.func @embed_ids_rank(%ids: tensor<6xi32>, %t: tensor<24x4xf32>, %p: tensor<8x4xf32>) {
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<6xi32>, tensor<24x4xf32>, tensor<8x4xf32>) -> tensor<2x3x4xf32>
  return
}
