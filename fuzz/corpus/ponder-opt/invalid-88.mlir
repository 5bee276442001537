func.func @clip_max_norm(%g: tensor<4xf32>) {
  %y:2 = ponder.clip_global_norm %g max_norm(0.0) : tensor<4xf32> -> tensor<f32>
  return
}
