#!/usr/bin/env bash
# The main job: builds Ponder, compiles every example model through each stage
# (ponder dialect, linalg, LLVM IR, object), then initialises the parity model
# with `ponder init` (which compiles it into a cached artifact), runs it on a
# batch with `ponder run`, trains the addition model on one-digit sums with
# `ponder train` (checkpoint and metrics CSV), generates from that checkpoint
# through the key/value cache with `ponder generate`, trains a small
# language model on English text (scripts/text-demo.sh: a tokenizer, the
# validation perplexity, samples), and times the 256-wide model with
# `ponder bench` (forward, generation and training).
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
echo "== ponder init / run on examples/models/parity.toml"
export PONDER_CACHE_DIR=${PONDER_CACHE_DIR:-build/cache}
build/bin/ponder init examples/models/parity.toml --seed 0 -o "$out/parity.safetensors"
# A batch of two bit strings (MODEL.md §8): <bos> 0 1 1 0 | and <bos> 1 1.
python3 - "$out/batch.safetensors" <<'PY'
import json, struct, sys
ids, lengths = [2, 0, 1, 1, 0, 4, 2, 1, 1, 5, 5, 5], [6, 3]
raw_ids, raw_len = struct.pack("<12i", *ids), struct.pack("<2i", *lengths)
header = json.dumps({
    "ids": {"dtype": "I32", "shape": [2, 6], "data_offsets": [0, 48]},
    "lengths": {"dtype": "I32", "shape": [2], "data_offsets": [48, 56]}}).encode()
header += b" " * (-len(header) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(header)) + header + raw_ids + raw_len)
PY
build/bin/ponder run examples/models/parity.toml --weights "$out/parity.safetensors" \
  --batch "$out/batch.safetensors" --dump "$out/parity.out.safetensors"
python3 - "$out/parity.out.safetensors" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
for name, entry in json.loads(data[8:8 + n]).items():
    begin, end = entry["data_offsets"]
    raw = data[8 + n + begin:8 + n + end]
    values = struct.unpack("<%d%s" % (len(raw) // 4, "i" if entry["dtype"] == "I32" else "f"), raw)
    shown = ", ".join("%.4g" % v for v in values[:12])
    print("   %-12s %-12s %s%s" % (name, entry["shape"], shown, " ..." if len(values) > 12 else ""))
PY

echo
echo "== ponder train: one-digit addition, 300 steps (checkpoint + metrics CSV)"
rm -f "$out/addition.safetensors" "$out/addition.csv"
build/bin/ponder train examples/models/addition.toml --task addition:1 --steps 300 \
  --batch 32 --lr 0.005 --eval-every 100 --out "$out/addition.safetensors"
echo "   metrics: $(wc -l < "$out/addition.csv") lines in $out/addition.csv"

echo
echo "== ponder generate from the checkpoint (greedy; thoughts shown if any)"
for prompt in '3+4=' '8+9=' '0+6='; do
  printf '   %s -> ' "$prompt"
  build/bin/ponder generate examples/models/addition.toml --weights "$out/addition.safetensors" \
    --vocab addition --prompt "$prompt" --max-new 4 --show-thoughts 2>/dev/null
done
echo "   parity (untrained weights), temperature 1:"
build/bin/ponder generate examples/models/parity.toml --weights "$out/parity.safetensors" \
  --vocab parity --prompt '0110|' --max-new 8 --temperature 1 --seed 3

echo
echo "== English text (scripts/text-demo.sh 400): the fortunes package's quotations,"
echo "   a SentencePiece tokenizer, 400 steps of examples/text/model.toml, samples"
bash scripts/text-demo.sh 400 | sed 's/^/   /'

echo
echo "== ponder bench examples/models/wide256.toml (CPU, every core; docs/performance.md)"
build/bin/ponder bench examples/models/wide256.toml --batch 1 --length 128 --iters 3
build/bin/ponder bench generate examples/models/wide256.toml --prompt-length 16 --new 64
build/bin/ponder bench train examples/models/wide256.toml --batch 16 --seq 128 --iters 3

echo
echo "== forward graph of examples/models/parity.toml (ponder dialect)"
sed -n '/func.func @forward/,/^  }/p' "$out/parity.ponder.mlir"
