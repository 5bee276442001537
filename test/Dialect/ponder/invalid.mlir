// One case per verifier rule of the ponder dialect; each message names the
// operand, the expected shape or range, and what was found.
// RUN: ponder-opt %s -split-input-file -verify-diagnostics

func.func @vocab_verbal(%ids: tensor<2x3xi32>, %t: tensor<8x4xf32>, %p: tensor<8x4xf32>) {
  // expected-error @+1 {{vocab: expected verbal >= 1 (at least one verbal id), got 0}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 0, think = 8> : (tensor<2x3xi32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @vocab_think(%ids: tensor<2x3xi32>, %t: tensor<8x4xf32>, %p: tensor<8x4xf32>) {
  // expected-error @+1 {{vocab: expected think >= 0, got -1}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 9, think = -1> : (tensor<2x3xi32>, tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @embed_ids_rank(%ids: tensor<6xi32>, %t: tensor<24x4xf32>, %p: tensor<8x4xf32>) {
  // expected-error @+1 {{'ids' must have rank 2 ([B, T]), got 'tensor<6xi32>'}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<6xi32>, tensor<24x4xf32>, tensor<8x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @embed_token_rank(%ids: tensor<2x3xi32>, %t: tensor<96xf32>, %p: tensor<8x4xf32>) {
  // expected-error @+1 {{'token' must have rank 2 ([V, d])}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x3xi32>, tensor<96xf32>, tensor<8x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @embed_position_rank(%ids: tensor<2x3xi32>, %t: tensor<24x4xf32>, %p: tensor<32xf32>) {
  // expected-error @+1 {{'position' must have rank 2 ([max_seq, d])}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x3xi32>, tensor<24x4xf32>, tensor<32xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @embed_result_rank(%ids: tensor<2x3xi32>, %t: tensor<24x4xf32>, %p: tensor<8x4xf32>) {
  // expected-error @+1 {{result must have rank 3 ([B, T, d])}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x3xi32>, tensor<24x4xf32>, tensor<8x4xf32>) -> tensor<6x4xf32>
  return
}

// -----

func.func @embed_vocab(%ids: tensor<2x3xi32>, %t: tensor<16x4xf32>, %p: tensor<8x4xf32>) {
  // expected-error @+1 {{'token' must have one row per id of the vocabulary, V = 24 (verbal 16 + think 8), got 16}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x3xi32>, tensor<16x4xf32>, tensor<8x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @embed_position_width(%ids: tensor<2x3xi32>, %t: tensor<24x4xf32>, %p: tensor<8x5xf32>) {
  // expected-error @+1 {{'position' dimension 1 must be the model width d of 'token' (4), got 5 in 'tensor<8x5xf32>'}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x3xi32>, tensor<24x4xf32>, tensor<8x5xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @embed_result_batch(%ids: tensor<2x3xi32>, %t: tensor<24x4xf32>, %p: tensor<8x4xf32>) {
  // expected-error @+1 {{result dimension 0 must be the batch size of 'ids' (2), got 5}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x3xi32>, tensor<24x4xf32>, tensor<8x4xf32>) -> tensor<5x3x4xf32>
  return
}

// -----

func.func @embed_result_seq(%ids: tensor<2x3xi32>, %t: tensor<24x4xf32>, %p: tensor<8x4xf32>) {
  // expected-error @+1 {{result dimension 1 must be the sequence length of 'ids' (3), got 7}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x3xi32>, tensor<24x4xf32>, tensor<8x4xf32>) -> tensor<2x7x4xf32>
  return
}

// -----

func.func @embed_result_width(%ids: tensor<2x3xi32>, %t: tensor<24x4xf32>, %p: tensor<8x4xf32>) {
  // expected-error @+1 {{result dimension 2 must be the model width d of 'token' (4), got 8}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x3xi32>, tensor<24x4xf32>, tensor<8x4xf32>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @embed_max_seq(%ids: tensor<2x9xi32>, %t: tensor<24x4xf32>, %p: tensor<8x4xf32>) {
  // expected-error @+1 {{sequence length 9 of 'ids' exceeds max_seq = 8 (rows of 'position')}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x9xi32>, tensor<24x4xf32>, tensor<8x4xf32>) -> tensor<2x9x4xf32>
  return
}

// -----

