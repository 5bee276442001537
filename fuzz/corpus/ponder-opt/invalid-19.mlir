func.func @rms_norm_epsilon(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  %y = ponder.rms_norm %x, %w epsilon(0.0) : tensor<2x8xf32>, tensor<8xf32>
  return
}
