// ponder-compact-halting-loops: an ACT loop's body keeps the key/value slice
// on every position and runs the rest on the gathered running positions;
// autodiff then passes the positions to the loop's gradient. Fixed-depth
// loops, and bodies whose query side mixes positions, stay dense.
// RUN: ponder-opt %s --ponder-compact-halting-loops | FileCheck %s
// RUN: ponder-opt %s --ponder-compact-halting-loops --ponder-autodiff \
// RUN:   | FileCheck %s --check-prefix=GRAD

// The block of MODEL.md §4 (d = 8, 2 heads, d_ff = 16).
// CHECK-LABEL: func.func @block
// CHECK: ponder.halting_loop act {{.*}} step(%n) positions(%positions : tensor<?xi32>) {
// Key/value slice: every position.
// CHECK-NEXT: %[[U:.*]] = ponder.step_embed %s
// CHECK-NEXT: %[[X:.*]] = ponder.rms_norm %[[U]]
// CHECK-NEXT: %[[K:.*]] = ponder.linear %[[X]], %arg3
// CHECK-NEXT: %[[V:.*]] = ponder.linear %[[X]], %arg4
// Query slice: the running rows.
// CHECK-NEXT: %[[XG:.*]] = ponder.gather_positions %[[X]][%positions]
// CHECK-NEXT: %[[Q:.*]] = ponder.linear %[[XG]], %arg2
// CHECK-NEXT: %[[A:.*]] = ponder.attention %[[Q]], %[[K]], %[[V]], %arg1 positions(%positions : tensor<?xi32>) heads(2)
// CHECK-NEXT: %[[O:.*]] = ponder.linear %[[A]], %arg5
// CHECK-NEXT: %[[UG:.*]] = ponder.gather_positions %[[U]][%positions]
// CHECK-NEXT: %[[R:.*]] = arith.addf %[[UG]], %[[O]]
// CHECK-NEXT: ponder.rms_norm %[[R]]
// CHECK-NEXT: ponder.linear
// CHECK-NEXT: ponder.gelu
// CHECK-NEXT: %[[D:.*]] = ponder.linear
// CHECK-NEXT: %[[F:.*]] = arith.addf %[[R]], %[[D]]
// CHECK-NEXT: %[[S:.*]] = ponder.scatter_positions %[[F]] into %s[%positions]
// CHECK-NEXT: ponder.yield %[[S]]

// The backward region replays the positions: a fourth argument.
// GRAD-LABEL: func.func @block_grad
// GRAD: ponder.halting_loop act {{.*}} positions(%positions : tensor<?xi32>) tape
// GRAD: ponder.halting_loop_grad act max_steps 4 epsilon {{.*}} compact
// GRAD: ^bb0(%{{.*}}: tensor<?x?x8xf32>, %{{.*}}: index, %{{.*}}: tensor<?x?x8xf32>, %[[P:.*]]: tensor<?xi32>):
// GRAD: ponder.attention_grad {{.*}} positions(%[[P]] : tensor<?xi32>)
// GRAD: ponder.scatter_positions
func.func @block(%x: tensor<?x?x8xf32>, %len: tensor<?xi32>,
                 %wq: tensor<8x8xf32> {ponder.param = "q"},
                 %wk: tensor<8x8xf32> {ponder.param = "k"},
                 %wv: tensor<8x8xf32> {ponder.param = "v"},
                 %wo: tensor<8x8xf32> {ponder.param = "o"},
                 %up: tensor<16x8xf32> {ponder.param = "up"},
                 %down: tensor<8x16xf32> {ponder.param = "down"},
                 %step: tensor<4x8xf32> {ponder.param = "step"},
                 %g: tensor<8xf32> {ponder.param = "g"},
                 %hw: tensor<1x8xf32> {ponder.param = "hw"},
                 %hb: tensor<1xf32> {ponder.param = "hb"})
    -> tensor<f32> {
  %y, %steps, %rem, %probs = ponder.halting_loop act max_steps 4 epsilon 1.000000e-02
      lengths(%len : tensor<?xi32>) halt(%hw, %hb : tensor<1x8xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<?x?x8xf32>) step(%n) {
    %u = ponder.step_embed %s, %step[%n] : tensor<?x?x8xf32>, tensor<4x8xf32>
    %xn = ponder.rms_norm %u, %g epsilon(1.000000e-05) : tensor<?x?x8xf32>, tensor<8xf32>
    %k = ponder.linear %xn, %wk : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %v = ponder.linear %xn, %wv : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %q = ponder.linear %xn, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %a = ponder.attention %q, %k, %v, %len heads(2) : tensor<?x?x8xf32>, tensor<?xi32>
    %o = ponder.linear %a, %wo : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %r = arith.addf %u, %o : tensor<?x?x8xf32>
    %rn = ponder.rms_norm %r, %g epsilon(1.000000e-05) : tensor<?x?x8xf32>, tensor<8xf32>
    %h = ponder.linear %rn, %up : (tensor<?x?x8xf32>, tensor<16x8xf32>) -> tensor<?x?x16xf32>
    %gl = ponder.gelu %h : tensor<?x?x16xf32>
    %d = ponder.linear %gl, %down : (tensor<?x?x16xf32>, tensor<8x16xf32>) -> tensor<?x?x8xf32>
    %f = arith.addf %r, %d : tensor<?x?x8xf32>
    ponder.yield %f : tensor<?x?x8xf32>
  }
  %c = ponder.ponder_cost act %steps, %rem, %probs, %len : tensor<?x?xi32>, tensor<?x?xf32>, tensor<4x?x?xf32>, tensor<?xi32> -> tensor<f32>
  return %c : tensor<f32>
}

