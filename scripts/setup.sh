#!/usr/bin/env bash
# scripts/setup.sh [PRESET]: installs the system packages Ponder builds with
# (Debian 12), configures PRESET (default: `default`, into build/; also
# `debug`, `sanitize`, `runtime`) and builds it. Idempotent: when
# everything is installed and built, it only runs an incremental ninja.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake ninja-build python3
  clang-22 lld-22 llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  clang-format-22 libomp-22-dev libtomlplusplus-dev libgtest-dev
  libcli11-dev nlohmann-json3-dev gnuplot-nox pkg-config
  libsentencepiece-dev sentencepiece fortunes # text: tokenizers, a corpus
  libopenmpi-dev openmpi-bin # data-parallel training (mpirun)
  libclang-rt-22-dev # the fuzzers' smoke test and the sanitize preset
)

preset=${1:-default}
bash scripts/install-packages.sh setup "${packages[@]}"

dir=build
[[ $preset == default ]] || dir=build-$preset # the presets' binaryDir
[[ -f $dir/build.ninja ]] || cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
