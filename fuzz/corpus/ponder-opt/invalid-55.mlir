func.func @select_step_result_dims(%x: tensor<4x2x3x5xf32>, %s: tensor<2x3xi32>) {
  %y = ponder.select_step %x, %s : (tensor<4x2x3x5xf32>, tensor<2x3xi32>) -> tensor<2x3x6xf32>
  return
}
