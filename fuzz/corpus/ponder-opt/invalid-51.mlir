func.func @select_step_rank(%x: tensor<2x3xf32>, %s: tensor<2x3xi32>) {
  %y = ponder.select_step %x, %s : (tensor<2x3xf32>, tensor<2x3xi32>) -> tensor<3xf32>
  return
}
