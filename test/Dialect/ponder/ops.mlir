// Round trip of every ponder op: print, parse, print again.
// RUN: ponder-opt %s | ponder-opt | FileCheck %s
// RUN: ponder-opt %s --mlir-print-op-generic | ponder-opt | FileCheck %s

// CHECK-LABEL: func.func @layers
func.func @layers(%ids: tensor<?x?xi32>, %lengths: tensor<?xi32>,
                  %token: tensor<24x64xf32>, %pos: tensor<32x64xf32>,
                  %steps: tensor<4x64xf32>, %norm: tensor<64xf32>,
                  %wq: tensor<64x64xf32>, %up: tensor<256x64xf32>)
    -> tensor<?x?x256xf32> {
  // CHECK: %[[X:.*]] = ponder.embed %{{.*}}, %{{.*}}, %{{.*}} vocab <verbal = 16, think = 8> : (tensor<?x?xi32>, tensor<24x64xf32>, tensor<32x64xf32>) -> tensor<?x?x64xf32>
  %x = ponder.embed %ids, %token, %pos vocab <verbal = 16, think = 8>
      : (tensor<?x?xi32>, tensor<24x64xf32>, tensor<32x64xf32>) -> tensor<?x?x64xf32>
  %c1 = arith.constant 1 : index
  // CHECK: ponder.step_embed %[[X]], %{{.*}}[%{{.*}}] : tensor<?x?x64xf32>, tensor<4x64xf32>
  %u = ponder.step_embed %x, %steps[%c1] : tensor<?x?x64xf32>, tensor<4x64xf32>
  // CHECK: ponder.rms_norm %{{.*}}, %{{.*}} epsilon(1.000000e-05) : tensor<?x?x64xf32>, tensor<64xf32>
  %n = ponder.rms_norm %u, %norm epsilon(1.0e-5) : tensor<?x?x64xf32>, tensor<64xf32>
  // CHECK: ponder.linear %{{.*}}, %{{.*}} : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  %q = ponder.linear %n, %wq : (tensor<?x?x64xf32>, tensor<64x64xf32>) -> tensor<?x?x64xf32>
  // CHECK: ponder.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} heads(4) : tensor<?x?x64xf32>, tensor<?xi32>
  %a = ponder.attention %q, %q, %q, %lengths heads(4) : tensor<?x?x64xf32>, tensor<?xi32>
  %h = ponder.linear %a, %up : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
  // CHECK: ponder.gelu %{{.*}} : tensor<?x?x256xf32>
  %g = ponder.gelu %h : tensor<?x?x256xf32>
  return %g : tensor<?x?x256xf32>
}

// CHECK-LABEL: func.func @act_loop
func.func @act_loop(%x: tensor<?x?x64xf32>, %lengths: tensor<?xi32>,
                    %hw: tensor<1x64xf32>, %hb: tensor<1xf32>,
                    %table: tensor<8x64xf32>)
    -> (tensor<?x?x64xf32>, tensor<?x?xi32>, tensor<?x?xf32>, tensor<8x?x?xf32>) {
  // CHECK: %[[STATE:.*]], %[[STEPS:.*]], %[[REM:.*]], %[[PROBS:.*]] = ponder.halting_loop act max_steps 8 epsilon 1.000000e-02 lengths(%{{.*}} : tensor<?xi32>) halt(%{{.*}}, %{{.*}} : tensor<1x64xf32>, tensor<1xf32>) iter_state(%[[S:.*]] = %{{.*}} : tensor<?x?x64xf32>) step(%[[N:.*]]) {
  // CHECK-NEXT: %[[U:.*]] = ponder.step_embed %[[S]], %{{.*}}[%[[N]]]
  // CHECK-NEXT: ponder.yield %[[U]] : tensor<?x?x64xf32>
  // CHECK-NEXT: }
  %state, %steps, %rem, %probs = ponder.halting_loop act max_steps 8 epsilon 1.0e-2
      lengths(%lengths : tensor<?xi32>) halt(%hw, %hb : tensor<1x64xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<?x?x64xf32>) step(%n) {
    %u = ponder.step_embed %s, %table[%n] : tensor<?x?x64xf32>, tensor<8x64xf32>
    ponder.yield %u : tensor<?x?x64xf32>
  }
  return %state, %steps, %rem, %probs
      : tensor<?x?x64xf32>, tensor<?x?xi32>, tensor<?x?xf32>, tensor<8x?x?xf32>
}

