func.func @xent_mix_sum(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>, %r: tensor<2x3x24xf32>) {
  %y = ponder.verbal_xent %z, %ids, %l, %w reference(%r : tensor<2x3x24xf32>) vocab <verbal = 16, think = 8> {smoothing = 0.5 : f64, reference_mix = 0.75 : f64} : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}
