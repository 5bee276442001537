/*===- ArtifactContract.h - The compiler/runtime contract ---------*- C -*-===*\
|*                                                                            *|
|* The contract between the compiler and the runtime, in one place: the ABI   *|
|* version, the symbols an artifact exports, the descriptor's keys, and the   *|
|* names of the entry points and of the values they take and return           *|
|* (docs/artifact-abi.md explains them). Plain C with no dependencies, so     *|
|* that the compiler, the runtime and a loader in any language can include    *|
|* it; every name is a string literal or an integer constant.                 *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef PONDER_RUNTIME_ARTIFACTCONTRACT_H
#define PONDER_RUNTIME_ARTIFACTCONTRACT_H

#include <stdint.h>

/* What ponder_artifact_abi_version() returns; the runtime refuses any other
 * version. Bump it with any change here that an older runtime would
 * misread. */
#define PONDER_ARTIFACT_ABI_VERSION 3

/*===-- Exported symbols -------------------------------------------------===*/

#define PONDER_SYMBOL_ABI_VERSION "ponder_artifact_abi_version"
#define PONDER_SYMBOL_DESCRIPTOR "ponder_artifact_descriptor"
#define PONDER_SYMBOL_BIND_RUNTIME "ponder_artifact_bind_runtime"
/* Only a cuda artifact exports these two. */
#define PONDER_SYMBOL_LOAD_KERNELS "ponder_artifact_load_kernels"
#define PONDER_SYMBOL_UNLOAD_KERNELS "ponder_artifact_unload_kernels"
/* Entry point NAME is the symbol PONDER_ENTRY_SYMBOL_PREFIX NAME. */
#define PONDER_ENTRY_SYMBOL_PREFIX "ponder_entry_"

/* The C types of those symbols. */
typedef int32_t (*ponder_artifact_abi_version_fn)(void);
/* NUL-terminated JSON: the descriptor, keys below. */
typedef const char *(*ponder_artifact_descriptor_fn)(void);
/* Returns the address of the runtime function called `name`, or null. */
typedef void *(*ponder_runtime_lookup_fn)(const char *name);
/* Binds every runtime function the code calls; returns how many `lookup`
 * did not know. */
typedef int32_t (*ponder_artifact_bind_runtime_fn)(
    ponder_runtime_lookup_fn lookup);
typedef void (*ponder_artifact_kernels_fn)(void);
/* args[0]: the result block; args[1 + i]: argument i's memref descriptor. */
typedef void (*ponder_entry_fn)(void **args);

/*===-- Runtime functions the artifact binds ------------------------------===*/

/* The allocator every buffer comes from and goes back to (MLIR's generic
 * allocation functions); a cuda artifact also binds MLIR's GPU runtime
 * wrappers, whose names start with PONDER_RUNTIME_GPU_PREFIX. */
#define PONDER_RUNTIME_ALLOC "_mlir_memref_to_llvm_alloc"
#define PONDER_RUNTIME_FREE "_mlir_memref_to_llvm_free"
#define PONDER_RUNTIME_ALLOCATOR_PREFIX "_mlir_memref_to_llvm_"
#define PONDER_RUNTIME_GPU_PREFIX "mgpu"

/* The allocated pointer of a result that is a view of a constant: the
 * caller must not free it (MLIR's marker for memref.get_global). */
#define PONDER_RESULT_NOT_ALLOCATED 0xdeadbeef

/*===-- Descriptor keys --------------------------------------------------===*/

/* The document. Required: abi_version, model_hash, target, parameters,
 * entries; the others are written when the model has them. */
#define PONDER_KEY_ABI_VERSION "abi_version"
#define PONDER_KEY_MODEL_HASH "model_hash"
#define PONDER_KEY_TARGET "target"
#define PONDER_KEY_VOCAB "vocab"
#define PONDER_KEY_MAX_SEQ "max_seq"
#define PONDER_KEY_MAX_THINK "max_think"
#define PONDER_KEY_ROLLOUTS "rollouts"
#define PONDER_KEY_THINK_REWARD "think_reward"
#define PONDER_KEY_THINK_CHANNEL "think_channel"
#define PONDER_KEY_CPU "cpu"
#define PONDER_KEY_CPU_ISA "cpu_isa"
#define PONDER_KEY_PARAMETERS "parameters"
#define PONDER_KEY_ENTRIES "entries"
/* Inside "vocab": both required. */
#define PONDER_KEY_VERBAL "verbal"
#define PONDER_KEY_THINK "think"
/* An entry of "entries": all required. */
#define PONDER_KEY_NAME "name"
#define PONDER_KEY_SYMBOL "symbol"
#define PONDER_KEY_ARGUMENTS "arguments"
#define PONDER_KEY_RESULTS "results"
/* A value (of "parameters", "arguments", "results"): name, dtype, shape
 * required; kind, on arguments, is PONDER_KIND_INPUT (the default) or
 * PONDER_KIND_PARAM. */
#define PONDER_KEY_DTYPE "dtype"
#define PONDER_KEY_SHAPE "shape"
#define PONDER_KEY_KIND "kind"

