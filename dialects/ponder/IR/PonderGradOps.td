//===- PonderGradOps.td - Gradients of the ponder ops ------*- tablegen -*-===//
//
// The vector-Jacobian products of the layer and loss ops, as ops of their
// own so that each lowers (and later fuses or moves to the GPU) like any
// other. `ponder-autodiff` emits them; users rarely write them by hand.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_DIALECT_PONDERGRADOPS_TD
#define PONDER_DIALECT_PONDERGRADOPS_TD

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

def Ponder_LinearGradOp : Ponder_Op<"linear_grad", [Pure,
    AllTypesMatch<["input", "input_grad"]>,
    AllTypesMatch<["weight", "weight_grad"]>]> {
  let summary = "Gradients of y = x W^T";
  let description = [{
    `input_grad = result_grad W` and `weight_grad[o, i] = sum over every
    leading position of result_grad[..., o] input[..., i]`.
  }];
  let arguments = (ins Ponder_FloatTensor:$result_grad,
                   Ponder_FloatTensor:$input, Ponder_FloatTensor:$weight);
  let results = (outs Ponder_FloatTensor:$input_grad,
                 Ponder_FloatTensor:$weight_grad);
  let assemblyFormat = [{
    $result_grad `,` $input `,` $weight attr-dict `:` type($result_grad) `,`
    type($input) `,` type($weight)
  }];
}

def Ponder_RMSNormGradOp : Ponder_Op<"rms_norm_grad", [Pure,
    AllTypesMatch<["result_grad", "input", "input_grad"]>,
    AllTypesMatch<["weight", "weight_grad"]>]> {
  let summary = "Gradients of RMSNorm(x, w)";
  let description = [{
    With `r = 1 / sqrt(mean(x^2) + epsilon)` and `g = result_grad * w`:
    `input_grad = r g - (r^3 / d) x (g . x)` and
    `weight_grad = sum over leading positions of result_grad x r`.
  }];
  let arguments = (ins Ponder_FloatTensor:$result_grad,
                   Ponder_FloatTensor:$input, Ponder_FloatTensor:$weight,
                   F64Attr:$epsilon);
  let results = (outs Ponder_FloatTensor:$input_grad,
                 Ponder_FloatTensor:$weight_grad);
  let assemblyFormat = [{
    $result_grad `,` $input `,` $weight `epsilon` `(` $epsilon `)` attr-dict
    `:` type($input) `,` type($weight)
  }];
}

def Ponder_GeluGradOp : Ponder_Op<"gelu_grad", [Pure,
    AllTypesMatch<["result_grad", "input", "input_grad"]>]> {
  let summary = "Gradient of the tanh-form GELU";
  let description = [{
    `input_grad = result_grad * GELU'(x)`, with `t = tanh(c (x + 0.044715
    x^3))`, `c = sqrt(2 / pi)`: `GELU'(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) c
    (1 + 3 * 0.044715 x^2)`.
  }];
  let arguments = (ins Ponder_FloatTensor:$result_grad,
                   Ponder_FloatTensor:$input);
  let results = (outs Ponder_FloatTensor:$input_grad);
  let assemblyFormat = [{
    $result_grad `,` $input attr-dict `:` type($input)
  }];
}

def Ponder_AttentionGradOp : Ponder_Op<"attention_grad", [Pure,
    AllTypesMatch<["result_grad", "query", "key", "value", "query_grad",
                   "key_grad", "value_grad"]>]> {
  let summary = "Gradients of causal multi-head attention";
  let description = [{
    Recomputes the attention probabilities `P` of `ponder.attention` and
    returns, per head, `dV = P^T dO`, `dS = P * (dO V^T - rowsum(P * dO
    V^T))`, `dQ = scale dS K`, `dK = scale dS^T Q`. With `positions`,
    `query`, `result_grad` and `query_grad` hold those positions' rows only,
    as in `ponder.attention`.
  }];
  let arguments = (ins Ponder_FloatTensor:$result_grad,
                   Ponder_FloatTensor:$query, Ponder_FloatTensor:$key,
                   Ponder_FloatTensor:$value, Ponder_IdTensor:$lengths,
                   Optional<Ponder_IdTensor>:$positions,
                   ConfinedAttr<I64Attr, [IntPositive]>:$heads);
  let results = (outs Ponder_FloatTensor:$query_grad,
                 Ponder_FloatTensor:$key_grad, Ponder_FloatTensor:$value_grad);
  let assemblyFormat = [{
    $result_grad `,` $query `,` $key `,` $value `,` $lengths
    (`positions` `(` $positions^ `:` type($positions) `)`)?
    `heads` `(` $heads `)` attr-dict `:` type($query) `,` type($lengths)
  }];
}

