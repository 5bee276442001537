func.func @select_step_steps_rank(%x: tensor<4x2x3x5xf32>, %s: tensor<6xi32>) {
  %y = ponder.select_step %x, %s : (tensor<4x2x3x5xf32>, tensor<6xi32>) -> tensor<2x3x5xf32>
  return
}
