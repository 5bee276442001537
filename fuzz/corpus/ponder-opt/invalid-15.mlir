func.func @step_embed_width(%s: tensor<2x3x8xf32>, %t: tensor<4x6xf32>, %n: index) {
  %u = ponder.step_embed %s, %t[%n] : tensor<2x3x8xf32>, tensor<4x6xf32>
  return
}
