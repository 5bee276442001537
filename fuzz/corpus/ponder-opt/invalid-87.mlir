func.func @adamw_epsilon(%p: tensor<4xf32>, %lr: f32, %t: i64) {
  %y:3 = ponder.adamw %p, %p, %p, %p, %lr, %t, %lr {epsilon = 0.0 : f64} : tensor<4xf32>
  return
}
