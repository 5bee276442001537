#!/usr/bin/env bash
# scripts/text-demo.sh [STEPS] [CORPUS.txt]: a language model of English
# text on the CPU, from nothing but a text file (docs/training.md).
#   1. the corpus: CORPUS.txt, or the quotations the Debian `fortunes`
#      package ships, shuffled with a fixed seed and split 90/10 into
#      train.txt and val.txt, and a SentencePiece tokenizer of 1024 pieces
#      trained on train.txt (scripts/text-corpus.sh);
#   3. examples/text/model.toml trained for STEPS steps (default 2000,
#      a few minutes on two cores) with ponder train --data train.txt
#      --val val.txt (batch 32, peak learning rate 0.003);
#   4. ponder eval --data: validation loss, perplexity, bits per byte,
#      calibration, and the depth per token and position (depth.png);
#   5. three samples from ponder generate.
# A small corpus needs a smaller tokenizer: VOCAB=512 scripts/text-demo.sh
# (the model's verbal_vocab follows). It prints `vocabulary N`, `validation perplexity X`, `bits per byte B`
# and the samples;
# everything else goes to build/text-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-2000}
corpus=${2:-}
[[ -x build/bin/ponder ]] || bash scripts/setup.sh >&2
export PONDER_CACHE_DIR=${PONDER_CACHE_DIR:-build/cache}
out=build/text-demo
mkdir -p "$out"
ponder=build/bin/ponder

bash scripts/text-corpus.sh "$out" ${corpus:+"$corpus"}
sed -n 's/^\(vocabulary [0-9]*\).*/\1/p' "$out/tokenizer.log"
vocab=$(sed -n 's/^vocabulary \([0-9]*\).*/\1/p' "$out/tokenizer.log")
sed "s/^verbal_vocab = [0-9]*/verbal_vocab = $vocab/" examples/text/model.toml \
  >"$out/model.toml"
$ponder train "$out/model.toml" --data "$out/train.txt" --val "$out/val.txt" \
  --steps "$steps" --batch 32 --lr 3e-3 --eval-every $((steps / 4)) \
  --out "$out/run.safetensors" >"$out/train.log" 2>&1 ||
  { cat "$out/train.log" >&2; exit 1; }
$ponder eval --weights "$out/run.safetensors" --plot "$out/depth.png" \
  --csv "$out/tokens.csv" >"$out/eval.log"
grep -o 'validation perplexity [0-9.]*' "$out/eval.log"
grep -o 'bits per byte [0-9.]*' "$out/eval.log"
for prompt in "The" "A banker is" "Life is"; do
  printf 'sample: %s' "$prompt"
  $ponder generate --weights "$out/run.safetensors" --prompt "$prompt" \
    --max-new 40 --temperature 0.8 --seed 1 2>/dev/null
done
echo "logs, checkpoint, metrics and depth.png: $out/"