def Ponder_EmbedGradOp : Ponder_Op<"embed_grad", [Pure]> {
  let summary = "Gradients of the token and position tables (and thoughts)";
  let description = [{
    `token_grad[v] = sum of result_grad[b, t] over positions with ids[b, t]
    = v`; `position_grad[t] = sum_b result_grad[b, t]` for `t < T`, 0 after.

    With `thoughts` (the embedding read thought inputs, MODEL.md §9), the
    positions that read a thought (`t >= 1`, id >= `vocab.verbal`) pass
    their cotangent to `thoughts_grad` (`[B, T, d]`, 0 elsewhere) instead of
    their token's row.
  }];
  let arguments = (ins Ponder_FloatTensor:$result_grad,
                   Ponder_IdTensor:$ids, Ponder_VocabAttr:$vocab,
                   UnitAttr:$thoughts);
  let results = (outs Ponder_FloatTensor:$token_grad,
                 Ponder_FloatTensor:$position_grad,
                 Optional<Ponder_FloatTensor>:$thoughts_grad);
  let assemblyFormat = [{
    $result_grad `,` $ids `vocab` $vocab (`thoughts` $thoughts^)? attr-dict
    `:` functional-type(operands, results)
  }];
}

def Ponder_StepEmbedGradOp : Ponder_Op<"step_embed_grad", [Pure]> {
  let summary = "Gradient of the step table at one step";
  let description = [{
    The gradient of `table` in `u = s + table[step]`: row `step` is the sum
    of `result_grad` over every position; the other rows are 0.
  }];
  let arguments = (ins Ponder_FloatTensor:$result_grad, Index:$step);
  let results = (outs Ponder_FloatTensor:$table_grad);
  let assemblyFormat = [{
    $result_grad `[` $step `]` attr-dict `:` type($result_grad) `->`
    type($table_grad)
  }];
}

