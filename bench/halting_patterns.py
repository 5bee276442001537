#!/usr/bin/python3
"""Writes weights and a batch with a chosen halting pattern, for timing what
a halted position costs (docs/performance.md, issue 19):

    build/bin/ponder init examples/models/wide256.toml --seed 0 -o init.safetensors
    /usr/bin/python3 bench/halting_patterns.py examples/models/wide256.toml \\
        init.safetensors --out-dir D --batch 32 --seq 128
    build/bin/ponder bench train examples/models/wide256.toml \\
        --weights D/one-deep.safetensors --batch-file D/batch.safetensors
    build/bin/ponder bench train examples/models/wide256.toml \\
        --weights D/all-deep.safetensors --batch-file D/batch.safetensors

From the initial weights of an ACT model it writes, into --out-dir:
- all-deep.safetensors: halt.bias = -20, so h ~ 0 and every position runs
  all max_steps steps;
- one-deep.safetensors: halt.bias = +20, so every position halts after step
  1, except those holding the marker token (the last verbal id), whose
  embedding carries +10 in channel 0 that halt.weight[0] = -5 reads: they
  run all the steps;
- batch.safetensors: ids [B, T] (full rows, verbal ids other than the
  marker) with the marker once per row, at position T / 2.

Needs only the Python standard library.
"""
import argparse
import json
import os
import struct
import sys
import tomllib


def read(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if spec["dtype"] != "F32":
            sys.exit(f"{path}: {name}: expected F32 weights, found {spec['dtype']}")
        begin, end = spec["data_offsets"]
        values = list(struct.unpack(f"<{(end - begin) // 4}f", body[begin:end]))
        tensors[name] = (spec["shape"], "F32", values)
    return tensors


def write(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, (shape, dtype, values) in tensors.items():
        code = "f" if dtype == "F32" else "i"
        blob = struct.pack(f"<{len(values)}{code}", *values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        chunks.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    partial = path + ".partial"
    with open(partial, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))
    os.replace(partial, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the model description (for verbal_vocab)")
    parser.add_argument("weights", help="its weights (ponder init)")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=128)
    args = parser.parse_args()
    with open(args.model, "rb") as f:
        model = tomllib.load(f)
    if model.get("depth", {}).get("halting") != "act":
        sys.exit(f"{args.model}: the patterns need [depth] halting = \"act\"")
    verbal = int(model["model"]["verbal_vocab"])
    tensors = read(args.weights)
    for name in ("halt.bias", "halt.weight", "embed.token"):
        if name not in tensors:
            sys.exit(f"{args.weights}: no {name}: not an ACT model's weights")
    marker = verbal - 1
    d = tensors["embed.token"][0][1]
    os.makedirs(args.out_dir, exist_ok=True)

    deep = dict(tensors)
    deep["halt.bias"] = ([1], "F32", [-20.0])
    write(os.path.join(args.out_dir, "all-deep.safetensors"), deep)

    one = dict(tensors)
    one["halt.bias"] = ([1], "F32", [20.0])
    weight = list(tensors["halt.weight"][2])
    weight[0] = -5.0
    one["halt.weight"] = (tensors["halt.weight"][0], "F32", weight)
    token = list(tensors["embed.token"][2])
    token[marker * d] = 10.0
    one["embed.token"] = (tensors["embed.token"][0], "F32", token)
    write(os.path.join(args.out_dir, "one-deep.safetensors"), one)

    b, t = args.batch, args.seq
    ids = [(i * 7919) % marker for i in range(b * t)]
    for r in range(b):
        ids[r * t + t // 2] = marker
    write(os.path.join(args.out_dir, "batch.safetensors"),
          {"ids": ([b, t], "I32", ids), "lengths": ([b], "I32", [t] * b)})


if __name__ == "__main__":
    main()