func.func @train(%x: tensor<?x?x8xf32>, %len: tensor<?xi32>,
                 %wq: tensor<8x8xf32>, %wk: tensor<8x8xf32>,
                 %wv: tensor<8x8xf32>, %wo: tensor<8x8xf32>,
                 %up: tensor<16x8xf32>, %down: tensor<8x16xf32>,
                 %step: tensor<4x8xf32>, %g: tensor<8xf32>,
                 %hw: tensor<1x8xf32>, %hb: tensor<1xf32>) -> tensor<f32> {
  %r:11 = ponder.gradient @block(%x, %len, %wq, %wk, %wv, %wo, %up, %down, %step, %g, %hw, %hb)
      : (tensor<?x?x8xf32>, tensor<?xi32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<1x8xf32>, tensor<1xf32>)
      -> (tensor<f32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<1x8xf32>, tensor<1xf32>)
  return %r#0 : tensor<f32>
}

// Fixed depth runs every position every step: nothing to compact.
// CHECK-LABEL: func.func @fixed
// CHECK: ponder.halting_loop fixed {{.*}} step(%n) {
// CHECK-NOT: gather_positions
// CHECK: ponder.yield
func.func @fixed(%x: tensor<?x?x8xf32>, %len: tensor<?xi32>, %wq: tensor<8x8xf32>) -> tensor<?x?x8xf32> {
  %y, %steps, %rem, %probs = ponder.halting_loop fixed max_steps 2
      lengths(%len : tensor<?xi32>) iter_state(%s = %x : tensor<?x?x8xf32>) step(%n) {
    %q = ponder.linear %s, %wq : (tensor<?x?x8xf32>, tensor<8x8xf32>) -> tensor<?x?x8xf32>
    %a = ponder.attention %q, %s, %s, %len heads(2) : tensor<?x?x8xf32>, tensor<?xi32>
    ponder.yield %a : tensor<?x?x8xf32>
  }
  return %y : tensor<?x?x8xf32>
}

// A second attention on the query side mixes positions: left dense.
// CHECK-LABEL: func.func @two_attentions
// CHECK: ponder.halting_loop act {{.*}} step(%n) {
// CHECK-NOT: gather_positions
// CHECK: ponder.yield
func.func @two_attentions(%x: tensor<?x?x8xf32>, %len: tensor<?xi32>, %hw: tensor<1x8xf32>, %hb: tensor<1xf32>) -> tensor<?x?x8xf32> {
  %y, %steps, %rem, %probs = ponder.halting_loop act max_steps 2 epsilon 1.000000e-02
      lengths(%len : tensor<?xi32>) halt(%hw, %hb : tensor<1x8xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<?x?x8xf32>) step(%n) {
    %a = ponder.attention %s, %s, %s, %len heads(2) : tensor<?x?x8xf32>, tensor<?xi32>
    %b = ponder.attention %a, %s, %s, %len heads(2) : tensor<?x?x8xf32>, tensor<?xi32>
    ponder.yield %b : tensor<?x?x8xf32>
  }
  return %y : tensor<?x?x8xf32>
}
