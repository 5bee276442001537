func.func @loop_init_rank(%x: tensor<6x8xf32>, %l: tensor<2xi32>) {
  %r:4 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<2xi32>)  iter_state(%s = %x : tensor<6x8xf32>) step(%n) {
    ponder.yield %s : tensor<6x8xf32>
  }
  return
}