// A compacted loop: the running positions, gathered rows and attention
// over them.
// CHECK-LABEL: func.func @compact_loop
func.func @compact_loop(%x: tensor<?x?x64xf32>, %lengths: tensor<?xi32>,
                        %hw: tensor<1x64xf32>, %hb: tensor<1xf32>)
    -> tensor<?x?x64xf32> {
  // CHECK: step(%[[N:.*]]) positions(%[[P:.*]] : tensor<?xi32>) {
  // CHECK-NEXT: %[[G:.*]] = ponder.gather_positions %[[S:.*]][%[[P]]] : tensor<?x?x64xf32>, tensor<?xi32>
  // CHECK-NEXT: %[[A:.*]] = ponder.attention %[[G]], %[[S]], %[[S]], %{{.*}} positions(%[[P]] : tensor<?xi32>) heads(4) : tensor<?x?x64xf32>, tensor<?xi32>
  // CHECK-NEXT: %[[R:.*]] = ponder.scatter_positions %[[A]] into %[[S]][%[[P]]] : tensor<?x?x64xf32>, tensor<?xi32>
  // CHECK-NEXT: ponder.yield %[[R]]
  %state, %steps, %rem, %probs = ponder.halting_loop act max_steps 4 epsilon 1.0e-2
      lengths(%lengths : tensor<?xi32>) halt(%hw, %hb : tensor<1x64xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<?x?x64xf32>) step(%n) positions(%p : tensor<?xi32>) {
    %g = ponder.gather_positions %s[%p] : tensor<?x?x64xf32>, tensor<?xi32>
    %a = ponder.attention %g, %s, %s, %lengths positions(%p : tensor<?xi32>) heads(4) : tensor<?x?x64xf32>, tensor<?xi32>
    %r = ponder.scatter_positions %a into %s[%p] : tensor<?x?x64xf32>, tensor<?xi32>
    ponder.yield %r : tensor<?x?x64xf32>
  }
  return %state : tensor<?x?x64xf32>
}

// CHECK-LABEL: func.func @fixed_loop
func.func @fixed_loop(%x: tensor<2x5x64xf32>, %lengths: tensor<2xi32>)
    -> tensor<2x5x64xf32> {
  // CHECK: ponder.halting_loop fixed max_steps 3 lengths(%{{.*}} : tensor<2xi32>) iter_state(%{{.*}} = %{{.*}} : tensor<2x5x64xf32>) step(%{{.*}}) attributes {note = "kept"} {
  %state, %steps, %rem, %probs = ponder.halting_loop fixed max_steps 3
      lengths(%lengths : tensor<2xi32>) iter_state(%s = %x : tensor<2x5x64xf32>)
      step(%n) attributes {note = "kept"} {
    ponder.yield %s : tensor<2x5x64xf32>
  }
  return %state : tensor<2x5x64xf32>
}

// CHECK-LABEL: func.func @pondernet_loop
func.func @pondernet_loop(%x: tensor<?x?x64xf32>, %lengths: tensor<?xi32>,
                          %hw: tensor<1x64xf32>, %hb: tensor<1xf32>,
                          %unembed: tensor<24x64xf32>)
    -> tensor<?x?x24xf32> {
  // CHECK: ponder.halting_loop pondernet max_steps 6 lengths
  %state, %steps, %rem, %probs = ponder.halting_loop pondernet max_steps 6
      lengths(%lengths : tensor<?xi32>) halt(%hw, %hb : tensor<1x64xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<?x?x64xf32>) step(%n) {
    ponder.yield %s : tensor<?x?x64xf32>
  }
  %logits = ponder.linear %state, %unembed
      : (tensor<6x?x?x64xf32>, tensor<24x64xf32>) -> tensor<6x?x?x24xf32>
  // CHECK: ponder.select_step %{{.*}}, %{{.*}} : (tensor<6x?x?x24xf32>, tensor<?x?xi32>) -> tensor<?x?x24xf32>
  %reported = ponder.select_step %logits, %steps
      : (tensor<6x?x?x24xf32>, tensor<?x?xi32>) -> tensor<?x?x24xf32>
  return %reported : tensor<?x?x24xf32>
}

