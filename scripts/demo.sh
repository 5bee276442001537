#!/usr/bin/env bash
# The main job: builds Ponder and compiles every example model as far as the
# pipeline goes today: the ponder dialect (verified and round-tripped through
# ponder-opt), linalg on tensors, LLVM IR, and a native object file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

out=build/demo
mkdir -p "$out"
for model in examples/models/*.toml; do
  name=$(basename "$model" .toml)
  build/bin/ponderc "$model" --emit=ponder -o "$out/$name.ponder.mlir"
  build/bin/ponder-opt "$out/$name.ponder.mlir" -o /dev/null # parses, verifies
  build/bin/ponderc "$model" --emit=linalg -o "$out/$name.linalg.mlir"
  build/bin/ponderc "$model" --emit=llvm -o "$out/$name.ll"
  /usr/lib/llvm-22/bin/llc -O2 -filetype=obj "$out/$name.ll" -o "$out/$name.o"
  echo "== $model"
  echo "   ponder ops: $(grep -oE '(= |^ +)ponder\.[a-z_]+' "$out/$name.ponder.mlir" | sed 's/^[= ]*//' | sort | uniq -c | awk '{printf "%s x%s, ", $2, $1}' | sed 's/, $//')"
  echo "   linalg:     $(grep -c 'linalg.generic' "$out/$name.linalg.mlir") linalg.generic, $(grep -c 'scf.while' "$out/$name.linalg.mlir") scf.while (halting loops)"
  echo "   LLVM IR:    $(grep -c '^define' "$out/$name.ll") functions ($(grep '^define' "$out/$name.ll" | grep -o '@[a-z_]*' | tr '\n' ' '))"
  echo "   object:     $out/$name.o, $(stat -c %s "$out/$name.o") bytes"
done
echo
echo "== forward graph of examples/models/parity.toml (ponder dialect)"
sed -n '/func.func @forward/,/^  }/p' "$out/parity.ponder.mlir"
