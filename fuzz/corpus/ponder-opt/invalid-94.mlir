func.func @cached_attention_heads(%q: tensor<2x1x8xf32>, %c: tensor<4x2x5x8xf32>, %n: index, %l: tensor<2xi32>) {
  %a = ponder.cached_attention %q, %q, %q, %c, %c[%n] start(%l) lengths(%l) heads(3)
      : tensor<2x1x8xf32>, tensor<4x2x5x8xf32>, tensor<2xi32>
  return
}
