func.func @layers(%ids: tensor<?x?xi32>, %lengths: tensor<?xi32>,
                  %token: tensor<24x64xf32>, %pos: tensor<32x64xf32>,
                  %steps: tensor<4x64xf32>, %norm: tensor<64xf32>,
                  %wq: tensor<64x64xf32>, %up: tensor<256x64xf32>)
    -> tensor<?x?x256xf32> {
  %x = ponder.embed %ids, %token, %pos vocab <verbal = 16, think = 8>
      : (tensor<?x?xi32>, tensor<24x64xf32>, tensor<32x64xf32>) -> tensor<?x?x64xf32>
  %c1 = arith.constant 1 : index
  %u = ponder.step_embed %x, %steps[%c1] : tensor<?x?x64xf32>, tensor<4x64xf32>
  %n = ponder.rms_norm %u, %norm epsilon(1.0e-5) : tensor<?x?x64xf32>, tensor<64xf32>
  %q = ponder.linear %n, %wq : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %a = ponder.attention %q, %q, %q, %lengths heads(4) : tensor<?x?x64xf32>, tensor<?xi32>
  %h = ponder.linear %a, %up : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
  %g = ponder.gelu %h : tensor<?x?x256xf32>
  return %g : tensor<?x?x256xf32>
}

func.func @act_loop(%x: tensor<?x?x64xf32>, %lengths: tensor<?xi32>,
                    %hw: tensor<1x64xf32>, %hb: tensor<1xf32>,
                    %table: tensor<8x64xf32>)
    -> (tensor<?x?x64xf32>, tensor<?x?xi32>, tensor<?x?xf32>, tensor<8x?x?xf32>) {
  %state, %steps, %rem, %probs = ponder.halting_loop act max_steps 8 epsilon 1.0e-2
      lengths(%lengths : tensor<?xi32>) halt(%hw, %hb : tensor<1x64xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<?x?x64xf32>) step(%n) {
    %u = ponder.step_embed %s, %table[%n] : tensor<?x?x64xf32>, tensor<8x64xf32>
    ponder.yield %u : tensor<?x?x64xf32>
  }
  return %state, %steps, %rem, %probs
      : tensor<?x?x64xf32>, tensor<?x?xi32>, tensor<?x?xf32>, tensor<8x?x?xf32>
}

func.func @fixed_loop(%x: tensor<2x5x64xf32>, %lengths: tensor<2xi32>)
    -> tensor<2x5x64xf32> {
  %state, %steps, %rem, %probs = ponder.halting_loop fixed max_steps 3
      lengths(%lengths : tensor<2xi32>) iter_state(%s = %x : tensor<2x5x64xf32>)
      step(%n) attributes {note = "kept"} {
    ponder.yield %s : tensor<2x5x64xf32>
  }
  return %state : tensor<2x5x64xf32>
}

func.func @pondernet_loop(%x: tensor<?x?x64xf32>, %lengths: tensor<?xi32>,
                          %hw: tensor<1x64xf32>, %hb: tensor<1xf32>,
                          %unembed: tensor<24x64xf32>)
    -> tensor<?x?x24xf32> {
  %state, %steps, %rem, %probs = ponder.halting_loop pondernet max_steps 6
      lengths(%lengths : tensor<?xi32>) halt(%hw, %hb : tensor<1x64xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<?x?x64xf32>) step(%n) {
    ponder.yield %s : tensor<?x?x64xf32>
  }
  %logits = ponder.linear %state, %unembed
      : (tensor<6x?x?x64xf32>, tensor<24x64xf32>) -> tensor<6x?x?x24xf32>
  %reported = ponder.select_step %logits, %steps
      : (tensor<6x?x?x24xf32>, tensor<?x?xi32>) -> tensor<?x?x24xf32>
  return %reported : tensor<?x?x24xf32>
}

