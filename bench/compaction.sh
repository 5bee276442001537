#!/usr/bin/env bash
# What a halted position costs (issue 19, docs/performance.md): times the
# forward and the training step of an ACT model on weights where one
# position per row runs every step and the rest halt after step 1
# ("one-deep"), and on the same weights with every position running every
# step ("all-deep"), compacted (the default) and with --dense-halting, in
# one run. Usage: bench/compaction.sh [MODEL.toml] [BATCH] [SEQ]; flags in
# $PONDER_FLAGS go to every `ponder bench` (--target-cpu haswell: AVX2 code).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-examples/models/wide256.toml}
batch=${2:-32}
seq=${3:-128}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
build/bin/ponder init "$model" --seed 0 -o "$out/init.safetensors" >/dev/null
/usr/bin/python3 bench/halting_patterns.py "$model" "$out/init.safetensors" \
  --out-dir "$out" --batch "$batch" --seq "$seq"
grep -m1 'model name' /proc/cpuinfo
echo "vector features: $(grep -m1 -o -w -E 'avx512f|avx2|avx' /proc/cpuinfo |
  sort -u | tr '\n' ' ')"
for command in "" train; do
  for halting in "" --dense-halting; do
    for pattern in one-deep all-deep; do
      echo "== ${command:-forward} $pattern ${halting:-(compacted)}"
      build/bin/ponder bench $command "$model" $halting ${PONDER_FLAGS:-} \
        --weights "$out/$pattern.safetensors" \
        --batch-file "$out/batch.safetensors" | tail -1
    done
  done
done
