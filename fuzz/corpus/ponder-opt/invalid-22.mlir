func.func @linear_in_features(%x: tensor<2x8xf32>, %w: tensor<4x6xf32>) {
  %y = ponder.linear %x, %w : (tensor<2x8xf32>, tensor<4x6xf32>) -> tensor<2x4xf32>
  return
}
