func.func @rms_norm_weight_size(%x: tensor<2x8xf32>, %w: tensor<7xf32>) {
  %y = ponder.rms_norm %x, %w epsilon(1.0e-5) : tensor<2x8xf32>, tensor<7xf32>
  return
}
