func.func @loop_body_state_type(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  %r:4 = "ponder.halting_loop"(%x, %l) <{max_steps = 2 : i64, mode = 0 : i32, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> ({
  ^bb0(%s: tensor<2x3x4xf32>, %n: index):
    "ponder.yield"(%s) : (tensor<2x3x4xf32>) -> ()
  }, {}) : (tensor<2x3x8xf32>, tensor<2xi32>) -> (tensor<2x3x8xf32>, tensor<2x3xi32>, tensor<2x3xf32>, tensor<2x2x3xf32>)
  return
}
