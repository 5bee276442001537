func.func @loop_lengths_rank(%x: tensor<2x3x8xf32>, %l: tensor<2x1xi32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) {
  %r:4 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<2x1xi32>)  iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}
