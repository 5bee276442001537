func.func @loop_kv_cache_needs_frozen(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  %r:6 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<2xi32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) kv_cache {
    ponder.yield %s, %s, %s : tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>
  }
  return
}
