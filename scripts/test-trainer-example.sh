#!/usr/bin/env bash
# Installs the runtime from BUILD into a temporary prefix, builds
# examples/trainer against it with find_package(Ponder), and trains a small
# model for a few steps: the loss must fall.
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > /dev/null
cmake -S "$root/examples/trainer" -B "$work/build" -G Ninja \
  -DCMAKE_CXX_COMPILER="${CXX:-clang++-22}" \
  -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
cmake --build "$work/build" > "$work/build.log" 2>&1 ||
  { tail -20 "$work/build.log"; exit 1; }
"$work/prefix/bin/ponderc" "$root/examples/models/parity.toml" \
  --emit=artifact -o "$work/parity.so"
"$work/build/trainer" "$work/parity.so" parity:4 40 "$work/t.safetensors" \
  > "$work/log.txt"
first=$(awk '/^step 1 /{print $4}' "$work/log.txt")
last=$(awk '/^step 40 /{print $4}' "$work/log.txt")
tail -1 "$work/log.txt"
awk -v a="$first" -v b="$last" 'BEGIN { if (!(b < a)) { print "loss did not fall: " a " -> " b; exit 1 } }'
echo "trainer example: loss $first -> $last"
