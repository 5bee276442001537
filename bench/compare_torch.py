#!/usr/bin/python3
"""Times the contract's model (MODEL.md §4, §5, §7) in PyTorch eager next to
Ponder's compiled code on the same model, batch and thread count, and prints
both figures and their ratio from one run (docs/performance.md).

    /usr/bin/python3 bench/compare_torch.py examples/models/wide256.toml \
        --batch 16 --seq 128 --threads 2 [--ponder build/bin/ponder]

Needs Debian's python3-torch (with libopenblas0-pthread, so that PyTorch does
not run on the reference BLAS). The PyTorch side is the contract's math
written plainly: ACT with frozen halted states, the verbal cross-entropy and
the ponder cost, global-norm clipping and AdamW.
"""
import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import time

try:
    import tomllib
except ImportError:  # Python 3.11 is Debian 12's; keep a fallback anyway.
    tomllib = None


def _threads_from_argv():
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "1"


# OpenBLAS sizes its own thread pool when it loads, from the environment:
# without this, PyTorch's BLAS calls would use every core whatever
# torch.set_num_threads says.
os.environ["OPENBLAS_NUM_THREADS"] = _threads_from_argv()
os.environ["OMP_NUM_THREADS"] = _threads_from_argv()

import torch  # noqa: E402  (after the environment above)
import torch.nn.functional as F  # noqa: E402


def read_model(path):
    text = open(path, "rb").read()
    if tomllib:
        return tomllib.loads(text.decode())
    # A minimal reader for the flat TOML of model descriptions.
    out, section = {}, None
    for line in text.decode().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            section = out.setdefault(line.strip("[]"), {})
            continue
        key, value = (x.strip() for x in line.split("=", 1))
        section[key] = value.strip('"') if value.startswith('"') else float(value)
    return out


class Model(torch.nn.Module):
    def __init__(self, m, depth):
        super().__init__()
        v = int(m["verbal_vocab"]) + int(m.get("think_vocab", 0))
        d, ff, s = int(m["d_model"]), int(m["d_ff"]), int(m["max_seq"])
        self.heads, self.eps = int(m["n_heads"]), float(m.get("norm_eps", 1e-5))
        self.steps = int(depth["max_steps"])
        self.halting = depth["halting"]
        self.act_eps = float(depth.get("act_epsilon", 0.01))
        self.vv = int(m["verbal_vocab"])
        p = lambda *shape: torch.nn.Parameter(torch.randn(*shape) * 0.02)
        self.token, self.position, self.step = p(v, d), p(s, d), p(self.steps, d)
        self.attn_norm = torch.nn.Parameter(torch.ones(d))
        self.q, self.k, self.v, self.o = p(d, d), p(d, d), p(d, d), p(d, d)
        self.ffn_norm = torch.nn.Parameter(torch.ones(d))
        self.up, self.down = p(ff, d), p(d, ff)
        self.halt_w, self.halt_b = p(1, d), torch.nn.Parameter(torch.ones(1))
        self.out_norm = torch.nn.Parameter(torch.ones(d))
        self.unembed = p(v, d)

    def norm(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def block(self, s, n, mask):
        u = s + self.step[n]
        a = self.norm(u, self.attn_norm)
        b, t, d = a.shape
        split = lambda x: x.view(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(a @ self.q.T), split(a @ self.k.T), split(a @ self.v.T)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d // self.heads)
        att = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1) @ v
        a = u + att.transpose(1, 2).reshape(b, t, d) @ self.o.T
        h = F.gelu(self.norm(a, self.ffn_norm) @ self.up.T, approximate="tanh")
        return a + h @ self.down.T

    def forward(self, ids):
        b, t = ids.shape
        x = self.token[ids] + self.position[:t]
        mask = torch.ones(t, t, dtype=torch.bool).tril()
        s, acc = x, torch.zeros(b, t)
        y, n_steps, rem = torch.zeros_like(x), torch.zeros(b, t), torch.zeros(b, t)
        running = torch.ones(b, t, dtype=torch.bool)
        for n in range(self.steps):
            if self.halting == "act" and not running.any():
                break
            f = self.block(s, n, mask)
            if self.halting != "act":
                s = f
                continue
            s = torch.where(running[..., None], f, s)
            h = torch.sigmoid(s @ self.halt_w.T + self.halt_b)[..., 0]
            last = running & ((acc + h >= 1 - self.act_eps) | (n == self.steps - 1))
            p = torch.where(last, 1 - acc, torch.where(running, h, torch.zeros_like(h)))
            y = y + p[..., None] * s
            acc = acc + torch.where(running & ~last, h, torch.zeros_like(h))
            rem = torch.where(last, 1 - acc, rem)
            n_steps = torch.where(last, torch.full_like(n_steps, n + 1), n_steps)
            running = running & ~last
        if self.halting != "act":
            y = s
        logits = self.norm(y, self.out_norm) @ self.unembed.T
        return logits, n_steps, rem

    def loss(self, ids, tau):
        logits, n_steps, rem = self(ids)
        z = logits[:, :-1, : self.vv]
        ce = F.cross_entropy(z.reshape(-1, self.vv), ids[:, 1:].reshape(-1))
        return ce + tau * (n_steps.detach() + rem).mean(), n_steps


def time_torch(model_path, batch, seq, iters):
    desc = read_model(model_path)
    model = Model(desc["model"], desc["depth"])
    tau = float(desc["depth"].get("ponder_cost", 0.01)) if model.halting == "act" else 0.0
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and n not in ("token", "position", "step")]
    rest = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n not in ("token", "position", "step"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    ids = (torch.arange(batch * seq) * 7919 % model.vv).view(batch, seq)
    times, depth = [], 0.0
    for i in range(iters + 1):
        start = time.perf_counter()
        loss, n_steps = model.loss(ids, tau)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i:
            times.append((time.perf_counter() - start) * 1000)
            depth = float(n_steps.mean()) if model.halting == "act" else model.steps
    return statistics.median(times), depth


def time_sgemm(threads):
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    start = time.perf_counter()
    for _ in range(10):
        a @ b
    seconds = (time.perf_counter() - start) / 10
    return 2 * 1024**3 / seconds / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--ponder", default="build/bin/ponder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    ponder = subprocess.run(
        [args.ponder, "bench", "train", args.model, "--batch", str(args.batch),
         "--seq", str(args.seq), "--iters", str(args.iters), "--threads", str(args.threads)],
        capture_output=True, text=True)
    if ponder.returncode != 0:
        sys.exit("ponder bench train failed: " + ponder.stderr.strip())
    ponder_ms = float(re.search(r"median ([0-9.]+) ms/step", ponder.stdout).group(1))
    ponder_depth = float(re.search(r"mean depth ([0-9.]+)", ponder.stdout).group(1))
    torch_ms, torch_depth = time_torch(args.model, args.batch, args.seq, args.iters)
    gflops = time_sgemm(args.threads)
    print(f"model {args.model}  batch {args.batch}  seq {args.seq}  threads {args.threads}")
    print(f"ponder   train step  {ponder_ms:9.2f} ms  (mean depth {ponder_depth:.2f})")
    print(f"pytorch  train step  {torch_ms:9.2f} ms  (mean depth {torch_depth:.2f}, torch {torch.__version__})")
    print(f"ratio    pytorch / ponder = {torch_ms / ponder_ms:.2f}x")
    print(f"sgemm    1024^3: {gflops:.1f} GFLOP/s on {args.threads} thread(s)")


if __name__ == "__main__":
    main()
