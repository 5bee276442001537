// ponder-autodiff on small functions: the reverse sweep emits each op's VJP
// in reverse order, sums cotangents of values with several uses, tapes and
// replays halting loops, and replaces ponder.gradient by a call.
// RUN: ponder-opt %s --ponder-autodiff --split-input-file --verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @loss(
// CHECK-LABEL: func.func @loss_grad(
// CHECK-SAME: -> (tensor<f32>, tensor<4x8xf32> {ponder.output = "grad.w"})
// CHECK: %[[H:.*]] = ponder.linear %arg0, %arg2
// CHECK: %[[G:.*]] = ponder.gelu %[[H]]
// CHECK: %[[S:.*]] = arith.addf %[[G]], %[[H]]
// CHECK: %[[L:.*]] = ponder.verbal_xent %[[S]]
// CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DS:.*]] = ponder.verbal_xent_grad %[[ONE]], %[[S]]
// CHECK: %[[DG:.*]] = ponder.gelu_grad %[[DS]], %[[H]]
// The two uses of %h: the residual's cotangent and gelu's are summed.
// CHECK: %[[DH:.*]] = arith.addf %[[DS]], %[[DG]]
// CHECK: %{{.*}}, %[[DW:.*]] = ponder.linear_grad %[[DH]], %arg0, %arg2
// CHECK: return %[[L]], %[[DW]]
// CHECK-LABEL: func.func @step(
// CHECK: %[[R:.*]]:2 = call @loss_grad(%arg0, %arg1, %arg2)
// CHECK: return %[[R]]#0, %[[R]]#1
func.func @loss(%x: tensor<2x3x8xf32>, %ids: tensor<2x3xi32>,
                %w: tensor<4x8xf32> {ponder.param = "w"}) -> tensor<f32> {
  %lengths = arith.constant dense<3> : tensor<2xi32>
  %tw = arith.constant dense<1.0> : tensor<2x3xf32>
  %h = ponder.linear %x, %w : (tensor<2x3x8xf32>, tensor<4x8xf32>) -> tensor<2x3x4xf32>
  %g = ponder.gelu %h : tensor<2x3x4xf32>
  %s = arith.addf %g, %h : tensor<2x3x4xf32>
  %l = ponder.verbal_xent %s, %ids, %lengths, %tw vocab <verbal = 3, think = 1>
      : tensor<2x3x4xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}

func.func @step(%x: tensor<2x3x8xf32>, %ids: tensor<2x3xi32>, %w: tensor<4x8xf32>)
    -> (tensor<f32>, tensor<4x8xf32>) {
  %r:2 = ponder.gradient @loss(%x, %ids, %w)
      : (tensor<2x3x8xf32>, tensor<2x3xi32>, tensor<4x8xf32>) -> (tensor<f32>, tensor<4x8xf32>)
  return %r#0, %r#1 : tensor<f32>, tensor<4x8xf32>
}

// -----

