#!/usr/bin/env bash
# scripts/think-demo.sh SEED STEPS [TASK]: the thinking demonstration
# (docs/results.md). With the same seed, step budget and parameters
# (examples/models/think-hidden.toml: one shared block applied twice, one
# think id), it trains
#   no-think      ordinary training, no thoughts;
#   think         thoughts through the hidden state (MODEL.md §9) placed
#                 after every prompt token (--thought-slots after-prompt:1),
#                 trained through the chain of thoughts by back-propagation,
#                 with the decision to think trained by cross-entropy;
#   content-free  the same slots with channel "token": a fixed input at the
#                 same positions, extra positions without information;
# and evaluates each on the same 1024 held-out examples, the think runs
# with thoughts the model chooses itself (greedy), then the think model with
# every thought replaced by a random vector of its state's norm
# (random-thoughts) and with thoughts forced at the slots (forced-slots).
# It prints one line per run:
#   no-think accuracy X
#   think accuracy Y
#   content-free accuracy Z
#   random-thoughts accuracy W
#   forced-slots accuracy V
# (exact-match fractions). THINK_DEMO_DISCRETE=1 adds the v1 control,
# discrete think ids trained by rollouts (examples/models/think-demo.toml,
# --think): "discrete accuracy U". Batch 64, peak learning rate 0.003, and
# input embeddings initialised with std 1 (--embed-std 1: a token's input on
# the scale of a thought's, docs/contract-notes.md 15) for every run.
# Logs, checkpoints, metrics, per-length tables and plots go to
# build/think-demo/TASK/seedSEED/.
set -euo pipefail
cd "$(dirname "$0")/.."
if (($# < 2 || $# > 3)); then
  echo "usage: scripts/think-demo.sh SEED STEPS [TASK]" >&2
  exit 2
fi
seed=$1 steps=$2 task=${3:-permutations:3:1-8}
[[ -x build/bin/ponder ]] || bash scripts/setup.sh >&2
export PONDER_CACHE_DIR=${PONDER_CACHE_DIR:-build/cache}
hidden=examples/models/think-hidden.toml
out=build/think-demo/${task//:/-}/seed$seed
mkdir -p "$out"
# The content-free control: the same model with thoughts read from the
# (one) think id's embedding.
sed 's/^channel = "hidden"/channel = "token"/' "$hidden" >"$out/token.toml"

accuracy() { # the exact-match fraction from `ponder eval`'s first line
  sed -n 's/.*held-out accuracy \([0-9.]*\)%.*/\1/p' "$1" | head -1 |
    awk '{printf "%.4f\n", $1 / 100}'
}

train() { # NAME MODEL FLAGS...
  local name=$1 model=$2
  shift 2
  build/bin/ponder train "$model" --task "$task" --steps "$steps" \
    --seed "$seed" --batch 64 --lr 3e-3 --embed-std 1 "$@" \
    --out "$out/$name.safetensors" >"$out/$name.train.log" 2>&1 ||
    { cat "$out/$name.train.log" >&2; exit 1; }
}

evaluate() { # NAME CHECKPOINT FLAGS...
  local name=$1 weights=$2
  shift 2
  build/bin/ponder eval --weights "$out/$weights.safetensors" \
    --examples 1024 --seed 1000 "$@" --plot "$out/$name.png" \
    >"$out/$name.eval.txt" 2>&1 || { cat "$out/$name.eval.txt" >&2; exit 1; }
  echo "$name accuracy $(accuracy "$out/$name.eval.txt")"
}

slots=(--thought-slots after-prompt:1)
train no-think "$hidden"
evaluate no-think no-think
train think "$hidden" "${slots[@]}"
evaluate think think --think
train content-free "$out/token.toml" "${slots[@]}"
evaluate content-free content-free --think
evaluate random-thoughts think --think --random-thoughts
evaluate forced-slots think --forced-slots
if [[ ${THINK_DEMO_DISCRETE:-0} == 1 ]]; then
  train discrete examples/models/think-demo.toml --think
  evaluate discrete discrete --think
fi
