#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets of fuzz/ (with
# AddressSanitizer and UndefinedBehaviorSanitizer) into build-fuzz/ and runs
# each for SECONDS (default 60) on a copy of its seed corpus in
# fuzz/corpus/. A crash stops the script; libFuzzer writes the input that
# caused it to build-fuzz/crash-TARGET-*, to be fixed and added to the
# regression tests.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}

packages=(cmake ninja-build clang-22 lld-22 llvm-22-dev libclang-rt-22-dev
  libtomlplusplus-dev libmlir-22-dev mlir-22-tools)
bash scripts/install-packages.sh fuzz "${packages[@]}"

[[ -f build-fuzz/build.ninja ]] && grep -q fuzz-ponder-opt build-fuzz/build.ninja ||
  cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_COMPILER=clang-22 >/dev/null
cmake --build build-fuzz

for target in model-description safetensors ponder-opt; do
  corpus=build-fuzz/corpus/$target
  mkdir -p "$corpus"
  cp -n fuzz/corpus/$target/* "$corpus"/
  options=()
  [[ -f fuzz/$target.dict ]] && options=(-dict=fuzz/$target.dict)
  # Whole ponder-level models are tens of kilobytes.
  [[ $target == ponder-opt ]] && options+=(-max_len=32768)
  echo "== fuzz-$target for ${seconds}s"
  build-fuzz/fuzz-$target "$corpus" "${options[@]}" -max_total_time="$seconds" \
    -artifact_prefix="build-fuzz/crash-$target-" -print_final_stats=1 \
    2>build-fuzz/fuzz-$target.log ||
    { tail -40 build-fuzz/fuzz-$target.log >&2; exit 1; }
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" \
    build-fuzz/fuzz-$target.log
  echo "   corpus: $(ls "$corpus" | wc -l) inputs; no crash"
done