func.func @embed_id_type(%ids: tensor<2x3xi64>, %t: tensor<24x4xf32>, %p: tensor<8x4xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit signless integer values}}
  %x = ponder.embed %ids, %t, %p vocab <verbal = 16, think = 8> : (tensor<2x3xi64>, tensor<24x4xf32>, tensor<8x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @step_embed_rank(%s: tensor<f32>, %t: tensor<4x8xf32>, %n: index) {
  // expected-error @+1 {{'state' must have rank >= 1 ([..., d]), got 'tensor<f32>'}}
  %u = ponder.step_embed %s, %t[%n] : tensor<f32>, tensor<4x8xf32>
  return
}

// -----

func.func @step_embed_table_rank(%s: tensor<2x3x8xf32>, %t: tensor<8xf32>, %n: index) {
  // expected-error @+1 {{'table' must have rank 2 ([N_max, d])}}
  %u = ponder.step_embed %s, %t[%n] : tensor<2x3x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @step_embed_width(%s: tensor<2x3x8xf32>, %t: tensor<4x6xf32>, %n: index) {
  // expected-error @+1 {{'table' dimension 1 must be the last dimension d of 'state' (8), got 6}}
  %u = ponder.step_embed %s, %t[%n] : tensor<2x3x8xf32>, tensor<4x6xf32>
  return
}

// -----

func.func @rms_norm_rank(%x: tensor<f32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'input' must have rank >= 1 ([..., d])}}
  %y = ponder.rms_norm %x, %w epsilon(1.0e-5) : tensor<f32>, tensor<8xf32>
  return
}

// -----

func.func @rms_norm_weight_rank(%x: tensor<2x8xf32>, %w: tensor<1x8xf32>) {
  // expected-error @+1 {{'weight' must have rank 1 ([d])}}
  %y = ponder.rms_norm %x, %w epsilon(1.0e-5) : tensor<2x8xf32>, tensor<1x8xf32>
  return
}

// -----

func.func @rms_norm_weight_size(%x: tensor<2x8xf32>, %w: tensor<7xf32>) {
  // expected-error @+1 {{'weight' dimension 0 must be the last dimension d of 'input' (8), got 7}}
  %y = ponder.rms_norm %x, %w epsilon(1.0e-5) : tensor<2x8xf32>, tensor<7xf32>
  return
}

// -----

func.func @rms_norm_epsilon(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{attribute 'epsilon' must be > 0, got 0}}
  %y = ponder.rms_norm %x, %w epsilon(0.0) : tensor<2x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @linear_input_rank(%x: tensor<f32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{'input' must have rank >= 1 ([..., in])}}
  %y = ponder.linear %x, %w : (tensor<f32>, tensor<4x8xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'weight' must have rank 2 ([out, in])}}
  %y = ponder.linear %x, %w : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_in_features(%x: tensor<2x8xf32>, %w: tensor<4x6xf32>) {
  // expected-error @+1 {{'weight' dimension 1 must be the last dimension (in-features) of 'input' (8), got 6}}
  %y = ponder.linear %x, %w : (tensor<2x8xf32>, tensor<4x6xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_result_rank(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{result must have the rank of 'input' (2), got 'tensor<4xf32>'}}
  %y = ponder.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @linear_result_leading(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{result dimension 0 must be the matching dimension of 'input' (2), got 3}}
  %y = ponder.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @linear_out_features(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  // expected-error @+1 {{result dimension 1 must be the out-features (dimension 0) of 'weight' (4), got 5}}
  %y = ponder.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x5xf32>
  return
}

// -----

func.func @attention_rank(%q: tensor<6x8xf32>, %l: tensor<6xi32>) {
  // expected-error @+1 {{'query' must have rank 3 ([B, T, d])}}
  %y = ponder.attention %q, %q, %q, %l heads(2) : tensor<6x8xf32>, tensor<6xi32>
  return
}

// -----

func.func @attention_lengths_rank(%q: tensor<2x3x8xf32>, %l: tensor<2x1xi32>) {
  // expected-error @+1 {{'lengths' must have rank 1 ([B])}}
  %y = ponder.attention %q, %q, %q, %l heads(2) : tensor<2x3x8xf32>, tensor<2x1xi32>
  return
}

// -----

func.func @attention_lengths_batch(%q: tensor<2x3x8xf32>, %l: tensor<3xi32>) {
  // expected-error @+1 {{'lengths' dimension 0 must be the batch size of 'query' (2), got 3}}
  %y = ponder.attention %q, %q, %q, %l heads(2) : tensor<2x3x8xf32>, tensor<3xi32>
  return
}

// -----

func.func @attention_heads_divide(%q: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{model width d = 8 must be divisible by heads = 3}}
  %y = ponder.attention %q, %q, %q, %l heads(3) : tensor<2x3x8xf32>, tensor<2xi32>
  return
}

// -----

func.func @attention_heads_positive(%q: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{attribute 'heads' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %y = ponder.attention %q, %q, %q, %l heads(0) : tensor<2x3x8xf32>, tensor<2xi32>
  return
}

// -----

func.func @loop_init_rank(%x: tensor<6x8xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'ponder.halting_loop' op 'init' must have rank 3 ([B, T, d]), got 'tensor<6x8xf32>'}}
  %r:4 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<2xi32>)  iter_state(%s = %x : tensor<6x8xf32>) step(%n) {
    ponder.yield %s : tensor<6x8xf32>
  }
  return
}

// -----

