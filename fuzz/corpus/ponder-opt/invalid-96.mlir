func.func @cache_write_too_long(%new: tensor<4x2x6x8xf32>, %c: tensor<4x2x5x8xf32>, %l: tensor<2xi32>) {
  %w = ponder.cache_write %new into %c start(%l) lengths(%l) : tensor<4x2x6x8xf32>, tensor<4x2x5x8xf32>, tensor<2xi32>
  return
}
