func.func @adamw_types(%p: tensor<4xf32>, %lr: f32, %t: i64, %q: tensor<5xf32>) {
  %y:3 = ponder.adamw %p, %q, %p, %p, %lr, %t, %lr : tensor<4xf32>
  return
}