func.func @loop_lengths_rank(%x: tensor<2x3x8xf32>, %l: tensor<2x1xi32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{'lengths' must have rank 1 ([B])}}
  %r:4 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<2x1xi32>)  iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_lengths_batch(%x: tensor<2x3x8xf32>, %l: tensor<4xi32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{'lengths' dimension 0 must be the batch size of 'init' (2), got 4}}
  %r:4 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<4xi32>)  iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_act_needs_halt(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{'act' halting needs halt(weight, bias) operands}}
  %r:4 = ponder.halting_loop act max_steps 2 epsilon 0.01 lengths(%l : tensor<2xi32>)  iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_fixed_no_halt(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{'fixed' halting takes no halt(weight, bias) operands; remove them or use 'act'/'pondernet'}}
  %r:4 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<2xi32>) halt(%w, %b : tensor<1x8xf32>, tensor<1xf32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_halt_weight_rank(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<8xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{'halt_weight' must have rank 2 ([1, d])}}
  %r:4 = ponder.halting_loop pondernet max_steps 2 lengths(%l : tensor<2xi32>) halt(%w, %b : tensor<8xf32>, tensor<1xf32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_halt_weight_rows(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<2x8xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{'halt_weight' dimension 0 must be 1 (1), got 2}}
  %r:4 = ponder.halting_loop pondernet max_steps 2 lengths(%l : tensor<2xi32>) halt(%w, %b : tensor<2x8xf32>, tensor<1xf32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_halt_weight_width(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<1x4xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{'halt_weight' dimension 1 must be the model width d of 'init' (8), got 4}}
  %r:4 = ponder.halting_loop pondernet max_steps 2 lengths(%l : tensor<2xi32>) halt(%w, %b : tensor<1x4xf32>, tensor<1xf32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_halt_bias_rank(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<1x8xf32>, %b: tensor<f32>) {
  // expected-error @+1 {{'halt_bias' must have rank 1 ([1])}}
  %r:4 = ponder.halting_loop pondernet max_steps 2 lengths(%l : tensor<2xi32>) halt(%w, %b : tensor<1x8xf32>, tensor<f32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_halt_bias_size(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<1x8xf32>, %b: tensor<2xf32>) {
  // expected-error @+1 {{'halt_bias' dimension 0 must be 1 (1), got 2}}
  %r:4 = ponder.halting_loop pondernet max_steps 2 lengths(%l : tensor<2xi32>) halt(%w, %b : tensor<1x8xf32>, tensor<2xf32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_act_needs_epsilon(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{'act' halting needs an 'epsilon' in [0, 1)}}
  %r:4 = ponder.halting_loop act max_steps 2 lengths(%l : tensor<2xi32>) halt(%w, %b : tensor<1x8xf32>, tensor<1xf32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_epsilon_only_act(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{'epsilon' is only meaningful for 'act' halting, not 'pondernet'}}
  %r:4 = ponder.halting_loop pondernet max_steps 2 epsilon 0.1 lengths(%l : tensor<2xi32>) halt(%w, %b : tensor<1x8xf32>, tensor<1xf32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_epsilon_range(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{attribute 'epsilon' must be in [0, 1), got 1}}
  %r:4 = ponder.halting_loop act max_steps 2 epsilon 1.0 lengths(%l : tensor<2xi32>) halt(%w, %b : tensor<1x8xf32>, tensor<1xf32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_max_steps(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{attribute 'max_steps' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %r:4 = ponder.halting_loop fixed max_steps 0 lengths(%l : tensor<2xi32>)  iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_yield_type(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>, %other: tensor<2x3x4xf32>) {
  // expected-error @+2 {{'ponder.yield' op must yield the next state, each with the type of 'init' 'tensor<2x3x8xf32>', got ('tensor<2x3x4xf32>')}}
  %r:4 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<2xi32>)  iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %other : tensor<2x3x4xf32>
  }
  return
}

// -----

func.func @loop_mode_keyword(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>, %w: tensor<1x8xf32>, %b: tensor<1xf32>) {
  // expected-error @+1 {{expected halting mode 'fixed', 'act' or 'pondernet', got 'adaptive'}}
  %r:4 = ponder.halting_loop adaptive max_steps 2 lengths(%l : tensor<2xi32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_body_arity(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{body must have two arguments (state, step), got 1}}
  %r:4 = "ponder.halting_loop"(%x, %l) <{max_steps = 2 : i64, mode = 0 : i32, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> ({
  ^bb0(%s: tensor<2x3x8xf32>):
    "ponder.yield"(%s) : (tensor<2x3x8xf32>) -> ()
  }, {}) : (tensor<2x3x8xf32>, tensor<2xi32>) -> (tensor<2x3x8xf32>, tensor<2x3xi32>, tensor<2x3xf32>, tensor<2x2x3xf32>)
  return
}

// -----

func.func @loop_body_state_type(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{body state argument must have the type of 'init' 'tensor<2x3x8xf32>', got 'tensor<2x3x4xf32>'}}
  %r:4 = "ponder.halting_loop"(%x, %l) <{max_steps = 2 : i64, mode = 0 : i32, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> ({
  ^bb0(%s: tensor<2x3x4xf32>, %n: index):
    "ponder.yield"(%s) : (tensor<2x3x4xf32>) -> ()
  }, {}) : (tensor<2x3x8xf32>, tensor<2xi32>) -> (tensor<2x3x8xf32>, tensor<2x3xi32>, tensor<2x3xf32>, tensor<2x2x3xf32>)
  return
}

// -----

func.func @loop_body_step_type(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{body step argument must be 'index', got 'i64'}}
  %r:4 = "ponder.halting_loop"(%x, %l) <{max_steps = 2 : i64, mode = 0 : i32, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> ({
  ^bb0(%s: tensor<2x3x8xf32>, %n: i64):
    "ponder.yield"(%s) : (tensor<2x3x8xf32>) -> ()
  }, {}) : (tensor<2x3x8xf32>, tensor<2xi32>) -> (tensor<2x3x8xf32>, tensor<2x3xi32>, tensor<2x3xf32>, tensor<2x2x3xf32>)
  return
}

// -----

func.func @loop_result_types(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  // expected-error @+2 {{'ponder.halting_loop' op failed to infer returned types}}
  // expected-error @+1 {{'ponder.halting_loop' op inferred type(s) 'tensor<2x3x8xf32>', 'tensor<2x3xi32>', 'tensor<2x3xf32>', 'tensor<2x2x3xf32>' are incompatible with return type(s) of operation 'tensor<2x3x8xf32>', 'tensor<2x3xi32>', 'tensor<2x3xf32>', 'tensor<5x2x3xf32>'}}
  %r:4 = "ponder.halting_loop"(%x, %l) <{max_steps = 2 : i64, mode = 0 : i32, operandSegmentSizes = array<i32: 1, 1, 0, 0>}> ({
  ^bb0(%s: tensor<2x3x8xf32>, %n: index):
    "ponder.yield"(%s) : (tensor<2x3x8xf32>) -> ()
  }, {}) : (tensor<2x3x8xf32>, tensor<2xi32>) -> (tensor<2x3x8xf32>, tensor<2x3xi32>, tensor<2x3xf32>, tensor<5x2x3xf32>)
  return
}

// -----

func.func @select_step_rank(%x: tensor<2x3xf32>, %s: tensor<2x3xi32>) {
  // expected-error @+1 {{'input' must have rank >= 3 ([N_max, B, T, ...])}}
  %y = ponder.select_step %x, %s : (tensor<2x3xf32>, tensor<2x3xi32>) -> tensor<3xf32>
  return
}

// -----

func.func @select_step_steps_rank(%x: tensor<4x2x3x5xf32>, %s: tensor<6xi32>) {
  // expected-error @+1 {{'steps' must have rank 2 ([B, T])}}
  %y = ponder.select_step %x, %s : (tensor<4x2x3x5xf32>, tensor<6xi32>) -> tensor<2x3x5xf32>
  return
}

// -----

func.func @select_step_steps_dims(%x: tensor<4x2x3x5xf32>, %s: tensor<2x4xi32>) {
  // expected-error @+1 {{'steps' dimension 1 must be the matching dimension of 'input' (3), got 4}}
  %y = ponder.select_step %x, %s : (tensor<4x2x3x5xf32>, tensor<2x4xi32>) -> tensor<2x3x5xf32>
  return
}

// -----

func.func @select_step_result_rank(%x: tensor<4x2x3x5xf32>, %s: tensor<2x3xi32>) {
  // expected-error @+1 {{result must drop the leading step dimension of 'input' (rank 3)}}
  %y = ponder.select_step %x, %s : (tensor<4x2x3x5xf32>, tensor<2x3xi32>) -> tensor<4x2x3x5xf32>
  return
}

// -----

func.func @select_step_result_dims(%x: tensor<4x2x3x5xf32>, %s: tensor<2x3xi32>) {
  // expected-error @+1 {{result dimension 2 must be the matching dimension of 'input' (5), got 6}}
  %y = ponder.select_step %x, %s : (tensor<4x2x3x5xf32>, tensor<2x3xi32>) -> tensor<2x3x6xf32>
  return
}

// -----

func.func @xent_needs_step_probs(%z: tensor<4x2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>) {
  // expected-error @+1 {{per-step 'logits' [N_max, B, T, V] need 'step_probs' [N_max, B, T]}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8>  : tensor<4x2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_ids_rank(%z: tensor<2x3x24xf32>, %ids: tensor<6xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>) {
  // expected-error @+1 {{'ids' must have rank 2 ([B, T])}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8>  : tensor<2x3x24xf32>, tensor<6xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_lengths_rank(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2x1xi32>, %w: tensor<2x3xf32>) {
  // expected-error @+1 {{'lengths' must have rank 1 ([B])}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8>  : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2x1xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_lengths_batch(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<3xi32>, %w: tensor<2x3xf32>) {
  // expected-error @+1 {{'lengths' dimension 0 must be the batch size of 'ids' (2), got 3}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8>  : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<3xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_weight_rank(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<6xf32>) {
  // expected-error @+1 {{'target_weight' must have rank 2 ([B, T] like 'ids')}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8>  : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<6xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_weight_dims(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x4xf32>) {
  // expected-error @+1 {{'target_weight' dimension 1 must be the sequence length of 'ids' (3), got 4}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8>  : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x4xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_logits_rank(%z: tensor<6x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>) {
  // expected-error @+1 {{'logits' must have rank 3 ([B, T, V])}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8>  : tensor<6x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_logits_batch(%z: tensor<5x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>) {
  // expected-error @+1 {{'logits' dimension 0 must be the batch size of 'ids' (2), got 5}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8>  : tensor<5x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_logits_seq(%z: tensor<2x4x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>) {
  // expected-error @+1 {{'logits' dimension 1 must be the sequence length of 'ids' (3), got 4}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8>  : tensor<2x4x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_logits_vocab(%z: tensor<2x3x16xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>) {
  // expected-error @+1 {{'logits' last dimension must be the vocabulary size V = 24 (verbal 16 + think 8), got 16}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8>  : tensor<2x3x16xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_step_probs_rank(%z: tensor<4x2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>, %p: tensor<4x6xf32>) {
  // expected-error @+1 {{'step_probs' must have rank 3 ([N_max, B, T])}}
  %y = ponder.verbal_xent %z, %ids, %l, %w step_probs(%p : tensor<4x6xf32>) vocab <verbal = 16, think = 8>  : tensor<4x2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_step_probs_dims(%z: tensor<4x2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>, %p: tensor<5x2x3xf32>) {
  // expected-error @+1 {{'step_probs' dimension 0 must be the matching dimension of 'logits' (4), got 5}}
  %y = ponder.verbal_xent %z, %ids, %l, %w step_probs(%p : tensor<5x2x3xf32>) vocab <verbal = 16, think = 8>  : tensor<4x2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_smoothing_range(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>) {
  // expected-error @+1 {{attribute 'smoothing' must be in [0, 1], got 1.5}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8> {smoothing = 1.5 : f64} : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_mix_range(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>, %r: tensor<2x3x24xf32>) {
  // expected-error @+1 {{attribute 'reference_mix' must be in [0, 1], got -0.5}}
  %y = ponder.verbal_xent %z, %ids, %l, %w reference(%r : tensor<2x3x24xf32>) vocab <verbal = 16, think = 8> {reference_mix = -0.5 : f64} : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_mix_sum(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>, %r: tensor<2x3x24xf32>) {
  // expected-error @+1 {{'smoothing' + 'reference_mix' must be <= 1 (the one-hot weight is 1 - both), got 1.25}}
  %y = ponder.verbal_xent %z, %ids, %l, %w reference(%r : tensor<2x3x24xf32>) vocab <verbal = 16, think = 8> {smoothing = 0.5 : f64, reference_mix = 0.75 : f64} : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_temperature(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>) {
  // expected-error @+1 {{attribute 'reference_temperature' must be > 0, got 0}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8> {reference_temperature = 0.0 : f64} : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_mix_needs_reference(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>) {
  // expected-error @+1 {{'reference_mix' = 0.25 needs reference(logits) of a frozen reference model}}
  %y = ponder.verbal_xent %z, %ids, %l, %w  vocab <verbal = 16, think = 8> {reference_mix = 0.25 : f64} : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_reference_needs_mix(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>, %r: tensor<2x3x24xf32>) {
  // expected-error @+1 {{reference(logits) given but 'reference_mix' is 0; set it or drop the operand}}
  %y = ponder.verbal_xent %z, %ids, %l, %w reference(%r : tensor<2x3x24xf32>) vocab <verbal = 16, think = 8>  : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @xent_reference_shape(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %w: tensor<2x3xf32>, %r: tensor<2x3x16xf32>) {
  // expected-error @+1 {{'logits' last dimension must be the vocabulary size V = 24 (verbal 16 + think 8), got 16}}
  %y = ponder.verbal_xent %z, %ids, %l, %w reference(%r : tensor<2x3x16xf32>) vocab <verbal = 16, think = 8> {reference_mix = 0.25 : f64} : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @policy_advantage_dims(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %a: tensor<3x3xf32>) {
  // expected-error @+1 {{'advantage' dimension 0 must be the batch size of 'ids' (2), got 3}}
  %y = ponder.policy_loss %z, %ids, %l, %a vocab <verbal = 16, think = 8> : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<3x3xf32> -> tensor<f32>
  return
}

// -----

func.func @policy_logits_vocab(%z: tensor<2x3x24xf32>, %ids: tensor<2x3xi32>, %l: tensor<2xi32>, %a: tensor<2x3xf32>) {
  // expected-error @+1 {{'logits' last dimension must be the vocabulary size V = 20 (verbal 16 + think 4), got 24}}
  %y = ponder.policy_loss %z, %ids, %l, %a vocab <verbal = 16, think = 4> : tensor<2x3x24xf32>, tensor<2x3xi32>, tensor<2xi32>, tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @cost_steps_rank(%s: tensor<6xi32>, %r: tensor<2x3xf32>, %p: tensor<4x2x3xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'ids' must have rank 2 ([B, T])}}
  %y = ponder.ponder_cost act %s, %r, %p, %l  : tensor<6xi32>, tensor<2x3xf32>, tensor<4x2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}

// -----

func.func @cost_remainder_rank(%s: tensor<2x3xi32>, %r: tensor<6xf32>, %p: tensor<4x2x3xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'remainder' must have rank 2 ([B, T])}}
  %y = ponder.ponder_cost act %s, %r, %p, %l  : tensor<2x3xi32>, tensor<6xf32>, tensor<4x2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}

// -----

func.func @cost_probs_rank(%s: tensor<2x3xi32>, %r: tensor<2x3xf32>, %p: tensor<2x3xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'probs' must have rank 3 ([N_max, B, T])}}
  %y = ponder.ponder_cost act %s, %r, %p, %l  : tensor<2x3xi32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}

// -----

func.func @cost_remainder_dims(%s: tensor<2x3xi32>, %r: tensor<2x5xf32>, %p: tensor<4x2x3xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'remainder' dimension 1 must be the sequence length of 'steps' (3), got 5}}
  %y = ponder.ponder_cost act %s, %r, %p, %l  : tensor<2x3xi32>, tensor<2x5xf32>, tensor<4x2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}

// -----

func.func @cost_probs_dims(%s: tensor<2x3xi32>, %r: tensor<2x3xf32>, %p: tensor<4x3x3xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'probs' dimension 1 must be the batch size of 'steps' (2), got 3}}
  %y = ponder.ponder_cost act %s, %r, %p, %l  : tensor<2x3xi32>, tensor<2x3xf32>, tensor<4x3x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}

// -----

func.func @cost_pondernet_needs_lambda(%s: tensor<2x3xi32>, %r: tensor<2x3xf32>, %p: tensor<4x2x3xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'pondernet' ponder cost needs 'prior_lambda' in (0, 1]}}
  %y = ponder.ponder_cost pondernet %s, %r, %p, %l  : tensor<2x3xi32>, tensor<2x3xf32>, tensor<4x2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}

// -----

func.func @cost_lambda_only_pondernet(%s: tensor<2x3xi32>, %r: tensor<2x3xf32>, %p: tensor<4x2x3xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'prior_lambda' is only meaningful for 'pondernet', not 'act'}}
  %y = ponder.ponder_cost act %s, %r, %p, %l {prior_lambda = 0.2 : f64} : tensor<2x3xi32>, tensor<2x3xf32>, tensor<4x2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}

// -----

func.func @cost_lambda_range(%s: tensor<2x3xi32>, %r: tensor<2x3xf32>, %p: tensor<4x2x3xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{attribute 'prior_lambda' must be in (0, 1], got 0}}
  %y = ponder.ponder_cost pondernet %s, %r, %p, %l {prior_lambda = 0.0 : f64} : tensor<2x3xi32>, tensor<2x3xf32>, tensor<4x2x3xf32>, tensor<2xi32> -> tensor<f32>
  return
}

// -----

func.func @adamw_beta1(%p: tensor<4xf32>, %lr: f32, %t: i64) {
  // expected-error @+1 {{attribute 'beta1' must be in [0, 1), got 1}}
  %y:3 = ponder.adamw %p, %p, %p, %p, %lr, %t, %lr {beta1 = 1.0 : f64} : tensor<4xf32>
  return
}

// -----

func.func @adamw_beta2(%p: tensor<4xf32>, %lr: f32, %t: i64) {
  // expected-error @+1 {{attribute 'beta2' must be in [0, 1), got -0.1}}
  %y:3 = ponder.adamw %p, %p, %p, %p, %lr, %t, %lr {beta2 = -0.1 : f64} : tensor<4xf32>
  return
}

// -----

func.func @adamw_epsilon(%p: tensor<4xf32>, %lr: f32, %t: i64) {
  // expected-error @+1 {{attribute 'epsilon' must be > 0, got 0}}
  %y:3 = ponder.adamw %p, %p, %p, %p, %lr, %t, %lr {epsilon = 0.0 : f64} : tensor<4xf32>
  return
}

// -----

func.func @clip_max_norm(%g: tensor<4xf32>) {
  // expected-error @+1 {{attribute 'max_norm' must be > 0, got 0}}
  %y:2 = ponder.clip_global_norm %g max_norm(0.0) : tensor<4xf32> -> tensor<f32>
  return
}

// -----

// expected-note @+1 {{prior use here}}
func.func @adamw_types(%p: tensor<4xf32>, %lr: f32, %t: i64, %q: tensor<5xf32>) {
  // expected-error @+1 {{use of value '%q' expects different type than prior uses: 'tensor<4xf32>' vs 'tensor<5xf32>'}}
  %y:3 = ponder.adamw %p, %q, %p, %p, %lr, %t, %lr : tensor<4xf32>
  return
}

// -----

func.func @embed_start_batch(%ids: tensor<2x3xi32>, %token: tensor<4x8xf32>, %pos: tensor<5x8xf32>, %start: tensor<3xi32>) {
  // expected-error @+1 {{'start' dimension 0 must be the batch size of 'ids' (2), got 3 in 'tensor<3xi32>'}}
  %x = ponder.embed %ids, %token, %pos start(%start) vocab <verbal = 3, think = 1>
      : (tensor<2x3xi32>, tensor<4x8xf32>, tensor<5x8xf32>, tensor<3xi32>) -> tensor<2x3x8xf32>
  return
}

// -----

func.func @cached_attention_cache_rank(%q: tensor<2x1x8xf32>, %c: tensor<2x5x8xf32>, %n: index, %l: tensor<2xi32>) {
  // expected-error @+1 {{'key_cache' must have rank 4 ([N_max, B, max_seq, d]), got 'tensor<2x5x8xf32>'}}
  %a = ponder.cached_attention %q, %q, %q, %c, %c[%n] start(%l) lengths(%l) heads(2)
      : tensor<2x1x8xf32>, tensor<2x5x8xf32>, tensor<2xi32>
  return
}

// -----

func.func @cached_attention_cache_batch(%q: tensor<2x1x8xf32>, %c: tensor<4x3x5x8xf32>, %n: index, %l: tensor<2xi32>) {
  // expected-error @+1 {{'key_cache' dimension 1 must be the batch size of the new positions (2), got 3 in 'tensor<4x3x5x8xf32>'}}
  %a = ponder.cached_attention %q, %q, %q, %c, %c[%n] start(%l) lengths(%l) heads(2)
      : tensor<2x1x8xf32>, tensor<4x3x5x8xf32>, tensor<2xi32>
  return
}

// -----

func.func @cached_attention_rows(%q: tensor<2x1x8xf32>, %c: tensor<4x2x5x8xf32>, %n: index, %l: tensor<3xi32>) {
  // expected-error @+1 {{'start' dimension 0 must be the batch size (2), got 3 in 'tensor<3xi32>'}}
  %a = ponder.cached_attention %q, %q, %q, %c, %c[%n] start(%l) lengths(%l) heads(2)
      : tensor<2x1x8xf32>, tensor<4x2x5x8xf32>, tensor<3xi32>
  return
}

// -----

func.func @cached_attention_heads(%q: tensor<2x1x8xf32>, %c: tensor<4x2x5x8xf32>, %n: index, %l: tensor<2xi32>) {
  // expected-error @+1 {{model width d = 8 must be divisible by heads = 3}}
  %a = ponder.cached_attention %q, %q, %q, %c, %c[%n] start(%l) lengths(%l) heads(3)
      : tensor<2x1x8xf32>, tensor<4x2x5x8xf32>, tensor<2xi32>
  return
}

// -----

func.func @loop_kv_cache_needs_frozen(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{'kv_cache' needs a 'frozen' region that yields the keys and values of a state}}
  %r:6 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<2xi32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) kv_cache {
    ponder.yield %s, %s, %s : tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_frozen_needs_kv_cache(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  // expected-error @+1 {{a 'frozen' region needs 'kv_cache'}}
  %r:4 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<2xi32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) {
    ponder.yield %s : tensor<2x3x8xf32>
  } frozen {
  ^bb0(%fs: tensor<2x3x8xf32>, %fn: index):
    ponder.yield %fs, %fs : tensor<2x3x8xf32>, tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_kv_cache_body_yield(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  // expected-error @+2 {{'ponder.yield' op must yield the next state, keys and values, each with the type of 'init' 'tensor<2x3x8xf32>', got ('tensor<2x3x8xf32>')}}
  %r:6 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<2xi32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) kv_cache {
    ponder.yield %s : tensor<2x3x8xf32>
  } frozen {
  ^bb0(%fs: tensor<2x3x8xf32>, %fn: index):
    ponder.yield %fs, %fs : tensor<2x3x8xf32>, tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @loop_frozen_yield(%x: tensor<2x3x8xf32>, %l: tensor<2xi32>) {
  // expected-error @+5 {{'ponder.yield' op must yield keys and values, each with the type of 'init' 'tensor<2x3x8xf32>', got ('tensor<2x3x8xf32>')}}
  %r:6 = ponder.halting_loop fixed max_steps 2 lengths(%l : tensor<2xi32>) iter_state(%s = %x : tensor<2x3x8xf32>) step(%n) kv_cache {
    ponder.yield %s, %s, %s : tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>
  } frozen {
  ^bb0(%fs: tensor<2x3x8xf32>, %fn: index):
    ponder.yield %fs : tensor<2x3x8xf32>
  }
  return
}

// -----

func.func @embed_thoughts_type(%ids: tensor<2x3xi32>, %t: tensor<24x4xf32>, %p: tensor<8x4xf32>, %h: tensor<2x3x5xf32>) {
  // expected-error @+1 {{'thoughts' must have the result's type 'tensor<2x3x4xf32>' ([B, T, d]), got 'tensor<2x3x5xf32>'}}
  %x = ponder.embed %ids, %t, %p thoughts(%h) vocab <verbal = 16, think = 8> : (tensor<2x3xi32>, tensor<24x4xf32>, tensor<8x4xf32>, tensor<2x3x5xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @chain_body_argument(%ids: tensor<?x?xi32>, %len: tensor<?xi32>) {
  // expected-error @+1 {{body must take the thought inputs h, of the type of 'thoughts' 'tensor<?x?x8xf32>'}}
  %z, %h = ponder.thought_chain ids(%ids : tensor<?x?xi32>) lengths(%len : tensor<?xi32>)
      vocab <verbal = 16, think = 1> -> (tensor<?x?x8xf32>) thoughts tensor<?x?x8xf32> {
  ^bb0(%in: tensor<?x?x4xf32>):
    %e = tensor.empty() : tensor<2x3x8xf32>
    %c = tensor.cast %e : tensor<2x3x8xf32> to tensor<?x?x8xf32>
    ponder.yield %c : tensor<?x?x8xf32>
  }
  return
}

// -----

func.func @chain_yields_state_first(%ids: tensor<?x?xi32>, %len: tensor<?xi32>, %l: tensor<?x?x17xf32>) {
  // expected-error @+1 {{body must yield the final normed state z ('tensor<?x?x8xf32>') first}}
  %z, %h = ponder.thought_chain ids(%ids : tensor<?x?xi32>) lengths(%len : tensor<?xi32>)
      vocab <verbal = 16, think = 1> -> (tensor<?x?x17xf32>) thoughts tensor<?x?x8xf32> {
  ^bb0(%in: tensor<?x?x8xf32>):
    ponder.yield %l : tensor<?x?x17xf32>
  }
  return
}

// -----

func.func @chain_results(%ids: tensor<?x?xi32>, %len: tensor<?xi32>, %l: tensor<?x?x17xf32>) {
  // expected-error @+1 {{results must have the types of the body's yields}}
  %z, %h = ponder.thought_chain ids(%ids : tensor<?x?xi32>) lengths(%len : tensor<?xi32>)
      vocab <verbal = 16, think = 1> -> (tensor<?x?x8xf32>) thoughts tensor<?x?x8xf32> {
  ^bb0(%in: tensor<?x?x8xf32>):
    ponder.yield %in, %l : tensor<?x?x8xf32>, tensor<?x?x17xf32>
  }
  return
}

// -----

func.func @chain_carry_width(%ids: tensor<?x?xi32>, %len: tensor<?xi32>, %carry: tensor<?x4xf32>) {
  // expected-error @+1 {{'carry' dimension 1 must be the model width d of 'thoughts'}}
  %z, %h = ponder.thought_chain ids(%ids : tensor<?x?xi32>) lengths(%len : tensor<?xi32>)
      carry(%carry : tensor<?x4xf32>)
      vocab <verbal = 16, think = 1> -> (tensor<?x?x8xf32>) thoughts tensor<?x?x8xf32> {
  ^bb0(%in: tensor<?x?x8xf32>):
    ponder.yield %in : tensor<?x?x8xf32>
  }
  return
}

// -----

func.func @compact_needs_act(%x: tensor<?x?x8xf32>, %len: tensor<?xi32>) {
  // expected-error @+1 {{'compact' needs 'act' halting without 'kv_cache'}}
  %y, %steps, %rem, %probs = ponder.halting_loop fixed max_steps 2
      lengths(%len : tensor<?xi32>) iter_state(%s = %x : tensor<?x?x8xf32>)
      step(%n) positions(%p : tensor<?xi32>) {
    ponder.yield %s : tensor<?x?x8xf32>
  }
  return
}

// -----

func.func @compact_positions_type(%x: tensor<?x?x8xf32>, %len: tensor<?xi32>, %hw: tensor<1x8xf32>, %hb: tensor<1xf32>) {
  // expected-error @+1 {{body positions argument must be a rank-1 i32 tensor, got 'tensor<?x?xi32>'}}
  %y, %steps, %rem, %probs = ponder.halting_loop act max_steps 2 epsilon 1.0e-2
      lengths(%len : tensor<?xi32>) halt(%hw, %hb : tensor<1x8xf32>, tensor<1xf32>)
      iter_state(%s = %x : tensor<?x?x8xf32>) step(%n) positions(%p : tensor<?x?xi32>) {
    ponder.yield %s : tensor<?x?x8xf32>
  }
  return
}

// -----

func.func @gather_rank(%x: tensor<?x8xf32>, %p: tensor<?xi32>) {
  // expected-error @+1 {{'input' must have rank 3 ([B, T, d]), got 'tensor<?x8xf32>'}}
  %g = ponder.gather_positions %x[%p] : tensor<?x8xf32>, tensor<?xi32>
  return
}

// -----

func.func @scatter_positions_rank(%x: tensor<?x?x8xf32>, %p: tensor<?x?xi32>) {
  // expected-error @+1 {{'positions' must have rank 1 ([M]), got 'tensor<?x?xi32>'}}
  %g = ponder.scatter_positions %x into %x[%p] : tensor<?x?x8xf32>, tensor<?x?xi32>
  return
}
