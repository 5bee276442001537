func.func @cache_write_steps(%new: tensor<3x2x1x8xf32>, %c: tensor<4x2x5x8xf32>, %l: tensor<2xi32>) {
  %w = ponder.cache_write %new into %c start(%l) lengths(%l) : tensor<3x2x1x8xf32>, tensor<4x2x5x8xf32>, tensor<2xi32>
  return
}
