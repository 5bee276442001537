func.func @rms_norm_weight_rank(%x: tensor<2x8xf32>, %w: tensor<1x8xf32>) {
  %y = ponder.rms_norm %x, %w epsilon(1.0e-5) : tensor<2x8xf32>, tensor<1x8xf32>
  return
}
