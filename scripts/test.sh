#!/usr/bin/env bash
# Builds Ponder and runs every test: lit + FileCheck suites and GoogleTest
# binaries, all through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ctest --test-dir build --output-on-failure "$@"