func.func @decode_step(%ids: tensor<?x?xi32>, %lengths: tensor<?xi32>,
                       %start: tensor<?xi32>, %token: tensor<24x64xf32>,
                       %pos: tensor<32x64xf32>, %table: tensor<8x64xf32>,
                       %hw: tensor<1x64xf32>, %hb: tensor<1xf32>,
                       %kc: tensor<8x?x32x64xf32>, %vc: tensor<8x?x32x64xf32>)
    -> (tensor<8x?x?x64xf32>, tensor<8x?x?x64xf32>) {
  %x = ponder.embed %ids, %token, %pos start(%start) vocab <verbal = 16, think = 8>
      : (tensor<?x?xi32>, tensor<24x64xf32>, tensor<32x64xf32>, tensor<?xi32>) -> tensor<?x?x64xf32>
  %y, %steps, %rem, %probs, %keys, %values = ponder.halting_loop act max_steps 8 epsilon 1.0e-2
      lengths(%lengths : tensor<?xi32>) halt(%hw, %hb : tensor<1x64xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<?x?x64xf32>) step(%n) kv_cache {
    %u = ponder.step_embed %s, %table[%n] : tensor<?x?x64xf32>, tensor<8x64xf32>
    %a = ponder.cached_attention %u, %u, %u, %kc, %vc[%n] start(%start) lengths(%lengths) heads(4)
        : tensor<?x?x64xf32>, tensor<8x?x32x64xf32>, tensor<?xi32>
    ponder.yield %a, %u, %u : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
  } frozen {
  ^bb0(%fs: tensor<?x?x64xf32>, %fn: index):
    %u = ponder.step_embed %fs, %table[%fn] : tensor<?x?x64xf32>, tensor<8x64xf32>
    ponder.yield %u, %u : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  }
  return %keys, %values : tensor<8x?x?x64xf32>, tensor<8x?x?x64xf32>
}

func.func @losses(%logits: tensor<?x?x24xf32>, %ids: tensor<?x?xi32>,
                  %lengths: tensor<?xi32>, %w: tensor<?x?xf32>,
                  %adv: tensor<?x?xf32>, %ref: tensor<?x?x24xf32>,
                  %steps: tensor<?x?xi32>, %rem: tensor<?x?xf32>,
                  %probs: tensor<6x?x?xf32>, %per_step: tensor<6x?x?x24xf32>)
    -> (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>) {
  %ce = ponder.verbal_xent %logits, %ids, %lengths, %w vocab <verbal = 16, think = 8>
      : tensor<?x?x24xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  %soft = ponder.verbal_xent %logits, %ids, %lengths, %w reference(%ref : tensor<?x?x24xf32>)
      vocab <verbal = 16, think = 8>
      {smoothing = 0.1 : f64, reference_mix = 0.25 : f64, reference_temperature = 2.0 : f64}
      : tensor<?x?x24xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  %pn = ponder.verbal_xent %per_step, %ids, %lengths, %w step_probs(%probs : tensor<6x?x?xf32>)
      vocab <verbal = 16, think = 8>
      : tensor<6x?x?x24xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  %pg = ponder.policy_loss %logits, %ids, %lengths, %adv vocab <verbal = 16, think = 8>
      : tensor<?x?x24xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  %act = ponder.ponder_cost act %steps, %rem, %probs, %lengths
      : tensor<?x?xi32>, tensor<?x?xf32>, tensor<6x?x?xf32>, tensor<?xi32> -> tensor<f32>
  %kl = ponder.ponder_cost pondernet %steps, %rem, %probs, %lengths {prior_lambda = 0.2 : f64}
      : tensor<?x?xi32>, tensor<?x?xf32>, tensor<6x?x?xf32>, tensor<?xi32> -> tensor<f32>
  return %ce, %soft, %pn, %pg, %act, %kl
      : tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>
}

func.func @optimiser(%p: tensor<64x64xf32>, %g: tensor<64x64xf32>,
                     %m: tensor<64x64xf32>, %v: tensor<64x64xf32>,
                     %lr: f32, %t: i64)
    -> (tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) {
  %clipped:2, %norm = ponder.clip_global_norm %g, %g max_norm(1.0)
      : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<f32>
  %p2, %m2, %v2 = ponder.adamw %p, %clipped#0, %m, %v, %lr, %t, %lr {beta2 = 0.999 : f64}
      : tensor<64x64xf32>
  return %p2, %m2, %v2 : tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>
}
