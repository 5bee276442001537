func.func @attention_lengths_rank(%q: tensor<2x3x8xf32>, %l: tensor<2x1xi32>) {
  %y = ponder.attention %q, %q, %q, %l heads(2) : tensor<2x3x8xf32>, tensor<2x1xi32>
  return
}
