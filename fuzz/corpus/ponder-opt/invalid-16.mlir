func.func @rms_norm_rank(%x: tensor<f32>, %w: tensor<8xf32>) {
  %y = ponder.rms_norm %x, %w epsilon(1.0e-5) : tensor<f32>, tensor<8xf32>
  return
}
