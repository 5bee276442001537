module attributes {ponder.max_seq = 20 : i64, ponder.max_think = 8 : i64, ponder.rollouts = 4 : i64, ponder.think_reward = "first_verbal_logprob", ponder.vocab = #ponder.vocab<verbal = 10, think = 3>} {
  func.func @forward(%arg0: tensor<?x?xi32> {ponder.input = "ids"}, %arg1: tensor<?xi32> {ponder.input = "lengths"}, %arg2: tensor<13x16xf32> {ponder.param = "embed.token"}, %arg3: tensor<20x16xf32> {ponder.param = "embed.position"}, %arg4: tensor<5x16xf32> {ponder.param = "embed.step"}, %arg5: tensor<16xf32> {ponder.param = "block.attn_norm.weight"}, %arg6: tensor<16x16xf32> {ponder.param = "block.attn.q.weight"}, %arg7: tensor<16x16xf32> {ponder.param = "block.attn.k.weight"}, %arg8: tensor<16x16xf32> {ponder.param = "block.attn.v.weight"}, %arg9: tensor<16x16xf32> {ponder.param = "block.attn.o.weight"}, %arg10: tensor<16xf32> {ponder.param = "block.ffn_norm.weight"}, %arg11: tensor<48x16xf32> {ponder.param = "block.ffn.up.weight"}, %arg12: tensor<16x48xf32> {ponder.param = "block.ffn.down.weight"}, %arg13: tensor<1x16xf32> {ponder.param = "halt.weight"}, %arg14: tensor<1xf32> {ponder.param = "halt.bias"}, %arg15: tensor<16xf32> {ponder.param = "out_norm.weight"}, %arg16: tensor<13x16xf32> {ponder.param = "unembed.weight"}) -> (tensor<?x?x13xf32> {ponder.output = "logits"}, tensor<?x?xi32> {ponder.output = "steps"}, tensor<?x?xf32> {ponder.output = "remainder"}) {
    %0 = ponder.embed %arg0, %arg2, %arg3 vocab <verbal = 10, think = 3> : (tensor<?x?xi32>, tensor<13x16xf32>, tensor<20x16xf32>) -> tensor<?x?x16xf32>
    %state, %steps, %remainder, %probs = ponder.halting_loop act max_steps 5 epsilon 5.000000e-02 lengths(%arg1 : tensor<?xi32>) halt(%arg13, %arg14 : tensor<1x16xf32>, tensor<1xf32>) iter_state(%s = %0 : tensor<?x?x16xf32>) step(%n) {
      %3 = ponder.step_embed %s, %arg4[%n] : tensor<?x?x16xf32>, tensor<5x16xf32>
      %4 = ponder.rms_norm %3, %arg5 epsilon(1.000000e-05) : tensor<?x?x16xf32>, tensor<16xf32>
      %5 = ponder.linear %4, %arg7 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
      %6 = ponder.linear %4, %arg8 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
      %7 = func.func @pocolicyh_advantage_dims(%z: tensor<2x3x24xf32>, %ids: tensor<2																																			x3xi32>, %l: tensor<2xi32>, %a: tensor<3x3xf32>) {
  %y = ponder.policy_loss %z, %ids, %l, %a vocab <verbal = 16, think = 8> : tensor<2x3x24xf32>{
  %y = ponder.policy_loss %z, %ids, %l, %a vocab <verbal = 16, think = 8> : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tenso<2xi32>, %a: tensor<3, think = 8> : tensor<2x3x232>
  return
}
er.linear %11, %arg11 : (tensor<?x?x16xf32>, tensor<48x16xf32>) -> tensor<?x?x48xf32>
      %13 = ponder.gelu %12': tensor<?x?x48xf32>
      %14 = ponder.linear %13, %arg12 : (tensor<?x?x48xf32>, tensor<16x48xf32>) -> tensor<?x?x16xf32>
      %15 = arith.addf %10, %14 : tensor<?x?x16xf32>
      ponder.yield %15 : tensor<?x?x16xf32>
    }
    %1 = ponder.rms_norm %state, %arg15 epsilon(1.000000e-05) : tensor<?x?x16xf32>, tensor<16xf32>
    %2 = ponder.linear %1, %arg16 : (tensor<?x?x16xf32>, tensor<13x16xf32>) -> tensor<?x?x13xf32>
    return %2, %steps, %remainder : tensor<?x?x13xf32>, tensor<?x?xi32>, tensor<?x?xf32>
  }
  func.func @decode(%arg0: tensor<?x?xi32> {ponder.input = "ids"}, %arg1: tensor<?xi32> {ponder.input = "lengths"}, %arg2: tensor<?xi32> {ponder.input = "start"}, %arg3: tensor<5x?x20x16xf32> {ponder.input = "cache.keys"}, %arg4: tensor<5x?x20x16xf32> {ponder.input = "cache.values"}, %arg5: tensor<13x16xf32> {ponder.param = "embed.token"}, %arg6: tensor<20x16xf32> {ponder.param = "embed.position"}, %arg7: tensor<5x16xf32> {ponder.param = "embed.step"}, %arg8: tensor<16xf32> {ponder.param = "block.attn_norm.weight"}, %arg9: tensor<16x16xf32> {ponder.param = "block.attn.q.weight"}, %arg10: tensor<16x16xf32> {ponder.param = "block.attn.k.weight"}, %arg11: tensor<16x16xf32> {ponder.param = "block.attn.v.weight"}, %arg12: tensor<16x16xf32> {ponder.param = "block.attn.o.weight"}, %arg13: tensor<16xf32> {ponder.param = "block.ffn_norm.weight"}, %arg14: tensor<48x16xf32> {ponder.param = "block.ffn.up.weight"}, %arg15: tensor<16x48xf32> {ponder.param = "block.ffn.down.weight"}, %arg16: tensor<1x16xf32> {ponder.param = "halt.weight"}, %arg17: tensor<1xf32> {ponder.param = "halt.bias"}, %arg18: tensor<16xf32> {ponder.param = "out_norm.weight"}, %arg19: tensor<13x16xf32> {ponder.param = "unembed.weight"}) -> (tensor<?x?x13xf32> {ponder.output = "logits"}, tensor<?x?xi32> {ponder.output = "steps"}, tensor<?x?xf32> {ponder.outpfunc.func @cost_pondernet_needs_lambda(%s: tensor<2x3xi32>, %r: tensor<2x3xf32>, %p: tensor<4x2x3xf32>, %l: tensor<3xi32>) {
  %y = ponder.ponder_cost pondernet %s, %r, %p, %l  : tensor<2x3xi32>, tensor<2x3xf32>, tensor<4x2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}
>, tensor<?xi32>) -> tensor<?x?x16xf32>
    %state, %steps, %remainder, %probs, %keys, %values = ponder.halting_loop act max_steps 5 epsilon 5.000000e-02 lengths(%arg1 : tensor<?xi32>) halt(%arg16, %arg17 : tensor<1x16xf32>, tensor<1xf32>) iter_state(%s = %0 : tensor<?x?x16xf32>) step(%n) kv_cache {
      %5 = ponder.step_embed %s, %arg7[%n] : tensor<?x?x16xf32>, tensor<5x16xf32>
      %6 = ponder.rms_norm %5, %arg8 epsilon(1.000000e-05) : tensor<?x?x16xf32>, tensor<16xf32>
      %7 = ponder.linear %6, %arg10 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
      %8 = ponder.linear %6, %arg11 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
      %9 = ponder.linear %6, %arg9 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
      %10 = ponder.cached_attention %9, %7, %8, %arg3, %arg4[%n] start(%arg2) lengths(%arg1) heads(4) : tensor<?x?x16xf32>, tensor<5x?x20x16xf32>, tensor<?xi32>
      %11 = ponder.linear %10, %arg12 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
      %12 = arith.addf %5, %11 : tensor<?x?x16xf32>
      %13 = ponder.rms_norm %12, %arg13 epsilon(1.000000e-05) : tensor<?x?x16xf32>, tensor<16xf32>
      %14 = ponder.linear %13, %arg14 : (tensor<?x?x16xf32>, tensor<48x16xf32>) -> tensor<?x?x48xf32>
      %15 = ponder.gelu %14 : tensor<?x?x48xf32>
      %16 = ponder.linear %15, %arg15 : (tensor<?x?x48xf32>, tensor<16x48xf32>) -> tensor<?x?x16xf32>
      %17 = arith.addf %12, %16 : tensor<?x?x16xf32>
      ponder.yield %17, %7, %8 : tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>
    } frozen {
    ^bb0(%s: tensor<?x?x16xf32>, %n: index):
      %5 = ponder.step_embed %s, %arg7[%n] : tensor<?x?x16xf32>, tensor<5x16xf32>
      %6 = ponder.rms_norm %5, %arg8 epsilon(1.000000e-05) : tensor<?x?x16xf32>, tensor<16xf32>
      %7 = ponder.linear %6, %arg10  :(tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
      %8 = ponder.linear %6, %arg11 : (tensor<?x?x16xf32>, tensor<16x16xf32>) -> tensor<?x?x16xf32>
      ponder.yield %7, %8 : tensor<?x?x16xf32>, tensor<?x?x16xf32>
    }
    %1 = ponder.rms_norm %state, %arg18 epsilon(1.000000e-05) : tensor<?x?x16xf32>, tensor<16xf32>
    %2 = ponder.linear %1, %arg19 : (tensor<?x?x16xf32>, tensor<13x16xf32>) -> tensor<?x?x13xf32>
    return %2, %steps, %remainder, %3, %4 : tensor<?x?x13xf32>, tensor<?x?xi32>, tensor<?x?xf32>, tensor<ÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿ5x?x20x16xf32>, tensor<5x?x20x16xf32>
  }
  func.func @loss(%arg0: tensor<?x?xi32> {ponder.input = "ids"}, %arg1: tensor<?xi32> {ponder.input = "lengths"}, %arg2: tensor<?x?xf32> {ponder.input = "target_weight"}, %arg3: tensor<?x?xf32> {ponder.input = "advantage"}, %arg4: tensor<13x16xf32> {ponder.param = "embed.token"}, %arg5: tensor<20x16xf32> {ponder.param = "embed.position"}, %arg6: tensor<5x16xf32> {ponder.param = "embed.step"}, %arg7: tensor<16xf32> {ponder.param = "block.attn_norm.weight"}, %arg8: tensor<16x16xf32> {ponder.param = "block.attn.q.weight"}, %arg9: tensor<16x16xf32> {ponder.param = "block.attn.k.weight"}, %arg10: tensor<16x16xf32> {ponder.param = "block.attn.v.weight"}, %arg11: tensor<16x16xf32> {ponder.param = "block.attn.o.weight"}, %arg12: tensor<16xf32> {ponder.param = "block.ffn_norm.weight"}, %arg13: tensor<48x16xf32> {ponder.param = "block.ffn.up.weight"}, %arg14: tensor<16x48xf32> {ponder.param = "block.ffn.down.weight"}, %arg15: tensor<1x16xf32> {ponder.param = "halt.weight"}, %arg16: tensor<1xf32> {ponder.param = "halt.bias"}, %arg17: tensor<16xf32> {ponder.param = "out_norm.weight"}, %arg18: tensor<13x16xf32> {ponder.param = "unembed.weight"}) -> (tensor<f32> {ponder.output = "loss"}, tensor<f32> {ponder.output = "loss.ce"}, tensor<f32> {ponder.output = "loss.ponder"}, tensor<f32> {ponder.output = "loss.policy"}, tensor<?x?x13xf32> {ponder.output = "logits"}, tensor<?x?xi32> {ponder.output = "steps"}, tensor<?x?xf32> {ponder.output = "remainder"er.output = "grad.embed.token"}, tensor<20x16xf32> {ponder.output = "grad.embed.position"}, tensor<5x16xf32> {ponder.output = "grad.embed.step"}, tensor<16xf32> {ponder.output = "grad.block.attn_norm.weight"}, tensor<16x16xf32> {ponder.output = "grad.block.attn.q.weight"}, tensor<16x16xf32> {ponder.output = "grad.block.attn.k.weight"}, tensor<16x16xf32> {ponder.output = "grad.block.attn.v.weight"}, tensor<16x6xf32>, tensor<16xf32>, Œš‘ŒÃÒ6x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<48x16xf32>, tensor<16x48xf32>, tensor<1x16xf32>, tensor<1xf32>, tensor<16xf32>, tensor<13x16xf32>
  }
}

