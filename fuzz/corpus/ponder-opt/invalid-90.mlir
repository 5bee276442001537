func.func @embed_start_batch(%ids: tensor<2x3xi32>, %token: tensor<4x8xf32>, %pos: tensor<5x8xf32>, %start: tensor<3xi32>) {
  %x = ponder.embed %ids, %token, %pos start(%start) vocab <verbal = 3, think = 1>
      : (tensor<2x3xi32>, tensor<4x8xf32>, tensor<5x8xf32>, tensor<3xi32>) -> tensor<2x3x8xf32>
  return
}
