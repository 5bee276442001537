//===- PonderOps.td - Ponder operations --------------------*- tablegen -*-===//
//
// Each operation's numerics are those of MODEL.md (contract v1); the section
// that defines them is named in its description.
//
//===----------------------------------------------------------------------===//

#ifndef PONDER_DIALECT_PONDEROPS_TD
#define PONDER_DIALECT_PONDEROPS_TD

include "dialects/ponder/IR/PonderAttrs.td"
include "dialects/ponder/IR/PonderInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/OpAsmInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Ponder_FloatTensor : RankedTensorOf<[F32]>;
def Ponder_IdTensor : RankedTensorOf<[I32]>;
def Ponder_Scalar : 0DTensorOf<[F32]>;

//===----------------------------------------------------------------------===//
// Layers (MODEL.md §4)
//===----------------------------------------------------------------------===//

def Ponder_EmbedOp : Ponder_Op<"embed", [DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure,
    AttrSizedOperandSegments]> {
  let summary = "Token plus position embedding: x = token[ids] + position[t]";
  let description = [{
    Looks up each id of `ids` (`[B, T]`) in `token` (`[V, d]`, V from
    `vocab`) and adds row `t` of `position` (`[max_seq, d]`). The result is
    `[B, T, d]`. Ids outside `[0, V)` are rejected by the runtime before this
    operation runs; T must not exceed max_seq.

    With `start` (`[B]`, i32), position `t` of row `b` is `start[b] + t`: the
    new tokens of cached decoding continue a row whose first `start[b]`
    positions are already in the cache. The runtime checks
    `start[b] + T <= max_seq`.

    With `thoughts` (`[B, T, d]`, MODEL.md §9 `channel = "hidden"`), a think
    position (id >= verbal) whose absolute position is at least 1 reads
    `thoughts[b, t]` instead of its token's row: `x = thoughts[b, t] +
    position[start[b] + t]`. Every other position is unchanged.

    Example:
    ```mlir
    %x = ponder.embed %ids, %token, %position vocab <verbal = 16, think = 8>
        : (tensor<?x?xi32>, tensor<24x64xf32>, tensor<32x64xf32>)
        -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins Ponder_IdTensor:$ids, Ponder_FloatTensor:$token,
                   Ponder_FloatTensor:$position,
                   Optional<Ponder_IdTensor>:$start,
                   Optional<Ponder_FloatTensor>:$thoughts,
                   Ponder_VocabAttr:$vocab);
  let results = (outs Ponder_FloatTensor:$result);
  let assemblyFormat = [{
    $ids `,` $token `,` $position (`start` `(` $start^ `)`)?
    (`thoughts` `(` $thoughts^ `)`)? `vocab` $vocab
    attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// Whether a position with this (absolute) index and id reads `thoughts`.
    static bool readsThought(int64_t position, int64_t id, VocabAttr vocab) {
      return position >= 1 && id >= vocab.getVerbal();
    }
  }];
  let hasVerifier = 1;
}

def Ponder_StepEmbedOp : Ponder_Op<"step_embed", [DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure,
    AllTypesMatch<["state", "result"]>]> {
  let summary = "Adds the embedding of a depth step: u = s + table[step]";
  let description = [{
    `u = s + step[n]` of the block (MODEL.md §4): adds row `step` of `table`
    (`[N_max, d]`) to every position of `state` (`[..., d]`). `step` must be
    in `[0, N_max)`.
  }];
  let arguments = (ins Ponder_FloatTensor:$state, Ponder_FloatTensor:$table,
                   Index:$step);
  let results = (outs Ponder_FloatTensor:$result);
  let assemblyFormat = [{
    $state `,` $table `[` $step `]` attr-dict `:` type($state) `,` type($table)
  }];
  let hasVerifier = 1;
}

def Ponder_RMSNormOp : Ponder_Op<"rms_norm", [DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "RMSNorm(x, w) = x / sqrt(mean(x^2) + epsilon) * w";
  let description = [{
    Normalises the last dimension of `input` by its root mean square and
    scales by `weight` (`[d]`), MODEL.md §4. `epsilon` must be positive.
  }];
  let arguments = (ins Ponder_FloatTensor:$input, Ponder_FloatTensor:$weight,
                   F64Attr:$epsilon);
  let results = (outs Ponder_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `epsilon` `(` $epsilon `)` attr-dict `:`
    type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

def Ponder_LinearOp : Ponder_Op<"linear", [DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure]> {
  let summary = "Linear map without bias: y = x W^T";
  let description = [{
    `input` is `[..., in]`, `weight` is `[out, in]` (the contract's storage
    order, MODEL.md §3); the result is `[..., out]`.
  }];
  let arguments = (ins Ponder_FloatTensor:$input, Ponder_FloatTensor:$weight);
  let results = (outs Ponder_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Ponder_GeluOp : Ponder_Op<"gelu", [DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure, SameOperandsAndResultType]> {
  let summary = "GELU, tanh form";
  let description = [{
    `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`, elementwise
    (MODEL.md §4).
  }];
  let arguments = (ins Ponder_FloatTensor:$input);
  let results = (outs Ponder_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Ponder_AttentionOp : Ponder_Op<"attention", [DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure,
    AllTypesMatch<["query", "key", "value", "result"]>]> {
  let summary = "Causal multi-head attention with key padding by lengths";
  let description = [{
    Splits `query`, `key` and `value` (`[B, T, d]`, already projected) into
    `heads` heads of `d / heads`; scores are `q k^T / sqrt(d / heads)`;
    position `i` of row `b` sees key `j` iff `j <= i` and `j < lengths[b]`;
    softmax over keys; heads are concatenated back to `[B, T, d]`
    (MODEL.md §4, before the output projection).

    With `positions` (`[M]`, i32, ascending flat indices `b * T + t`, as a
    compacted halting loop passes them), `query` and the result hold only
    those `M` positions' rows (`[1, M, d]` at run time) while `key` and
    `value` keep every position; query row `m` sits at position
    `positions[m]` and sees the keys that position sees.
  }];
  let arguments = (ins Ponder_FloatTensor:$query, Ponder_FloatTensor:$key,
                   Ponder_FloatTensor:$value, Ponder_IdTensor:$lengths,
                   Optional<Ponder_IdTensor>:$positions,
                   ConfinedAttr<I64Attr, [IntPositive]>:$heads);
  let results = (outs Ponder_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $lengths
    (`positions` `(` $positions^ `:` type($positions) `)`)?
    `heads` `(` $heads `)` attr-dict `:` type($query) `,` type($lengths)
  }];
  let hasVerifier = 1;
}

def Ponder_GatherPositionsOp : Ponder_Op<"gather_positions", [
    DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "The rows of the given positions, packed densely";
  let description = [{
    `result[0, m, :] = input[positions[m] / T, positions[m] % T, :]` for an
    `input` of `[B, T, d]`: the result is `[1, M, d]` at run time (its static
    type is the input's, so the ops of a compacted block keep their types).
    `positions` (`[M]`, i32) are distinct flat indices `b * T + t`.
  }];
  let arguments = (ins Ponder_FloatTensor:$input,
                   Ponder_IdTensor:$positions);
  let results = (outs Ponder_FloatTensor:$result);
  let assemblyFormat = [{
    $input `[` $positions `]` attr-dict `:` type($input) `,` type($positions)
  }];
  let hasVerifier = 1;
}

def Ponder_ScatterPositionsOp : Ponder_Op<"scatter_positions", [
    DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure,
    AllTypesMatch<["source", "dest", "result"]>]> {
  let summary = "Writes packed rows back to their positions";
  let description = [{
    The inverse of `ponder.gather_positions`: `result` is `dest` (`[B, T,
    d]`) with row `positions[m]` (flat `b * T + t`) replaced by `source[0,
    m, :]` (`source` is `[1, M, d]` at run time). Rows not listed keep
    `dest`'s values.
  }];
  let arguments = (ins Ponder_FloatTensor:$source, Ponder_FloatTensor:$dest,
                   Ponder_IdTensor:$positions);
  let results = (outs Ponder_FloatTensor:$result);
  let assemblyFormat = [{
    $source `into` $dest `[` $positions `]` attr-dict `:` type($dest) `,`
    type($positions)
  }];
  let hasVerifier = 1;
}

def Ponder_CachedAttentionOp : Ponder_Op<"cached_attention", [Pure,
    AllTypesMatch<["query", "key", "value", "result"]>,
    AllTypesMatch<["key_cache", "value_cache"]>,
    AllTypesMatch<["start", "lengths"]>]> {
  let summary = "Attention of new positions over a key/value cache";
  let description = [{
    The attention of `ponder.attention` for `T` new positions of each row
    that continue `start[b]` positions already in the cache (cached
    decoding, docs/decoding.md). `query`, `key` and `value` (`[B, T, d]`)
    are the new positions' projections at depth step `step`; `key_cache` and
    `value_cache` (`[N_max, B, max_seq, d]`) hold every earlier position's
    keys and values per step. New position `i` of row `b` sits at
    `start[b] + i` and sees the cached keys `j < start[b]` and the new keys
    `i' <= i` with `i' < lengths[b]` (`lengths` counts each row's valid new
    positions). The result is `[B, T, d]`, before the output projection.
  }];
  let arguments = (ins Ponder_FloatTensor:$query, Ponder_FloatTensor:$key,
                   Ponder_FloatTensor:$value, Ponder_FloatTensor:$key_cache,
                   Ponder_FloatTensor:$value_cache, Index:$step,
                   Ponder_IdTensor:$start, Ponder_IdTensor:$lengths,
                   ConfinedAttr<I64Attr, [IntPositive]>:$heads);
  let results = (outs Ponder_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $key_cache `,` $value_cache `[` $step `]`
    `start` `(` $start `)` `lengths` `(` $lengths `)` `heads` `(` $heads `)`
    attr-dict `:` type($query) `,` type($key_cache) `,` type($lengths)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Adaptive depth (MODEL.md §4)
//===----------------------------------------------------------------------===//

def Ponder_HaltingLoopOp : Ponder_Op<"halting_loop", [
    AttrSizedOperandSegments, RecursiveMemoryEffects, SingleBlock,
    DeclareOpInterfaceMethods<InferTypeOpInterface>,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmResultNames",
        "getAsmBlockArgumentNames"]>]> {
  let summary = "Applies one shared block a data-dependent number of times";
  let description = [{
    The region is one step of the shared block: its arguments are the state
    `s` (`[B, T, d]`) and the step index `n`; it yields `Block(s, n)` for every
    position. The loop runs it for `n = 0 .. max_steps - 1` and decides per
    position, by `mode` (MODEL.md §4):

    - `fixed`: every position runs `max_steps` steps.
    - `act`: Graves' ACT with frozen halted state. Halting probability
      `h = sigmoid(s . halt_weight + halt_bias)`; a position halts once its
      accumulated `h` reaches `1 - epsilon` or at the last step; after that its
      state is frozen (the block still reads it for keys and values). The loop
      may stop early once no valid position runs.
    - `pondernet`: every position runs `max_steps` steps without freezing;
      `lambda_n = sigmoid(halt(s_n))`, `lambda = 1` at the last step.

    Positions `t >= lengths[b]` never run (their steps and remainder are 0).

    With `kv_cache` (cached decoding, docs/decoding.md) the loop also returns
    every position's key and value at every step: the body yields
    `(Block(s, n), k, v)`, `k` and `v` (`[B, T, d]`) being the keys and
    values the step's attention used, and a second region, `frozen`, yields
    `(k, v)` from a state `s` and a step `n` alone. When `act` stops early,
    the loop runs `frozen` on the final (frozen) states for the remaining
    steps, so that a later token that runs deeper still attends to this
    position's keys at those steps (MODEL.md §4). `frozen` must compute what
    the body computes for `k` and `v`.

    Results:
    - `state`: `act`: the mixture `sum_n p_n s_n` (`[B, T, d]`); `fixed`: the
      last state (`[B, T, d]`); `pondernet`: every step's state
      (`[max_steps, B, T, d]`).
    - `steps` (`[B, T]`, i32): N, the number of steps (`pondernet`: the step
      of largest `p_n`, 1-based).
    - `remainder` (`[B, T]`): R (`act` only; 0 otherwise).
    - `probs` (`[max_steps, B, T]`): the halting distribution `p_n` (`fixed`:
      one-hot on the last step).
    - `keys`, `values` (`kv_cache` only, `[max_steps, B, T, d]`): the keys
      and values of every position at every step.
    - `tape` (`tape` only, `[max_steps + 1, B, T, d]`): the state before
      every step and, last, the final state; steps that did not run (ACT's
      early exit) repeat the final state. `ponder.halting_loop_grad` replays
      it backwards.

    With `compact` (`act` only, set by `ponder-compact-halting-loops`), the
    body takes a third argument, `positions` (`[M]`, i32): the flat indices
    `b * T + t` of the positions that run step `n`, ascending. The body
    computes the keys and values of every position and the rest of the
    block for those `M` positions only (`ponder.gather_positions`,
    `ponder.scatter_positions`); what it yields at the other positions is
    ignored, as without `compact`.

    Example:
    ```mlir
    %y, %steps, %rem, %probs = ponder.halting_loop act max_steps 8
        epsilon 1.000000e-02 lengths(%len : tensor<?xi32>)
        halt(%hw, %hb : tensor<1x64xf32>, tensor<1xf32>)
        iter_state(%s = %x : tensor<?x?x64xf32>) step(%n) {
      %f = ...
      ponder.yield %f : tensor<?x?x64xf32>
    }
    ```
  }];
  let arguments = (ins Ponder_FloatTensor:$init, Ponder_IdTensor:$lengths,
                   Optional<Ponder_FloatTensor>:$halt_weight,
                   Optional<Ponder_FloatTensor>:$halt_bias,
                   Ponder_HaltingModeAttr:$mode,
                   ConfinedAttr<I64Attr, [IntPositive]>:$max_steps,
                   OptionalAttr<F64Attr>:$epsilon, UnitAttr:$kv_cache,
                   UnitAttr:$tape, UnitAttr:$compact);
  let results = (outs Ponder_FloatTensor:$state, Ponder_IdTensor:$steps,
                 Ponder_FloatTensor:$remainder, Ponder_FloatTensor:$probs,
                 Variadic<Ponder_FloatTensor>:$extra);
  let regions = (region SizedRegion<1>:$body, AnyRegion:$frozen);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The region's state argument.
    BlockArgument getStateArgument() { return getBody().getArgument(0); }
    /// The region's step-index argument.
    BlockArgument getStepArgument() { return getBody().getArgument(1); }
    /// The running positions (`compact` only).
    BlockArgument getPositionsArgument() { return getBody().getArgument(2); }
    /// The value the region yields: Block(s, n).
    Value getYieldedState();
    /// Every position's keys and values per step (`kv_cache` only).
    Value getKeys() { return getExtra()[0]; }
    Value getValues() { return getExtra()[1]; }
    /// The state before every step, then the final state (`tape` only).
    Value getTapeStates() { return getExtra().back(); }
  }];
}

//===----------------------------------------------------------------------===//
// Latent thoughts through the hidden state (MODEL.md §9)
//===----------------------------------------------------------------------===//

def Ponder_ThoughtChainOp : Ponder_Op<"thought_chain", [
    RecursiveMemoryEffects, SingleBlock,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>]> {
  let summary = "Feeds each position's final normed state to the next thought";
  let description = [{
    The region is the model's trunk as a function of the thought inputs `h`
    (`[B, T, d]`, read by a `ponder.embed ... thoughts(%h)`): it yields the
    final normed state `z = RMSNorm(y, out_norm)` of every position first,
    then whatever else the trunk computes (logits, steps, ...). The thought
    at position `t >= 1` reads `h[b, t] = z[b, t - 1]`; `h[b, 0]` is
    `carry[b]` (cached decoding: the state of the position before the first
    new one) or 0.

    Since `z[b, t - 1]` depends only on the inputs of positions `< t`, the
    inputs are the fixed point of `h = shift(region(h))`, reached after
    `P + 1` evaluations of the region from `h = 0`, `P` being the largest
    number of think ids (`>= vocab.verbal`) at positions `1 <= t <
    lengths[b]` of any row: each evaluation fixes one more thought (as
    Coconut trains). A batch without thoughts costs one evaluation.

    Results: the region's yields from the last evaluation, then the fixed
    point `h` (`thoughts`), which `ponder.thought_chain_grad` reads.

    Example:
    ```mlir
    %z, %logits, %h = ponder.thought_chain ids(%ids : tensor<?x?xi32>)
        lengths(%len : tensor<?xi32>) vocab <verbal = 16, think = 1>
        -> (tensor<?x?x64xf32>, tensor<?x?x17xf32>)
        thoughts tensor<?x?x64xf32> {
    ^bb0(%in: tensor<?x?x64xf32>):
      %x = ponder.embed %ids, %tok, %pos thoughts(%in) ...
      ...
      ponder.yield %z, %logits : tensor<?x?x64xf32>, tensor<?x?x17xf32>
    }
    ```
  }];
  let arguments = (ins Ponder_IdTensor:$ids, Ponder_IdTensor:$lengths,
                   Optional<Ponder_FloatTensor>:$carry,
                   Ponder_VocabAttr:$vocab);
  let results = (outs Variadic<AnyRankedTensor>:$yielded,
                 Ponder_FloatTensor:$thoughts);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `ids` `(` $ids `:` type($ids) `)` `lengths` `(` $lengths `:`
    type($lengths) `)` (`carry` `(` $carry^ `:` type($carry) `)`)?
    `vocab` $vocab attr-dict-with-keyword `->` `(` type($yielded) `)`
    `thoughts` type($thoughts) $body
  }];
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The region's argument: the thought inputs h.
    BlockArgument getThoughtsArgument() { return getBody().getArgument(0); }
    /// The value the region yields first: every position's z.
    Value getYieldedState();
    /// The first result: z of the last evaluation.
    Value getState() { return getYielded()[0]; }
  }];
}

def Ponder_YieldOp : Ponder_Op<"yield", [Pure, Terminator,
    ParentOneOf<["HaltingLoopOp", "HaltingLoopGradOp", "ThoughtChainOp",
                 "ThoughtChainGradOp"]>, ReturnLike]> {
  let summary = "Yields the results of a halting loop or thought chain region";
  let description = [{
    Ends a `ponder.halting_loop` region: the body yields the next state (and,
    with `kv_cache`, the step's keys and values); `frozen` yields keys and
    values.
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
}

def Ponder_SelectStepOp : Ponder_Op<"select_step", [DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure]> {
  let summary = "Picks each position's row at its halting step";
  let description = [{
    `input` is `[N_max, B, T, ...]` (one entry per depth step, as produced by a
    `pondernet` loop), `steps` is `[B, T]` with 1-based steps; the result is
    `input[steps[b, t] - 1, b, t, ...]`, `[B, T, ...]`. This gives the
    reported logits of a PonderNet model (MODEL.md §4). A position whose step
    is 0 (padding) reads step 1.
  }];
  let arguments = (ins Ponder_FloatTensor:$input, Ponder_IdTensor:$steps);
  let results = (outs Ponder_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $steps attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Losses (MODEL.md §5)
//===----------------------------------------------------------------------===//

def Ponder_VerbalXentOp : Ponder_Op<"verbal_xent", [DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure,
    AttrSizedOperandSegments]> {
  let summary = "Soft-target cross-entropy renormalised over verbal ids";
  let description = [{
    L_ce of MODEL.md §5. Token `t` is predicted from position `t - 1` of
    `logits` (`[B, T, V]`). Log-probabilities are renormalised over the
    verbal ids only, so choosing to think is never penalised by this term.
    The soft target over verbal ids is
    `(1 - smoothing - reference_mix) onehot(ids[t]) + smoothing / Vv
     + reference_mix softmax_verbal(reference / reference_temperature)`,
    where `reference` (`[B, T, V]`, logits of a frozen reference model) is
    required iff `reference_mix > 0`. The mask is
    `target_weight[b, t] * [ids[b, t] < Vv] * [1 <= t < lengths[b]]`; the
    result is the masked sum divided by `max(1, sum mask)`.

    With `step_probs` (`[N_max, B, T]`), `logits` is `[N_max, B, T, V]`
    (PonderNet): the loss at a target is `sum_n p_n CE_n`, `p` taken at the
    predicting position.
  }];
  let arguments = (ins Ponder_FloatTensor:$logits, Ponder_IdTensor:$ids,
                   Ponder_IdTensor:$lengths, Ponder_FloatTensor:$target_weight,
                   Optional<Ponder_FloatTensor>:$reference,
                   Optional<Ponder_FloatTensor>:$step_probs,
                   Ponder_VocabAttr:$vocab,
                   DefaultValuedAttr<F64Attr, "0.0">:$smoothing,
                   DefaultValuedAttr<F64Attr, "0.0">:$reference_mix,
                   DefaultValuedAttr<F64Attr, "1.0">:$reference_temperature);
  let results = (outs Ponder_Scalar:$loss);
  let assemblyFormat = [{
    $logits `,` $ids `,` $lengths `,` $target_weight
    (`reference` `(` $reference^ `:` type($reference) `)`)?
    (`step_probs` `(` $step_probs^ `:` type($step_probs) `)`)?
    `vocab` $vocab attr-dict `:` type($logits) `,` type($ids) `,`
    type($lengths) `,` type($target_weight) `->` type($loss)
  }];
  let hasVerifier = 1;
}

def Ponder_PolicyLossOp : Ponder_Op<"policy_loss", [DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure]> {
  let summary = "Policy-gradient term for the decision to think or speak";
  let description = [{
    L_pg of MODEL.md §5, from `advantage` (`[B, T]`, 0 where absent) and
    `logits` (`[B, T, V]`, position `t - 1` predicts token `t`). At a think
    token, `logpi = log softmax_all(z)[x_t]`; at a verbal token,
    `logpi = logsumexp_{v < Vv} z - logsumexp_all z` (the decision to speak
    now). The result is `-sum A logpi / max(1, sum_b (lengths[b] - 1))` over
    positions `1 <= t < lengths[b]`.

    With `grouped` (MODEL.md §9, the hidden channel) the action at a think
    token is "think", whichever id: `logpi = logsumexp_{u >= Vv} z -
    logsumexp_all z`.
  }];
  let arguments = (ins Ponder_FloatTensor:$logits, Ponder_IdTensor:$ids,
                   Ponder_IdTensor:$lengths, Ponder_FloatTensor:$advantage,
                   Ponder_VocabAttr:$vocab, UnitAttr:$grouped);
  let results = (outs Ponder_Scalar:$loss);
  let assemblyFormat = [{
    $logits `,` $ids `,` $lengths `,` $advantage `vocab` $vocab
    (`grouped` $grouped^)? attr-dict `:`
    type($logits) `,` type($ids) `,` type($lengths) `,` type($advantage)
    `->` type($loss)
  }];
  let hasVerifier = 1;
}

def Ponder_PonderCostOp : Ponder_Op<"ponder_cost", [DeclareOpInterfaceMethods<Ponder_DifferentiableOpInterface>, Pure]> {
  let summary = "The unweighted ponder cost of a halting loop";
  let description = [{
    L_ponder of MODEL.md §5, from the results of a `ponder.halting_loop` of
    the same `mode`, averaged over valid positions (`t < lengths[b]`):
    - `act`: mean of `N + R` (the gradient flows through R only);
    - `pondernet`: mean of `KL(p || g)`, `g` the geometric(`prior_lambda`)
      prior truncated to N_max steps and renormalised;
    - `fixed`: 0 (the operation folds to a constant).
  }];
  let arguments = (ins Ponder_HaltingModeAttr:$mode, Ponder_IdTensor:$steps,
                   Ponder_FloatTensor:$remainder, Ponder_FloatTensor:$probs,
                   Ponder_IdTensor:$lengths,
                   OptionalAttr<F64Attr>:$prior_lambda);
  let results = (outs Ponder_Scalar:$loss);
  let assemblyFormat = [{
    $mode $steps `,` $remainder `,` $probs `,` $lengths attr-dict `:`
    type($steps) `,` type($remainder) `,` type($probs) `,` type($lengths)
    `->` type($loss)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Optimiser (MODEL.md §7)
//===----------------------------------------------------------------------===//

def Ponder_ClipGlobalNormOp : Ponder_Op<"clip_global_norm", [Pure,
    AllTypesMatch<["grads", "clipped"]>]> {
  let summary = "Global-norm gradient clipping";
  let description = [{
    With `norm = sqrt(sum over every tensor of sum g^2)`, scales every
    gradient by `min(1, max_norm / (norm + 1e-6))` (MODEL.md §7, max_norm
    1.0) and returns the scaled gradients and `norm` before clipping.
  }];
  let arguments = (ins Variadic<Ponder_FloatTensor>:$grads,
                   F64Attr:$max_norm);
  let results = (outs Variadic<Ponder_FloatTensor>:$clipped,
                 Ponder_Scalar:$norm);
  let assemblyFormat = [{
    $grads `max_norm` `(` $max_norm `)` attr-dict `:` type($grads) `->`
    type($norm)
  }];
  let hasVerifier = 1;
}

def Ponder_AdamWOp : Ponder_Op<"adamw", [Pure,
    AllTypesMatch<["param", "grad", "m", "v", "new_param", "new_m",
                   "new_v"]>]> {
  let summary = "One AdamW update of a parameter and its moments";
  let description = [{
    With `t = step` (1-based), learning rate `lr` and decoupled weight decay
    `weight_decay` (0 for the parameters MODEL.md §7 exempts):
    `m' = b1 m + (1 - b1) g`, `v' = b2 v + (1 - b2) g^2`,
    `p' = p - lr (weight_decay p + (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t))
    + epsilon))`.
  }];
  let arguments = (ins Ponder_FloatTensor:$param, Ponder_FloatTensor:$grad,
                   Ponder_FloatTensor:$m, Ponder_FloatTensor:$v,
                   F32:$lr, I64:$step, F32:$weight_decay,
                   DefaultValuedAttr<F64Attr, "0.9">:$beta1,
                   DefaultValuedAttr<F64Attr, "0.95">:$beta2,
                   DefaultValuedAttr<F64Attr, "1.0e-8">:$epsilon);
  let results = (outs Ponder_FloatTensor:$new_param,
                 Ponder_FloatTensor:$new_m, Ponder_FloatTensor:$new_v);
  let assemblyFormat = [{
    $param `,` $grad `,` $m `,` $v `,` $lr `,` $step `,` $weight_decay
    attr-dict `:` type($param)
  }];
  let hasVerifier = 1;
}

include "dialects/ponder/IR/PonderGradOps.td"

#endif // PONDER_DIALECT_PONDEROPS_TD
