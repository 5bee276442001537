func.func @attention_heads_positive(%q: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  %y = ponder.attention %q, %q, %q, %l heads(0) : tensor<2x3x8xf32>, tensor<2xi32>
  return
}
