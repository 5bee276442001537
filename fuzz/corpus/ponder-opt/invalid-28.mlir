func.func @attention_lengths_batch(%q: tensor<2x3x8xf32>, %l: tensor<3xi32>) {
  %y = ponder.attention %q, %q, %q, %l heads(2) : tensor<2x3x8xf32>, tensor<3xi32>
  return
}
