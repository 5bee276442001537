func.func @cached_attention_cache_rank(%q: tensor<2x1x8xf32>, %c: tensor<2x5x8xf32>, %n: index, %l: tensor<2xi32>) {
  %a = ponder.cached_attention %q, %q, %q, %c, %c[%n] start(%l) lengths(%l) heads(2)
      : tensor<2x1x8xf32>, tensor<2x5x8xf32>, tensor<2xi32>
  return
}
