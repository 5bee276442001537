#!/usr/bin/env bash
# scripts/text-soft-targets.sh [STEPS] [SEEDS]: soft targets measured on
# text (docs/results.md). On the corpus and tokenizer of scripts/text-demo.sh
# (scripts/text-corpus.sh), with examples/text/model.toml and the same
# budget (STEPS steps, default 2000, batch 32, peak learning rate 0.003)
# for every student, for each seed in SEEDS (default "0 1"):
#   one-hot     [loss] smoothing = 0, reference_mix = 0;
#   smoothed    smoothing = 0.1 (MODEL.md §5: a uniform share over the
#               verbal ids);
#   reference   reference_mix = 0.5 with a frozen reference: the same model
#               trained for 2 x STEPS steps one-hot (seed 100), a better
#               model of the same family, its distribution at temperature 1.
# Each is evaluated with ponder eval --data on the whole validation text.
# It prints one line per run:
#   NAME seed S: validation perplexity P, bits per byte B, top-1 A%, ECE E,
#   mean top-1 probability C%
# Logs, checkpoints and evaluations go to build/text-soft-targets/.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-2000}
seeds=${2:-0 1}
[[ -x build/bin/ponder ]] || bash scripts/setup.sh >&2
export PONDER_CACHE_DIR=${PONDER_CACHE_DIR:-build/cache}
out=build/text-soft-targets
ponder=build/bin/ponder
[[ -f $out/tok.model ]] || bash scripts/text-corpus.sh "$out"

# The model variants, beside the tokenizer they name.
model() { # NAME SMOOTHING MIX
  sed "s/^\[data\]/[loss]\nsmoothing = $2\nreference_mix = $3\n\n[data]/" \
    examples/text/model.toml >"$out/$1.toml"
}
model one-hot 0 0
model smoothed 0.1 0
model reference 0 0.5

train() { # RUN MODEL SEED STEPS FLAGS...
  local run=$1 model=$2 seed=$3 n=$4
  shift 4
  [[ -f $out/$run.safetensors ]] && return 0
  $ponder train "$out/$model.toml" --data "$out/train.txt" \
    --val "$out/val.txt" --steps "$n" --batch 32 --lr 3e-3 --seed "$seed" \
    "$@" --out "$out/$run.safetensors" >"$out/$run.train.log" 2>&1 ||
    { cat "$out/$run.train.log" >&2; exit 1; }
}

report() { # RUN NAME SEED
  $ponder eval --weights "$out/$1.safetensors" --csv "$out/$1.tokens.csv" \
    >"$out/$1.eval.log"
  awk -v name="$2" -v seed="$3" '
    /validation perplexity/ { split($0, a, ", "); ppl = a[2]; bpb = a[3] }
    /top-1 accuracy/ { split($0, b, ", "); top = b[1]; ece = b[2]; conf = b[3] }
    END {
      sub("validation perplexity ", "", ppl); sub("bits per byte ", "", bpb)
      sub("top-1 accuracy ", "", top); sub("expected calibration error ", "", ece)
      sub(" .*", "", ece); sub("mean top-1 probability ", "", conf)
      printf "%s seed %s: validation perplexity %s, bits per byte %s, " \
        "top-1 %s, ECE %s, mean top-1 probability %s\n",
        name, seed, ppl, bpb, top, ece, conf
    }' "$out/$1.eval.log"
}

train teacher one-hot 100 $((2 * steps))
report teacher teacher 100
for seed in $seeds; do
  train one-hot-$seed one-hot "$seed" "$steps"
  train smoothed-$seed smoothed "$seed" "$steps"
  train reference-$seed reference "$seed" "$steps" \
    --reference "$out/teacher.safetensors" \
    --reference-model "$out/one-hot.toml"
  for name in one-hot smoothed reference; do
    report "$name-$seed" "$name" "$seed"
  done
done
