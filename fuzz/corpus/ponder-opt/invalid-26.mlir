func.func @attention_rank(%q: tensor<6x8xf32>, %l: tensor<6xi32>) {
  %y = ponder.attention %q, %q, %q, %l heads(2) : tensor<6x8xf32>, tensor<6xi32>
  return
}