/* Values of those keys. */
#define PONDER_TARGET_CPU "cpu"
#define PONDER_TARGET_CUDA "cuda"
#define PONDER_KIND_INPUT "input"
#define PONDER_KIND_PARAM "param"
#define PONDER_DTYPE_F32 "F32"
#define PONDER_DTYPE_I32 "I32"
/* A dimension of "shape" known only at run time (batch, length). */
#define PONDER_DYNAMIC_DIM (-1)
#define PONDER_THINK_REWARD_FIRST_VERBAL_LOGPROB "first_verbal_logprob"
#define PONDER_THINK_REWARD_FIRST_VERBAL_CORRECT "first_verbal_correct"
#define PONDER_THINK_REWARD_INFORMATION_GAIN "information_gain"
/* What a think position reads (MODEL.md 9); absent means "token". */
#define PONDER_THINK_CHANNEL_TOKEN "token"
#define PONDER_THINK_CHANNEL_HIDDEN "hidden"
/* The vector instructions x86 code needs ("cpu_isa"); absent: none beyond
 * the triple's baseline. */
#define PONDER_CPU_ISA_AVX512 "avx512"
#define PONDER_CPU_ISA_AVX2 "avx2"
#define PONDER_CPU_ISA_AVX "avx"
#define PONDER_CPU_ISA_SSE "sse"

/*===-- Entry points -----------------------------------------------------===*/

#define PONDER_ENTRY_FORWARD "forward"
#define PONDER_ENTRY_DECODE "decode"
#define PONDER_ENTRY_LOSS "loss"
#define PONDER_ENTRY_GRAD "grad"
#define PONDER_ENTRY_TRAIN_STEP "train_step"
/* Only with ponderc --data-parallel: @train_step split at the gradient.
 * grad_shard is grad with the input loss_scales; apply_gradients takes the
 * parameters, grad.NAME, adam.m.NAME, adam.v.NAME, learning_rate, step and
 * weight_decay and returns grad_norm, the parameters and the moments. */
#define PONDER_ENTRY_LOSS_SHARD "loss_shard"
#define PONDER_ENTRY_GRAD_SHARD "grad_shard"
#define PONDER_ENTRY_APPLY_GRADIENTS "apply_gradients"

/*===-- Values the entry points take and return, by name ------------------===*/

/* Inputs. Parameters are passed under their own names (MODEL.md 3). */
#define PONDER_VALUE_IDS "ids"
#define PONDER_VALUE_LENGTHS "lengths"
#define PONDER_VALUE_START "start"
#define PONDER_VALUE_CACHE_KEYS "cache.keys"
#define PONDER_VALUE_CACHE_VALUES "cache.values"
/* decode under the hidden channel (MODEL.md 9): [B, d], the final normed
 * state of the position before each row's first new token. */
#define PONDER_VALUE_CARRY "carry"
#define PONDER_VALUE_TARGET_WEIGHT "target_weight"
#define PONDER_VALUE_ADVANTAGE "advantage"
#define PONDER_VALUE_REFERENCE_LOGITS "reference_logits"
#define PONDER_VALUE_LEARNING_RATE "learning_rate"
#define PONDER_VALUE_STEP "step"
#define PONDER_VALUE_WEIGHT_DECAY "weight_decay"
/* grad_shard: [3] F32, the factors of L_ce, L_ponder and L_pg (a shard's
 * max(1, count) over the global batch's, docs/distributed.md). */
#define PONDER_VALUE_LOSS_SCALES "loss_scales"

/* Results. train_step returns the updated parameters and moments under
 * their input names. */
#define PONDER_VALUE_LOGITS "logits"
#define PONDER_VALUE_STEPS "steps"
#define PONDER_VALUE_REMAINDER "remainder"
/* decode under the hidden channel: [B, T, d], every new position's final
 * normed state (the next call's carry is that of a row's last token). */
#define PONDER_VALUE_NORMED "normed"
/* decode: [N_max, B, T, d], the new positions' keys and values at every
 * step; the runtime writes each row's valid ones into its caches (read-only
 * inputs of decode), so no call copies a cache. */
#define PONDER_VALUE_NEW_KEYS "new.keys"
#define PONDER_VALUE_NEW_VALUES "new.values"
#define PONDER_VALUE_LOSS "loss"
#define PONDER_VALUE_LOSS_CE "loss.ce"
#define PONDER_VALUE_LOSS_PONDER "loss.ponder"
#define PONDER_VALUE_LOSS_POLICY "loss.policy"
#define PONDER_VALUE_GRAD_NORM "grad_norm"

/* Prefixes before a parameter's name: its gradient (a result of grad) and
 * its Adam moments (inputs and results of train_step). */
#define PONDER_VALUE_GRAD_PREFIX "grad."
#define PONDER_VALUE_ADAM_M_PREFIX "adam.m."
#define PONDER_VALUE_ADAM_V_PREFIX "adam.v."

#endif /* PONDER_RUNTIME_ARTIFACTCONTRACT_H */
