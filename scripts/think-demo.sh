#!/usr/bin/env bash
# scripts/think-demo.sh SEED STEPS [TASK]: the think-token demonstration
# (docs/results.md). Trains examples/models/think-demo.toml twice on TASK
# with the same seed and step budget -- without think tokens (ordinary
# training; evaluated with think ids masked) and with think tokens trained
# by rollouts (`ponder train --think`, MODEL.md §6; evaluated with greedy
# thinking) -- evaluates both on the same 1024 held-out examples and prints
#   no-think accuracy X
#   think accuracy Y
# (exact-match fractions). Logs, checkpoints, metrics, per-position tables
# and plots go to build/think-demo/TASK/seedSEED/.
set -euo pipefail
cd "$(dirname "$0")/.."
if (($# < 2 || $# > 3)); then
  echo "usage: scripts/think-demo.sh SEED STEPS [TASK]" >&2
  exit 2
fi
seed=$1 steps=$2 task=${3:-multiplication:2}
[[ -x build/bin/ponder ]] || bash scripts/setup.sh >&2
export PONDER_CACHE_DIR=${PONDER_CACHE_DIR:-build/cache}
model=examples/models/think-demo.toml
out=build/think-demo/${task//:/-}/seed$seed
mkdir -p "$out"

accuracy() { # the exact-match fraction from `ponder eval`'s first line
  sed -n 's/.*held-out accuracy \([0-9.]*\)%.*/\1/p' "$1" | head -1 |
    awk '{printf "%.4f\n", $1 / 100}'
}

for run in no-think think; do
  flags=() evalFlags=()
  if [[ $run == think ]]; then flags=(--think) evalFlags=(--think); fi
  build/bin/ponder train "$model" --task "$task" --steps "$steps" \
    --seed "$seed" "${flags[@]}" --out "$out/$run.safetensors" \
    >"$out/$run.train.log" 2>&1 ||
    { cat "$out/$run.train.log" >&2; exit 1; }
  build/bin/ponder eval "$model" --weights "$out/$run.safetensors" \
    --task "$task" --examples 1024 --seed 1000 "${evalFlags[@]}" \
    --plot "$out/$run.png" >"$out/$run.eval.txt" 2>&1 ||
    { cat "$out/$run.eval.txt" >&2; exit 1; }
  echo "$run accuracy $(accuracy "$out/$run.eval.txt")"
done
