func.func @linear_input_rank(%x: tensor<f32>, %w: tensor<4x8xf32>) {
  %y = ponder.linear %x, %w : (tensor<f32>, tensor<4x8xf32>) -> tensor<4xf32>
  return
}