// CHECK-LABEL: func.func @decode_step
func.func @decode_step(%ids: tensor<?x?xi32>, %lengths: tensor<?xi32>,
                       %start: tensor<?xi32>, %token: tensor<24x64xf32>,
                       %pos: tensor<32x64xf32>, %table: tensor<8x64xf32>,
                       %hw: tensor<1x64xf32>, %hb: tensor<1xf32>,
                       %kc: tensor<8x?x32x64xf32>, %vc: tensor<8x?x32x64xf32>)
    -> (tensor<8x?x?x64xf32>, tensor<8x?x?x64xf32>) {
  // CHECK: ponder.embed %{{.*}}, %{{.*}}, %{{.*}} start(%{{.*}}) vocab <verbal = 16, think = 8> : (tensor<?x?xi32>, tensor<24x64xf32>, tensor<32x64xf32>, tensor<?xi32>) -> tensor<?x?x64xf32>
  %x = ponder.embed %ids, %token, %pos start(%start) vocab <verbal = 16, think = 8>
      : (tensor<?x?xi32>, tensor<24x64xf32>, tensor<32x64xf32>, tensor<?xi32>) -> tensor<?x?x64xf32>
  // CHECK: %[[Y:.*]], %{{.*}}, %{{.*}}, %{{.*}}, %[[KEYS:.*]], %[[VALUES:.*]] = ponder.halting_loop act max_steps 8 epsilon 1.000000e-02 lengths(%{{.*}} : tensor<?xi32>) halt(%{{.*}}, %{{.*}} : tensor<1x64xf32>, tensor<1xf32>) iter_state(%[[S:.*]] = %{{.*}} : tensor<?x?x64xf32>) step(%[[N:.*]]) kv_cache {
  // CHECK-NEXT: %[[U:.*]] = ponder.step_embed %[[S]], %{{.*}}[%[[N]]]
  // CHECK-NEXT: %[[A:.*]] = ponder.cached_attention %[[U]], %[[U]], %[[U]], %{{.*}}, %{{.*}}[%[[N]]] start(%{{.*}}) lengths(%{{.*}}) heads(4) : tensor<?x?x64xf32>, tensor<8x?x32x64xf32>, tensor<?xi32>
  // CHECK-NEXT: ponder.yield %[[A]], %[[U]], %[[U]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
  // CHECK-NEXT: } frozen {
  // CHECK-NEXT: ^bb0(%[[FS:.*]]: tensor<?x?x64xf32>, %[[FN:.*]]: index):
  // CHECK-NEXT: %[[FU:.*]] = ponder.step_embed %[[FS]], %{{.*}}[%[[FN]]]
  // CHECK-NEXT: ponder.yield %[[FU]], %[[FU]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>
  // CHECK-NEXT: }
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
  // CHECK: return %[[KEYS]], %[[VALUES]] : tensor<8x?x?x64xf32>, tensor<8x?x?x64xf32>
  return %keys, %values : tensor<8x?x?x64xf32>, tensor<8x?x?x64xf32>
}

// CHECK-LABEL: func.func @losses
func.func @losses(%logits: tensor<?x?x24xf32>, %ids: tensor<?x?xi32>,
                  %lengths: tensor<?xi32>, %w: tensor<?x?xf32>,
                  %adv: tensor<?x?xf32>, %ref: tensor<?x?x24xf32>,
                  %steps: tensor<?x?xi32>, %rem: tensor<?x?xf32>,
                  %probs: tensor<6x?x?xf32>, %per_step: tensor<6x?x?x24xf32>)
    -> (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>) {
  // CHECK: ponder.verbal_xent %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} vocab <verbal = 16, think = 8> : tensor<?x?x24xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  %ce = ponder.verbal_xent %logits, %ids, %lengths, %w vocab <verbal = 16, think = 8>
      : tensor<?x?x24xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  // CHECK: ponder.verbal_xent {{.*}} reference(%{{.*}} : tensor<?x?x24xf32>) vocab <verbal = 16, think = 8> {reference_mix = 2.500000e-01 : f64, reference_temperature = 2.000000e+00 : f64, smoothing = 1.000000e-01 : f64}
  %soft = ponder.verbal_xent %logits, %ids, %lengths, %w reference(%ref : tensor<?x?x24xf32>)
      vocab <verbal = 16, think = 8>
      {smoothing = 0.1 : f64, reference_mix = 0.25 : f64, reference_temperature = 2.0 : f64}
      : tensor<?x?x24xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  // CHECK: ponder.verbal_xent {{.*}} step_probs(%{{.*}} : tensor<6x?x?xf32>) vocab
  %pn = ponder.verbal_xent %per_step, %ids, %lengths, %w step_probs(%probs : tensor<6x?x?xf32>)
      vocab <verbal = 16, think = 8>
      : tensor<6x?x?x24xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  // CHECK: ponder.policy_loss %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} vocab <verbal = 16, think = 8> : tensor<?x?x24xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  %pg = ponder.policy_loss %logits, %ids, %lengths, %adv vocab <verbal = 16, think = 8>
      : tensor<?x?x24xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  // CHECK: ponder.ponder_cost act %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?xi32>, tensor<?x?xf32>, tensor<6x?x?xf32>, tensor<?xi32> -> tensor<f32>
  %act = ponder.ponder_cost act %steps, %rem, %probs, %lengths
      : tensor<?x?xi32>, tensor<?x?xf32>, tensor<6x?x?xf32>, tensor<?xi32> -> tensor<f32>
  // CHECK: ponder.ponder_cost pondernet {{.*}} {prior_lambda = 2.000000e-01 : f64}
  %kl = ponder.ponder_cost pondernet %steps, %rem, %probs, %lengths {prior_lambda = 0.2 : f64}
      : tensor<?x?xi32>, tensor<?x?xf32>, tensor<6x?x?xf32>, tensor<?xi32> -> tensor<f32>
  return %ce, %soft, %pn, %pg, %act, %kl
      : tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>
}

