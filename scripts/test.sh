#!/usr/bin/env bash
# Builds Ponder and runs every test through ctest, independent tests in
# parallel: lit + FileCheck suites, GoogleTest binaries, the runtime built
# without LLVM (runtime-alone) and the fuzzers' smoke run (fuzz-smoke).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
