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

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || {
      echo "setup: missing packages ${missing[*]}; run as root or install them" >&2
      exit 1
    }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[[ -f build/build.ninja ]] || cmake --preset default
cmake --build build