// The loop gains a tape; its VJP recomputes the body from the taped state
// and yields the cotangents of the state and of the weights it reads.
// CHECK-LABEL: func.func @loop_grad(
// CHECK: %[[Y:.*]], %[[N:.*]], %[[R:.*]], %[[P:.*]], %[[TAPE:.*]] = ponder.halting_loop act max_steps 3 {{.*}} step(%{{.*}}) tape {
// CHECK: ponder.halting_loop_grad act max_steps 3 {{.*}} tape(%[[TAPE]] : tensor<4x2x3x8xf32>) steps(%[[N]] : tensor<2x3xi32>) remainder(%[[R]], %{{.*}} : tensor<2x3xf32>) probs(%[[P]], %{{.*}} : tensor<3x2x3xf32>) state_grad(%{{.*}} : tensor<2x3x8xf32>) -> tensor<2x3x8xf32>, tensor<1x8xf32>, tensor<1xf32> captured tensor<8x8xf32> {
// CHECK-NEXT: ^bb0(%[[S:.*]]: tensor<2x3x8xf32>, %{{.*}}: index, %[[DF:.*]]: tensor<2x3x8xf32>):
// CHECK-NEXT: ponder.linear %[[S]], %arg3
// CHECK-NEXT: %[[DS:.*]], %[[DW:.*]] = ponder.linear_grad %[[DF]], %[[S]], %arg3
// CHECK-NEXT: ponder.yield %[[DS]], %[[DW]]
func.func @loop(%x: tensor<2x3x8xf32>, %ids: tensor<2x3xi32>,
                %hw: tensor<1x8xf32> {ponder.param = "halt.weight"},
                %w: tensor<8x8xf32> {ponder.param = "w"},
                %hb: tensor<1xf32> {ponder.param = "halt.bias"}) -> tensor<f32> {
  %lengths = arith.constant dense<3> : tensor<2xi32>
  %tw = arith.constant dense<1.0> : tensor<2x3xf32>
  %y, %steps, %rem, %probs = ponder.halting_loop act max_steps 3 epsilon 1.0e-2
      lengths(%lengths : tensor<2xi32>) halt(%hw, %hb : tensor<1x8xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    %f = ponder.linear %s, %w : (tensor<2x3x8xf32>, tensor<8x8xf32>) -> tensor<2x3x8xf32>
    ponder.yield %f : tensor<2x3x8xf32>
  }
  %cost = ponder.ponder_cost act %steps, %rem, %probs, %lengths
      : tensor<2x3xi32>, tensor<2x3xf32>, tensor<3x2x3xf32>, tensor<2xi32> -> tensor<f32>
  %l = ponder.verbal_xent %y, %ids, %lengths, %tw vocab <verbal = 6, think = 2>
      : tensor<2x3x8xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  %total = arith.addf %l, %cost : tensor<f32>
  return %total : tensor<f32>
}

func.func @loop_step(%x: tensor<2x3x8xf32>, %ids: tensor<2x3xi32>, %hw: tensor<1x8xf32>,
                     %w: tensor<8x8xf32>, %hb: tensor<1xf32>) -> tensor<f32> {
  %r:4 = ponder.gradient @loop(%x, %ids, %hw, %w, %hb)
      : (tensor<2x3x8xf32>, tensor<2x3xi32>, tensor<1x8xf32>, tensor<8x8xf32>, tensor<1xf32>)
      -> (tensor<f32>, tensor<1x8xf32>, tensor<8x8xf32>, tensor<1xf32>)
  return %r#0 : tensor<f32>
}

// -----

func.func @not_scalar(%x: tensor<4xf32> {ponder.param = "x"}) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