def Ponder_SelectStepGradOp : Ponder_Op<"select_step_grad", [Pure]> {
  let summary = "Scatters gradients back to each position's halting step";
  let description = [{
    `input_grad[n, b, t, ...] = result_grad[b, t, ...]` where
    `n = max(steps[b, t], 1) - 1`, else 0.
  }];
  let arguments = (ins Ponder_FloatTensor:$result_grad,
                   Ponder_IdTensor:$steps);
  let results = (outs Ponder_FloatTensor:$input_grad);
  let assemblyFormat = [{
    $result_grad `,` $steps attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

def Ponder_VerbalXentGradOp : Ponder_Op<"verbal_xent_grad", [Pure,
    AttrSizedOperandSegments]> {
  let summary = "Gradients of the verbal cross-entropy";
  let description = [{
    With `M = max(1, sum mask)`, `p` the verbal softmax of the predicting
    position and `q` the soft target: `logits_grad[t - 1, v] = loss_grad
    mask[t] / M (p_v - q_v)` for verbal `v`, 0 for think ids. With
    `step_probs`, each step's logits get `p_n` times that, and
    `step_probs_grad[n, t - 1] = loss_grad mask[t] / M CE_n(t)`.
  }];
  let arguments = (ins Ponder_Scalar:$loss_grad, Ponder_FloatTensor:$logits,
                   Ponder_IdTensor:$ids, Ponder_IdTensor:$lengths,
                   Ponder_FloatTensor:$target_weight,
                   Optional<Ponder_FloatTensor>:$reference,
                   Optional<Ponder_FloatTensor>:$step_probs,
                   Ponder_VocabAttr:$vocab,
                   DefaultValuedAttr<F64Attr, "0.0">:$smoothing,
                   DefaultValuedAttr<F64Attr, "0.0">:$reference_mix,
                   DefaultValuedAttr<F64Attr, "1.0">:$reference_temperature);
  let results = (outs Ponder_FloatTensor:$logits_grad,
                 Optional<Ponder_FloatTensor>:$step_probs_grad);
  let assemblyFormat = [{
    $loss_grad `,` $logits `,` $ids `,` $lengths `,` $target_weight
    (`reference` `(` $reference^ `:` type($reference) `)`)?
    (`step_probs` `(` $step_probs^ `:` type($step_probs) `)`)?
    `vocab` $vocab attr-dict `:` type($loss_grad) `,` type($logits) `,`
    type($ids) `,` type($lengths) `,` type($target_weight) `->`
    type(results)
  }];
}

def Ponder_PolicyLossGradOp : Ponder_Op<"policy_loss_grad", [Pure,
    AllTypesMatch<["logits", "logits_grad"]>]> {
  let summary = "Gradient of the policy term";
  let description = [{
    `logits_grad[t - 1] = -loss_grad A[t] / D d(logpi_t)/dz`: at a think
    token `onehot(x_t) - softmax_all(z)` (`grouped`: `[v think]
    softmax_think(z)_v - softmax_all(z)_v`), at a verbal token
    `[v verbal] softmax_verbal(z)_v - softmax_all(z)_v`.
  }];
  let arguments = (ins Ponder_Scalar:$loss_grad, Ponder_FloatTensor:$logits,
                   Ponder_IdTensor:$ids, Ponder_IdTensor:$lengths,
                   Ponder_FloatTensor:$advantage, Ponder_VocabAttr:$vocab,
                   UnitAttr:$grouped);
  let results = (outs Ponder_FloatTensor:$logits_grad);
  let assemblyFormat = [{
    $loss_grad `,` $logits `,` $ids `,` $lengths `,` $advantage `vocab`
    $vocab (`grouped` $grouped^)? attr-dict `:` type($loss_grad) `,` type($logits) `,` type($ids)
    `,` type($lengths) `,` type($advantage)
  }];
}

def Ponder_PonderCostGradOp : Ponder_Op<"ponder_cost_grad", [Pure,
    AllTypesMatch<["remainder", "remainder_grad"]>,
    AllTypesMatch<["probs", "probs_grad"]>]> {
  let summary = "Gradients of the ponder cost";
  let description = [{
    `act`: `remainder_grad = loss_grad / count` at valid positions (never
    through N); `pondernet`: `probs_grad = loss_grad (log p_n - log g_n + 1)
    / count` at valid positions; `fixed`: zeros.
  }];
  let arguments = (ins Ponder_Scalar:$loss_grad, Ponder_HaltingModeAttr:$mode,
                   Ponder_IdTensor:$steps, Ponder_FloatTensor:$remainder,
                   Ponder_FloatTensor:$probs, Ponder_IdTensor:$lengths,
                   OptionalAttr<F64Attr>:$prior_lambda);
  let results = (outs Ponder_FloatTensor:$remainder_grad,
                 Ponder_FloatTensor:$probs_grad);
  let assemblyFormat = [{
    $loss_grad $mode $steps `,` $remainder `,` $probs `,` $lengths attr-dict
    `:` type($loss_grad) `,` type($steps) `,` type($remainder) `,`
    type($probs) `,` type($lengths)
  }];
}

//===----------------------------------------------------------------------===//
// Adaptive depth
//===----------------------------------------------------------------------===//

def Ponder_ThoughtChainGradOp : Ponder_Op<"thought_chain_grad", [
    RecursiveMemoryEffects, SingleBlock]> {
  let summary = "Reverse pass of a thought chain";
  let description = [{
    The gradients of the values a `ponder.thought_chain` reads from above,
    given its `ids`, `lengths`, its fixed point `thoughts` and the
    cotangents of its float yields (`yield_grads`, in order; the first is
    that of `z`).

    The region is the reverse sweep of the chain's region at `thoughts`,
    whose forward values are computed once, above the op (autodiff clones
    the region there): it receives the cotangents of the yields and yields
    the cotangent of `thoughts` followed by those of the captured values.
    With
    `lambda = 0`, the op evaluates it `P + 1` times (P as in the chain),
    each time adding `unshift(lambda)` (`lambda[b, t + 1]` at `t`) to the
    cotangent of `z` and setting `lambda` to the `h` cotangent it yields:
    the cotangent of the thought `j` from the end is exact after `j`
    evaluations, so the last one sees every path through the chain of
    thoughts. The results are the captured values' cotangents of the last
    evaluation.
  }];
  let arguments = (ins Ponder_IdTensor:$ids, Ponder_IdTensor:$lengths,
                   Ponder_FloatTensor:$thoughts,
                   Variadic<Ponder_FloatTensor>:$yield_grads,
                   Ponder_VocabAttr:$vocab);
  let results = (outs Variadic<Ponder_FloatTensor>:$captured_grads);
  let regions = (region SizedRegion<1>:$backward);
  let assemblyFormat = [{
    `ids` `(` $ids `:` type($ids) `)` `lengths` `(` $lengths `:`
    type($lengths) `)` `thoughts` `(` $thoughts `:` type($thoughts) `)`
    `grads` `(` $yield_grads `:` type($yield_grads) `)` `vocab` $vocab
    attr-dict-with-keyword (`->` type($captured_grads)^)? $backward
  }];
  let hasRegionVerifier = 1;
}

def Ponder_HaltingLoopGradOp : Ponder_Op<"halting_loop_grad", [
    AttrSizedOperandSegments, AttrSizedResultSegments,
    RecursiveMemoryEffects, SingleBlock,
    AllTypesMatch<["remainder", "remainder_grad"]>,
    AllTypesMatch<["probs", "probs_grad"]>]> {
  let summary = "Reverse pass of a halting loop over its tape of states";
  let description = [{
    The gradients of a `ponder.halting_loop` of the same `mode`, given its
    `init`, `steps`, `remainder` and `probs`, and the cotangents of its
    `state`, `remainder` and `probs` results. Each step's state comes from
    the loop's `tape` (`[max_steps + 1, B, T, d]`: the state before each
    step, then the final state) or, without one, is recomputed from `init`
    by the `forward` region (the loop's body, `Block(s, n)`), the halting
    decisions being known from `steps`: no tape is stored, at the price of
    O(max_steps^2) block applications. The halting decisions are
    constants: ACT's gradient reaches the halting probabilities through `p`
    and `R` only, and a position that halted receives no gradient from the
    steps after it halted, except through the keys and values other
    positions read from its frozen state.

    The region is the vector-Jacobian product of one step of the block: it
    receives the state `s_n`, the step `n` and the cotangent of
    `Block(s_n, n)`, and yields the cotangent of `s_n` followed by the
    cotangents of the values the block reads from above (its weights); the
    op sums those over the steps and returns them after `init_grad` and the
    halting weights' gradients.

    With `compact` (the loop's), both regions take one more argument, last:
    the positions that ran step `n` (`n < steps`), ascending, as the
    compacted body reads them.
  }];
  let arguments = (ins Ponder_FloatTensor:$init, Ponder_IdTensor:$lengths,
                   Optional<Ponder_FloatTensor>:$halt_weight,
                   Optional<Ponder_FloatTensor>:$halt_bias,
                   Optional<Ponder_FloatTensor>:$tape, Ponder_IdTensor:$steps,
                   Ponder_FloatTensor:$remainder, Ponder_FloatTensor:$probs,
                   Ponder_FloatTensor:$state_grad,
                   Ponder_FloatTensor:$remainder_grad,
                   Ponder_FloatTensor:$probs_grad,
                   Ponder_HaltingModeAttr:$mode,
                   ConfinedAttr<I64Attr, [IntPositive]>:$max_steps,
                   OptionalAttr<F64Attr>:$epsilon, UnitAttr:$compact);
  let results = (outs Ponder_FloatTensor:$init_grad,
                 Variadic<Ponder_FloatTensor>:$halt_grads,
                 Variadic<Ponder_FloatTensor>:$captured_grads);
  let regions = (region SizedRegion<1>:$backward, AnyRegion:$forward);
  let assemblyFormat = [{
    $mode `max_steps` $max_steps (`epsilon` $epsilon^)? (`compact` $compact^)?
    `init` `(` $init `:` type($init) `)`
    `lengths` `(` $lengths `:` type($lengths) `)`
    (`halt` `(` $halt_weight^ `,` $halt_bias `:` type($halt_weight) `,`
      type($halt_bias) `)`)?
    (`tape` `(` $tape^ `:` type($tape) `)`)?
    `steps` `(` $steps `:` type($steps) `)`
    `remainder` `(` $remainder `,` $remainder_grad `:` type($remainder) `)`
    `probs` `(` $probs `,` $probs_grad `:` type($probs) `)`
    `state_grad` `(` $state_grad `:` type($state_grad) `)`
    attr-dict-with-keyword `->` type($init_grad) (`,` type($halt_grads)^)?
    (`captured` type($captured_grads)^)? $backward
    (`forward` $forward^)?
  }];
  let hasRegionVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Differentiation
//===----------------------------------------------------------------------===//

def Ponder_GradientOp : Ponder_Op<"gradient", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Calls a function and returns its gradients";
  let description = [{
    Calls `callee` with `operands` and returns its results followed by the
    gradient of its first result (a scalar loss) with respect to every
    argument marked `ponder.param`, in argument order. The
    `ponder-autodiff` pass materialises the reverse-mode function
    `@CALLEE_grad` and replaces this op by a call to it.
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee,
                   Variadic<AnyType>:$operands);
  let results = (outs Variadic<AnyType>:$results);
  let assemblyFormat = [{
    $callee `(` $operands `)` attr-dict `:` functional-type($operands,
    results)
  }];
}

#endif // PONDER_DIALECT_PONDERGRADOPS_TD
