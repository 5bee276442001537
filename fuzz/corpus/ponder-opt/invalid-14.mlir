func.func @step_embed_table_rank(%s: tensor<2x3x8xf32>, %t: tensor<8xf32>, %n: index) {
  %u = ponder.step_embed %s, %t[%n] : tensor<2x3x8xf32>, tensor<8xf32>
  return
}
