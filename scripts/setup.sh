#!/usr/bin/env bash
# Installs the system packages Ponder builds with (Debian 12), configures the
# `default` preset into build/ and builds. Idempotent: when everything is
# installed and built, it only runs an incremental ninja.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake ninja-build python3
  clang-22 lld-22 llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  clang-format-22 libomp-22-dev libtomlplusplus-dev libgtest-dev
  gnuplot-nox
)

bash scripts/install-packages.sh setup "${packages[@]}"

[[ -f build/build.ninja ]] || cmake --preset default
cmake --build build
