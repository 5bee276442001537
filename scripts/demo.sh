#!/usr/bin/env bash
# The main job: builds Ponder and compiles every example model as far as the
# pipeline goes (today: the ponder dialect, verified and round-tripped through
# ponder-opt), printing what it produced.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

out=build/demo
mkdir -p "$out"
for model in examples/models/*.toml; do
  name=$(basename "$model" .toml)
  ir="$out/$name.ponder.mlir"
  build/bin/ponderc "$model" --emit=ponder -o "$ir"
  # The printed IR must parse and verify again.
  build/bin/ponder-opt "$ir" -o /dev/null
  echo "== $model -> $ir"
  echo "   functions: $(grep -o '^  func.func @[a-z_]*' "$ir" | sed 's/.*@//' | tr '\n' ' ')"
  echo "   ops: $(grep -o 'ponder\.[a-z_]*' "$ir" | grep -v 'ponder\.\(param\|input\|output\|vocab\|max_seq\)' | sort | uniq -c | awk '{printf "%s x%s, ", $2, $1}' | sed 's/, $//')"
done
echo
echo "== forward graph of examples/models/parity.toml"
sed -n '/func.func @forward/,/^  }/p' "$out/parity.ponder.mlir"
