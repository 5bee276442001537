func.func @attention_heads_divide(%q: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  %y = ponder.attention %q, %q, %q, %l heads(3) : tensor<2x3x8xf32>, tensor<2xi32>
  return
}
