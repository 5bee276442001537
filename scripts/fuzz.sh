#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets of fuzz/ (with
# AddressSanitizer and UndefinedBehaviorSanitizer) into build-fuzz/ and runs
# each for SECONDS (default 60) on its seed corpus, fuzz/corpus/TARGET/, and
# the inputs that earlier runs added in build-fuzz/corpus/TARGET/.
#
# scripts/fuzz.sh --smoke [SECONDS]: CI's check that the fuzzers still build
# and that no seed crashes: each target runs SECONDS (default 20) from its
# seeds alone, into a scratch corpus that is thrown away.
#
# A crash stops the script with a non-zero exit; libFuzzer writes the input
# that caused it to build-fuzz/crash-TARGET-*, to be fixed and added to the
# seeds and the regression tests.
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=false
if [[ ${1:-} == --smoke ]]; then
  smoke=true
  shift
fi
seconds=${1:-$($smoke && echo 20 || echo 60)}
[[ $seconds =~ ^[0-9]+$ ]] || {
  echo "usage: scripts/fuzz.sh [--smoke] [SECONDS]" >&2
  exit 2
}

# nlohmann-json3-dev: the runtime's JSON library.
packages=(cmake ninja-build clang-22 lld-22 llvm-22-dev libclang-rt-22-dev
  libtomlplusplus-dev libmlir-22-dev mlir-22-tools nlohmann-json3-dev)
bash scripts/install-packages.sh fuzz "${packages[@]}"

[[ -f build-fuzz/build.ninja ]] ||
  cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_COMPILER=clang-22 >/dev/null
cmake --build build-fuzz

for target in model-description safetensors ponder-opt; do
  # libFuzzer reads both folders and writes new inputs to the first only.
  corpus=build-fuzz/corpus/$target
  options=()
  if $smoke; then
    corpus=build-fuzz/smoke/$target
    rm -rf "$corpus"
    # The same mutations on every run: CI does not fail by chance.
    options=(-seed=1)
  fi
  mkdir -p "$corpus"
  [[ -f fuzz/$target.dict ]] && options+=(-dict=fuzz/$target.dict)
  # Whole ponder-level models are tens of kilobytes.
  [[ $target == ponder-opt ]] && options+=(-max_len=32768)
  echo "== fuzz-$target for ${seconds}s"
  log=build-fuzz/fuzz-$target.log
  build-fuzz/fuzz-$target "$corpus" fuzz/corpus/$target "${options[@]}" \
    -max_total_time="$seconds" -artifact_prefix="build-fuzz/crash-$target-" \
    -print_final_stats=1 2>"$log" ||
    {
      tail -40 "$log" >&2
      echo "fuzz-$target failed (log: $log; a crashing input is saved as" \
        "build-fuzz/crash-$target-*)" >&2
      exit 1
    }
  grep -aE "^stat::number_of_executed_units|^stat::peak_rss_mb" "$log"
  echo "   no crash; $(ls fuzz/corpus/$target | wc -l) seeds," \
    "$(ls "$corpus" | wc -l) inputs added in $corpus"
done