// CHECK-LABEL: func.func @thought_chain
func.func @thought_chain(%ids: tensor<?x?xi32>, %lengths: tensor<?xi32>,
                         %tok: tensor<17x8xf32>, %pos: tensor<16x8xf32>,
                         %w: tensor<8xf32>, %u: tensor<17x8xf32>,
                         %adv: tensor<?x?xf32>, %carry: tensor<?x8xf32>,
                         %start: tensor<?xi32>)
    -> (tensor<?x?x17xf32>, tensor<f32>, tensor<?x?x8xf32>) {
  // CHECK: ponder.thought_chain ids(%{{.*}} : tensor<?x?xi32>) lengths(%{{.*}} : tensor<?xi32>) vocab <verbal = 16, think = 1> -> (tensor<?x?x8xf32>, tensor<?x?x17xf32>) thoughts tensor<?x?x8xf32> {
  // CHECK-NEXT: ^bb0(%h: tensor<?x?x8xf32>):
  // CHECK-NEXT: ponder.embed %{{.*}}, %{{.*}}, %{{.*}} thoughts(%h) vocab <verbal = 16, think = 1>
  %z, %logits, %h = ponder.thought_chain ids(%ids : tensor<?x?xi32>)
      lengths(%lengths : tensor<?xi32>) vocab <verbal = 16, think = 1>
      -> (tensor<?x?x8xf32>, tensor<?x?x17xf32>) thoughts tensor<?x?x8xf32> {
  ^bb0(%in: tensor<?x?x8xf32>):
    %x = ponder.embed %ids, %tok, %pos thoughts(%in) vocab <verbal = 16, think = 1>
        : (tensor<?x?xi32>, tensor<17x8xf32>, tensor<16x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    %n = ponder.rms_norm %x, %w epsilon(1.0e-05) : tensor<?x?x8xf32>, tensor<8xf32>
    %l = ponder.linear %n, %u : (tensor<?x?x8xf32>, tensor<17x8xf32>) -> tensor<?x?x17xf32>
    ponder.yield %n, %l : tensor<?x?x8xf32>, tensor<?x?x17xf32>
  }
  // CHECK: ponder.policy_loss {{.*}} vocab <verbal = 16, think = 1> grouped :
  %pg = ponder.policy_loss %logits, %ids, %lengths, %adv vocab <verbal = 16, think = 1> grouped
      : tensor<?x?x17xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  // CHECK: ponder.thought_chain {{.*}} carry(%{{.*}} : tensor<?x8xf32>) vocab
  // CHECK: ponder.embed {{.*}} start(%{{.*}}) thoughts(%h)
  %z2, %h2 = ponder.thought_chain ids(%ids : tensor<?x?xi32>)
      lengths(%lengths : tensor<?xi32>) carry(%carry : tensor<?x8xf32>)
      vocab <verbal = 16, think = 1> -> (tensor<?x?x8xf32>)
      thoughts tensor<?x?x8xf32> {
  ^bb0(%in: tensor<?x?x8xf32>):
    %x = ponder.embed %ids, %tok, %pos start(%start) thoughts(%in) vocab <verbal = 16, think = 1>
        : (tensor<?x?xi32>, tensor<17x8xf32>, tensor<16x8xf32>, tensor<?xi32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    %n = ponder.rms_norm %x, %w epsilon(1.0e-05) : tensor<?x?x8xf32>, tensor<8xf32>
    ponder.yield %n : tensor<?x?x8xf32>
  }
  return %logits, %pg, %z2 : tensor<?x?x17xf32>, tensor<f32>, tensor<?x?x8xf32>
}

// CHECK-LABEL: func.func @optimiser
func.func @optimiser(%p: tensor<64x64xf32>, %g: tensor<64x64xf32>,
                     %m: tensor<64x64xf32>, %v: tensor<64x64xf32>,
                     %lr: f32, %t: i64)
    -> (tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) {
  // CHECK: %[[G:.*]]:2, %[[NORM:.*]] = ponder.clip_global_norm %{{.*}}, %{{.*}} max_norm(1.000000e+00) : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<f32>
  %clipped:2, %norm = ponder.clip_global_norm %g, %g max_norm(1.0)
      : tensor<64x64xf32>, tensor<64x64xf32> -> tensor<f32>
  // CHECK: ponder.adamw %{{.*}}, %[[G]]#0, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {beta2 = 0.99899999999999999 : f64} : tensor<64x64xf32>
  %p2, %m2, %v2 = ponder.adamw %p, %clipped#0, %m, %v, %lr, %t, %lr {beta2 = 0.999 : f64}
      : tensor<64x64xf32>
  return %p2, %m2, %v2 : tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>
}
