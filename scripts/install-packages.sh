#!/usr/bin/env bash
# scripts/install-packages.sh WHO PACKAGE...: installs the Debian packages
# that are missing (apt-get, as root or through sudo); WHO prefixes its
# messages. Installed packages cost one dpkg-query each.
set -euo pipefail
who=$1
shift
missing=()
for p in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "$who: installing ${missing[*]}"
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || {
    echo "$who: missing packages ${missing[*]}; run as root or install them" >&2
    exit 1
  }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
