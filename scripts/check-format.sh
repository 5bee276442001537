#!/usr/bin/env bash
# Fails when a tracked C++ file differs from its clang-format output.
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format=${1:-clang-format-22}
mapfile -t files < <(git ls-files '*.cpp' '*.h' 2>/dev/null ||
  find . -path ./build -prune -o \( -name '*.cpp' -o -name '*.h' \) -print)
bad=()
for f in "${files[@]}"; do
  "$clang_format" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  echo "not clang-formatted (run: $clang_format -i FILE): ${bad[*]}"
  exit 1
fi
echo "clang-format: ${#files[@]} files ok"
