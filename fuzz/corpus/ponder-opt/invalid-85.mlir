func.func @adamw_beta1(%p: tensor<4xf32>, %lr: f32, %t: i64) {
  %y:3 = ponder.adamw %p, %p, %p, %p, %lr, %t, %lr {beta1 = 1.0 : f64} : tensor<4xf32>
  return
}
