func.func @xent_ids_rank(%z: tensor<2x3x24xf32>, %ids: tensor<6xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>) {
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8>  : tensor<2x3x24xf32>, tensor<6xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}
