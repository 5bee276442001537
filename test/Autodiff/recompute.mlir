// With recompute-states the loop is not taped: its VJP carries the body as
// a forward region and recomputes each step's state from the loop's input.
// RUN: ponder-opt %s --ponder-autodiff=recompute-states | FileCheck %s --check-prefix=RECOMPUTE
// RECOMPUTE-LABEL: func.func @recompute_grad(
// RECOMPUTE-NOT: tape
// RECOMPUTE: ponder.halting_loop_grad fixed max_steps 2 init(%arg0 : tensor<2x3x8xf32>)
// RECOMPUTE: } forward {
// RECOMPUTE-NEXT: ^bb0(%[[S:.*]]: tensor<2x3x8xf32>, %{{.*}}: index):
// RECOMPUTE-NEXT: %[[F:.*]] = ponder.linear %[[S]], %arg2
// RECOMPUTE-NEXT: ponder.yield %[[F]]
func.func @recompute(%x: tensor<2x3x8xf32>, %ids: tensor<2x3xi32>,
                     %w: tensor<8x8xf32> {ponder.param = "w"}) -> tensor<f32> {
  %lengths = arith.constant dense<3> : tensor<2xi32>
  %tw = arith.constant dense<1.0> : tensor<2x3xf32>
  %y, %steps, %rem, %probs = ponder.halting_loop fixed max_steps 2
      lengths(%lengths : tensor<2xi32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    %f = ponder.linear %s, %w : (tensor<2x3x8xf32>, tensor<8x8xf32>) -> tensor<2x3x8xf32>
    ponder.yield %f : tensor<2x3x8xf32>
  }
  %l = ponder.verbal_xent %y, %ids, %lengths, %tw vocab <verbal = 6, think = 2>
      : tensor<2x3x8xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}

func.func @recompute_step(%x: tensor<2x3x8xf32>, %ids: tensor<2x3xi32>, %w: tensor<8x8xf32>) -> tensor<f32> {
  %r:2 = ponder.gradient @recompute(%x, %ids, %w)
      : (tensor<2x3x8xf32>, tensor<2x3xi32>, tensor<8x8xf32>) -> (tensor<f32>, tensor<8x8xf32>)
  return %r#0 : tensor<f32>
}
