func.func @linear_result_leading(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  %y = ponder.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  return
}