func.func @uses_not_scalar(%x: tensor<4xf32>) {
  // expected-error @+1 {{can only be differentiated when its first result is a scalar loss}}
  %r:2 = ponder.gradient @not_scalar(%x) : (tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @divides(%x: tensor<f32> {ponder.param = "x"}) -> tensor<f32> {
  // expected-error @+1 {{'arith.divf' op cannot be differentiated by ponder-autodiff (no vector-Jacobian product)}}
  %y = arith.divf %x, %x : tensor<f32>
  return %y : tensor<f32>
}

func.func @uses_divides(%x: tensor<f32>) {
  %r:2 = ponder.gradient @divides(%x) : (tensor<f32>) -> (tensor<f32>, tensor<f32>)
  return
}

// -----

func.func @wrong_results(%x: tensor<f32> {ponder.param = "x"}) -> tensor<f32> {
  return %x : tensor<f32>
}

func.func @uses_wrong_results(%x: tensor<f32>) {
  // expected-error @+1 {{results must be @wrong_results's results followed by one gradient per 'ponder.param' argument}}
  %r = ponder.gradient @wrong_results(%x) : (tensor<f32>) -> tensor<f32>
  return
}

// -----

// A thought chain: autodiff recomputes its region once at the fixed point,
// above a thought_chain_grad whose region is the reverse sweep of that
// region; it yields the thoughts' cotangent first, then the weights'.
// CHECK-LABEL: func.func @chain_loss_grad(
// CHECK: %[[C:.*]]:3 = ponder.thought_chain
// CHECK: %[[X:.*]] = ponder.embed %arg0, %arg3, %arg4 thoughts(%[[C]]#2)
// CHECK: ponder.linear %[[X]], %arg5
// CHECK: %[[G:.*]]:3 = ponder.thought_chain_grad ids(%arg0 : tensor<?x?xi32>) lengths(%arg1 : tensor<?xi32>) thoughts(%[[C]]#2 : tensor<?x?x8xf32>) grads(%{{.*}}, %{{.*}} : tensor<?x?x8xf32>, tensor<?x?x17xf32>) vocab <verbal = 16, think = 1> -> tensor<17x8xf32>, tensor<16x8xf32>, tensor<17x8xf32>
// CHECK-NEXT: ^bb0(%[[DZ:.*]]: tensor<?x?x8xf32>, %[[DL:.*]]: tensor<?x?x17xf32>):
// CHECK-NEXT: %[[DXL:.*]], %[[DU:.*]] = ponder.linear_grad %[[DL]], %[[X]], %arg5
// CHECK-NEXT: %[[DX:.*]] = arith.addf %[[DZ]], %[[DXL]]
// CHECK-NEXT: %[[DT:.*]], %[[DP:.*]], %[[DH:.*]] = ponder.embed_grad %[[DX]], %arg0 vocab <verbal = 16, think = 1> thoughts
// CHECK-NEXT: ponder.yield %[[DH]], %[[DT]], %[[DP]], %[[DU]] :
// CHECK: return %{{.*}}, %[[G]]#0, %[[G]]#1, %[[G]]#2
func.func @chain_loss(%ids: tensor<?x?xi32> {ponder.input = "ids"},
                      %lengths: tensor<?xi32> {ponder.input = "lengths"},
                      %w: tensor<?x?xf32> {ponder.input = "target_weight"},
                      %tok: tensor<17x8xf32> {ponder.param = "embed.token"},
                      %pos: tensor<16x8xf32> {ponder.param = "embed.position"},
                      %u: tensor<17x8xf32> {ponder.param = "unembed.weight"})
    -> tensor<f32> {
  %z, %logits, %h = ponder.thought_chain ids(%ids : tensor<?x?xi32>)
      lengths(%lengths : tensor<?xi32>) vocab <verbal = 16, think = 1>
      -> (tensor<?x?x8xf32>, tensor<?x?x17xf32>) thoughts tensor<?x?x8xf32> {
  ^bb0(%in: tensor<?x?x8xf32>):
    %x = ponder.embed %ids, %tok, %pos thoughts(%in) vocab <verbal = 16, think = 1>
        : (tensor<?x?xi32>, tensor<17x8xf32>, tensor<16x8xf32>, tensor<?x?x8xf32>) -> tensor<?x?x8xf32>
    %l = ponder.linear %x, %u : (tensor<?x?x8xf32>, tensor<17x8xf32>) -> tensor<?x?x17xf32>
    ponder.yield %x, %l : tensor<?x?x8xf32>, tensor<?x?x17xf32>
  }
  %ce = ponder.verbal_xent %logits, %ids, %lengths, %w vocab <verbal = 16, think = 1>
      : tensor<?x?x17xf32>, tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32> -> tensor<f32>
  return %ce : tensor<f32>
}

func.func @chain_step(%ids: tensor<?x?xi32>, %lengths: tensor<?xi32>, %w: tensor<?x?xf32>,
                      %tok: tensor<17x8xf32>, %pos: tensor<16x8xf32>, %u: tensor<17x8xf32>)
    -> (tensor<f32>, tensor<17x8xf32>, tensor<16x8xf32>, tensor<17x8xf32>) {
  %r:4 = ponder.gradient @chain_loss(%ids, %lengths, %w, %tok, %pos, %u)
      : (tensor<?x?xi32>, tensor<?xi32>, tensor<?x?xf32>, tensor<17x8xf32>, tensor<16x8xf32>, tensor<17x8xf32>)
      -> (tensor<f32>, tensor<17x8xf32>, tensor<16x8xf32>, tensor<17x8xf32>)
  return %r#0, %r#1, %r#2, %r#3 : tensor<f32>, tensor<17x8xf32>, tensor<16x8xf32>, tensor<17x8xf32>
}
