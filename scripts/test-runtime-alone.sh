#!/usr/bin/env bash
# The runtime layers (runtime/, training/, the ponder command) configured,
# built and tested without LLVM/MLIR (preset `runtime`, into
# build-runtime/): what a trainer builds, and the check that no compiler
# header reaches them. ctest runs it as the test `runtime-alone`.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f build-runtime/build.ninja ]] || cmake --preset runtime >/dev/null
cmake --build --preset runtime
# clang-format is the main build's test already.
ctest --test-dir build-runtime --output-on-failure -E '^clang-format$'
