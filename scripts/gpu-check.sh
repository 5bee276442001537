#!/usr/bin/env bash
# On a machine with an NVIDIA GPU (driver installed, CUDA toolkit optional):
# builds ponder if needed, compares `ponder run --grad` dumps between cpu and
# cuda for each halting mode (every tensor within 1e-3 of its largest
# magnitude), runs 50 training steps of the 256-wide example on the GPU and
# prints the step times. Exit status 0 only if every comparison passes.
#
#   scripts/gpu-check.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
if [ ! -x "$build/bin/ponder" ] || [ ! -x "$build/bin/ponderc" ]; then
  cmake --preset default -B "$build" > /dev/null
  ninja -C "$build" ponder ponderc
fi
bin=$build/bin
command -v nvidia-smi > /dev/null && nvidia-smi -L
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PONDER_CACHE_DIR=$work/cache

# A batch of 3 rows (lengths 9, 5, 1) with think and verbal ids, one masked
# target and varied advantages: the inputs of @grad (MODEL.md §8).
/usr/bin/env python3 - "$work/batch.safetensors" <<'PY'
import json, struct, sys
b, t, vocab = 3, 9, 13
ids = [(i * 7 + 3) % vocab for i in range(b * t)]
lengths = [9, 5, 1]
weight = [0.0 if i == 4 else 1.0 for i in range(b * t)]
advantage = [0.25 * (i % 5) - 0.5 for i in range(b * t)]
tensors = [("ids", "I32", [b, t], struct.pack(f"<{b*t}i", *ids)),
           ("lengths", "I32", [b], struct.pack(f"<{b}i", *lengths)),
           ("target_weight", "F32", [b, t], struct.pack(f"<{b*t}f", *weight)),
           ("advantage", "F32", [b, t], struct.pack(f"<{b*t}f", *advantage))]
header, data = {}, b""
for name, dtype, shape, raw in tensors:
    header[name] = {"dtype": dtype, "shape": shape,
                    "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(text)) + text + data)
PY

compare() { # CPU_DUMP CUDA_DUMP: prints the worst relative error per tensor
  /usr/bin/env python3 - "$1" "$2" <<'PY'
import json, struct, sys
def read(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        a, b = spec["data_offsets"]
        code = {"F32": "f", "I32": "i"}[spec["dtype"]]
        body = raw[8 + n + a:8 + n + b]
        out[name] = struct.unpack(f"<{len(body) // 4}{code}", body)
    return out
cpu, gpu = read(sys.argv[1]), read(sys.argv[2])
ok = sorted(cpu) == sorted(gpu)
if not ok:
    print("  tensors differ:", sorted(set(cpu) ^ set(gpu)))
for name in sorted(set(cpu) & set(gpu)):
    x, y = cpu[name], gpu[name]
    scale = max([abs(v) for v in x] + [1e-30])
    # NaN on either side counts as the worst difference.
    diffs = [abs(a - b) if a == a and b == b else float("inf")
             for a, b in zip(x, y)]
    worst = max(diffs + [0.0]) / scale
    good = len(x) == len(y) and worst <= 1e-3
    ok &= good
    print(f"  {'ok  ' if good else 'FAIL'} {name:40s} {worst:.2e}")
sys.exit(0 if ok else 1)
PY
}

status=0
for mode in act fixed pondernet; do
  model=$work/$mode.toml
  sed "s/halting = \"act\"/halting = \"$mode\"/" test/ponderc/Inputs/tiny.toml \
    > "$model"
  "$bin/ponder" init "$model" --seed 5 -o "$work/w.safetensors"
  for device in cpu cuda; do
    "$bin/ponder" run "$model" --weights "$work/w.safetensors" \
      --batch "$work/batch.safetensors" --grad --device $device \
      --dump "$work/$mode.$device.safetensors"
  done
  echo "halting = $mode: cuda vs cpu, worst |difference| / largest |value|"
  compare "$work/$mode.cpu.safetensors" "$work/$mode.cuda.safetensors" ||
    status=1
done

echo "wide256 training on the GPU (batch 16 x 128, 50 steps after a warm-up):"
"$bin/ponder" bench train examples/models/wide256.toml --batch 16 --seq 128 \
  --iters 50 --device cuda
echo "and on the CPU (5 steps) for comparison:"
"$bin/ponder" bench train examples/models/wide256.toml --batch 16 --seq 128 \
  --iters 5
[ $status = 0 ] && echo "gpu-check: PASS" || echo "gpu-check: FAIL"
exit $status
