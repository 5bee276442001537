#!/usr/bin/env bash
# scripts/text-corpus.sh OUT [CORPUS.txt]: the text of scripts/text-demo.sh
# in OUT/train.txt and OUT/val.txt, and its tokenizer in OUT/tok.model
# ($VOCAB pieces, default 1024; `vocabulary N` in OUT/tokenizer.log). The
# text is CORPUS.txt's paragraphs (separated by blank lines) or the
# quotations the Debian `fortunes` package ships (/usr/share/games/fortunes,
# separated by lines of '%'), shuffled with a fixed seed and split 90/10. Backspaces and carriage
# returns (old overstriking) are dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
corpus=${2:-}
mkdir -p "$out"
python3 - "$out" "$corpus" <<'PY'
import glob, os, random, re, sys
out, corpus = sys.argv[1], sys.argv[2]
if corpus:
    text = open(corpus, encoding="utf-8").read()
    parts = re.split(r"\n\s*\n", text)
else:
    parts = []
    for path in sorted(glob.glob("/usr/share/games/fortunes/*")):
        name = os.path.basename(path)
        if "." in name or name in ("art", "ascii-art"):
            continue  # the .dat indexes, .u8 links, and pictures
        text = open(path, encoding="utf-8", errors="replace").read()
        parts += text.split("\n%\n")
parts = [re.sub(r"[\b\r]", "", p).strip("\n") for p in parts]
parts = [p for p in parts if p.strip()]
if len(parts) < 20:
    sys.exit(f"text-corpus: {corpus or 'fortunes'}: too little text "
             f"({len(parts)} paragraphs)")
random.Random(0).shuffle(parts)
cut = len(parts) // 10
sep = "\n\n" if corpus else "\n%\n"
open(f"{out}/val.txt", "w").write(sep.join(parts[:cut]) + "\n")
open(f"{out}/train.txt", "w").write(sep.join(parts[cut:]) + "\n")
PY
[[ -x build/bin/ponder ]] || bash scripts/setup.sh >&2
build/bin/ponder tokenizer train "$out/train.txt" --vocab "${VOCAB:-1024}" \
  -o "$out/tok.model" >"$out/tokenizer.log"
