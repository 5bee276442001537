func.func @loop_halt_weight_rows(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<2x8xf32>, %b: tensor<1xf32>) {
  %r:4 = ponder.halting_loop pondernet max_steps 2 lengths(%l : tensor<2xi32>) halt(%w, %b : tensor<2x8xf32>, tensor<1xf32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}
