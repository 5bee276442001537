func.func @step_embed_rank(%s: tensor<f32>, %t: tensor<4x8xf32>, %n: index) {
  %u = ponder.step_embed %s, %t[%n] : tensor<f32>, tensor<4x8xf32>
  return
}
