#!/usr/bin/python3
"""Times the contract's model (MODEL.md §4, §5, §7) in PyTorch eager next to
Ponder's compiled code on the same model, batch and thread count, and prints
both figures and their ratio from one run (docs/performance.md).

    /usr/bin/python3 bench/compare_torch.py examples/models/wide256.toml \
        --batch 16 --seq 128 --threads 2 [--ponder build/bin/ponder]
    /usr/bin/python3 bench/compare_torch.py examples/models/wide256.toml \
        --generate [--prompt-length 16] [--new 64] --threads 2

Needs Debian's python3-torch (with libopenblas0-pthread, so that PyTorch does
not run on the reference BLAS). The PyTorch side is the contract's math
written plainly: ACT with frozen halted states, the verbal cross-entropy and
the ponder cost, global-norm clipping and AdamW.

Without --generate it compares one training step (`ponder bench train`):
PyTorch is timed on one thread and on --threads, and the ratio is taken
against its faster setting (its thread pool and OpenBLAS's compete on small
machines). --target-cpu and --target-features go to ponder (code for another
CPU, timed on this one); the output names this CPU's vector features and
the CPU ponder's code was compiled for.
With --generate it compares greedy generation at batch 1 instead (and skips
the training step): `ponder bench generate` next to PyTorch eager under
torch.no_grad() with its own cache of keys and values per (depth step,
position) (docs/decoding.md): the same prompt (id i is i * 7919 mod the
verbal vocabulary), prefilled in one call, then --new tokens appended one at
a time, each chosen greedily as ponder's sampler does (think ids masked after
max_think consecutive ones). Under ACT a halted token's keys and values at
later steps come from its frozen state: a call that stops early at step m
computes them for steps m .. N_max-1 (ponder's frozen tail). Prefill and
decode are timed separately; decode tokens/s counts the appended tokens over
the decode loop (sampling included), as ponder does. Both figures are
medians over --repeats (default 5): runs of `ponder bench generate` (each
times one round after a warm-up round) and PyTorch rounds after one warm-up.
Weights are the script's own random ones, seeded (same shapes and halting
mode, not ponder's), so both print their mean decode depth. Before timing,
the cached decode is checked against the full forward over every prefix
(logits within 1e-4 of the largest, depths exact) on the benchmark model and
on a copy whose halting varies by position, so that later tokens read keys
of earlier, frozen ones.
"""
import argparse
import copy
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


class Cache:
    """Keys and values per (depth step, position) at batch 1:
    [N_max, heads, max_seq, d / heads], and how many positions are filled."""

    def __init__(self, model):
        s, d = model.position.shape
        shape = (model.steps, model.heads, s, d // model.heads)
        self.keys, self.values, self.length = torch.zeros(shape), torch.zeros(shape), 0


def _cached_block(model, s, n, cache, start):
    """The block at step n for t new positions start .. start+t-1 (s: [t, d]):
    writes their keys and values at step n, attends over the cache."""
    u = s + model.step[n]
    a = model.norm(u, model.attn_norm)
    t, d = a.shape
    hd = d // model.heads
    split = lambda x: x.view(t, model.heads, hd).transpose(0, 1)
    end = start + t
    q = split(a @ model.q.T)
    cache.keys[n, :, start:end] = split(a @ model.k.T)
    cache.values[n, :, start:end] = split(a @ model.v.T)
    k, v = cache.keys[n, :, :end], cache.values[n, :, :end]
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
    if t > 1:
        mask = torch.ones(t, end, dtype=torch.bool).tril(start)
        scores = scores.masked_fill(~mask, float("-inf"))
    att = torch.softmax(scores, -1) @ v
    a = u + att.transpose(0, 1).reshape(t, d) @ model.o.T
    h = F.gelu(model.norm(a, model.ffn_norm) @ model.up.T, approximate="tanh")
    return a + h @ model.down.T


def _frozen_tail(model, s, first, cache, start):
    """Keys and values of the final (frozen) states s [t, d] at steps
    first .. N_max-1: what later, deeper tokens attend to."""
    u = s[None] + model.step[first:, None]
    a = model.norm(u, model.attn_norm)
    r, t, d = a.shape
    split = lambda x: x.view(r, t, model.heads, d // model.heads).transpose(1, 2)
    cache.keys[first:, :, start:start + t] = split(a @ model.k.T)
    cache.values[first:, :, start:start + t] = split(a @ model.v.T)


def append(model, ids, cache):
    """Appends the 1-D ids at the cache's end (prefill: the whole prompt;
    decode: one token) and returns their logits [t, V] and depths [t]: the
    model's forward, with attention over the cache."""
    t, start = ids.shape[0], cache.length
    x = model.token[ids] + model.position[start:start + t]
    s, acc = x, torch.zeros(t)
    y, n_steps, rem = torch.zeros_like(x), torch.zeros(t), torch.zeros(t)
    running = torch.ones(t, dtype=torch.bool)
    stopped = model.steps
    for n in range(model.steps):
        if model.halting == "act" and not running.any():
            stopped = n
            break
        f = _cached_block(model, s, n, cache, start)
        if model.halting != "act":
            s = f
            continue
        s = torch.where(running[..., None], f, s)
        h = torch.sigmoid(s @ model.halt_w.T + model.halt_b)[..., 0]
        last = running & ((acc + h >= 1 - model.act_eps) | (n == model.steps - 1))
        p = torch.where(last, 1 - acc, torch.where(running, h, torch.zeros_like(h)))
        y = y + p[..., None] * s
        acc = acc + torch.where(running & ~last, h, torch.zeros_like(h))
        rem = torch.where(last, 1 - acc, rem)
        n_steps = torch.where(last, torch.full_like(n_steps, n + 1), n_steps)
        running = running & ~last
    if model.halting != "act":
        y, n_steps = s, torch.full_like(n_steps, model.steps)
    elif stopped < model.steps:
        _frozen_tail(model, s, stopped, cache, start)
    cache.length = start + t
    return model.norm(y, model.out_norm) @ model.unembed.T, n_steps


def check_decode(model, prompt=3, new=5):
    """The cached decode against the full forward over every prefix (cheap:
    8 positions), on the model and on a copy whose halting varies."""
    ids = torch.tensor([(i * 7919) % model.vv for i in range(prompt + new)])
    # A halting direction under which some decoded token runs deeper than an
    # earlier one (so reads its frozen keys): the first of a few that does.
    varied, gen = copy.deepcopy(model), torch.Generator().manual_seed(1)
    for scale in (0.5, 1.0, 2.0, 5.0, 10.0, 30.0) * 4 if model.halting == "act" else ():
        varied.halt_w.copy_(torch.randn(varied.halt_w.shape, generator=gen) * scale)
        varied.halt_b.fill_(0.0)
        d = varied(ids[None])[1][0].tolist()
        if any(d[j] > min(d[:j]) for j in range(prompt, len(d))):
            break
    deeper = False
    for m in (model, varied):
        cache, rows, depths = Cache(m), [], []
        logits, steps = append(m, ids[:prompt], cache)
        rows += list(logits)
        depths += steps.tolist()
        for i in range(prompt, prompt + new):
            logits, steps = append(m, ids[i:i + 1], cache)
            rows.append(logits[0])
            depths += steps.tolist()
        for i, row in enumerate(rows):
            full, full_steps, _ = m(ids[None, : i + 1])
            want = full[0, -1]
            err = float((row - want).abs().max())
            assert err <= 1e-4 * float(want.abs().max()), (
                f"cached decode differs from the full forward at position {i}: {err:g}")
            assert m.halting != "act" or depths[i] == float(full_steps[0, -1]), (
                f"depth differs at position {i}")
        if m is varied and m.halting == "act":
            deeper = any(depths[j] > min(depths[:j]) for j in range(prompt, len(depths)))
    assert model.halting != "act" or deeper, "the check's varied halting never reads frozen keys"


def time_torch_generate(model, prompt_length, new, max_think, rounds=5):
    """Greedy generation at batch 1 as `ponder bench generate` does it:
    prefill the prompt, then choose and append `new` tokens one at a time
    (and choose one more, not appended). Medians over `rounds` after a
    warm-up: (prefill ms, decode tokens/s, mean decode depth)."""
    prompt = torch.tensor([(i * 7919) % model.vv for i in range(prompt_length)])
    results = []
    for i in range(rounds + 1):
        cache = Cache(model)
        begin = time.perf_counter()
        logits, _ = append(model, prompt, cache)
        prefill = time.perf_counter() - begin
        think, chosen, depth = 0, 0, 0.0
        begin = time.perf_counter()
        while True:
            last = logits[-1] if think < max_think else logits[-1, : model.vv]
            token = int(last.argmax())
            chosen += 1
            think = think + 1 if token >= model.vv else 0
            if chosen == new + 1:
                break
            logits, steps = append(model, torch.tensor([token]), cache)
            depth += float(steps[0])
        decode = time.perf_counter() - begin
        if i:
            results.append((prefill * 1e3, new / decode, depth / new))
    return tuple(statistics.median(r[i] for r in results) for i in range(3))


def compare_generate(args):
    desc = read_model(args.model)
    if args.prompt_length + args.new > int(desc["model"]["max_seq"]):
        sys.exit("--prompt-length + --new: at most max_seq")
    runs = []
    for _ in range(args.repeats):
        ponder = subprocess.run(
            [args.ponder, "bench", "generate", args.model, "--prompt-length", str(args.prompt_length),
             "--new", str(args.new), "--threads", str(args.threads)],
            capture_output=True, text=True)
        if ponder.returncode != 0:
            sys.exit("ponder bench generate failed: " + ponder.stderr.strip())
        line = ponder.stdout.strip().splitlines()[-1]
        runs.append((float(re.search(r"prefill ([0-9.]+) ms", line).group(1)),
                     float(re.search(r"([0-9.]+) tokens/s", line).group(1)),
                     float(re.search(r"mean depth ([0-9.]+)", line).group(1))))
    ponder_prefill, ponder_tps, ponder_depth = (
        statistics.median(r[i] for r in runs) for i in range(3))
    torch.manual_seed(0)
    model = Model(desc["model"], desc["depth"])
    max_think = int(desc.get("think", {}).get("max_think", 0))
    with torch.no_grad():
        check_decode(model)
        prefill, tps, depth = time_torch_generate(model, args.prompt_length, args.new, max_think,
                                                  args.repeats)
    print(f"model {args.model}  generate batch 1  prompt {args.prompt_length}  new {args.new}"
          f"  threads {args.threads}  (medians of {args.repeats})")
    print(f"ponder   prefill {ponder_prefill:8.3f} ms  decode {ponder_tps:8.1f} tokens/s"
          f"  ({1e3 / ponder_tps:.3f} ms/token, mean depth {ponder_depth:.2f})")
    print(f"pytorch  prefill {prefill:8.3f} ms  decode {tps:8.1f} tokens/s"
          f"  ({1e3 / tps:.3f} ms/token, mean depth {depth:.2f}, torch {torch.__version__},"
          f" cached decode checked)")
    print(f"ratio    ponder / pytorch decode tokens/s = {ponder_tps / tps:.2f}x"
          f"  (prefill time pytorch / ponder = {prefill / ponder_prefill:.2f}x)")


def cpu_features():
    """This CPU's model and widest vector features, from /proc/cpuinfo."""
    model, flags = "unknown CPU", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    vector = [f for f in ("avx512f", "avx2", "fma", "avx") if f in flags]
    return f"{model} ({' '.join(vector) or 'no AVX'})"


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
    parser.add_argument("--target-cpu", help="ponder: compile for this CPU (llc -mcpu)")
    parser.add_argument("--target-features", help="ponder: CPU features (llc -mattr)")
    parser.add_argument("--generate", action="store_true",
                        help="compare greedy generation at batch 1 instead of a training step")
    parser.add_argument("--prompt-length", type=int, default=16)
    parser.add_argument("--new", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5,
                        help="--generate: runs of ponder bench generate, timed PyTorch rounds")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.generate:
        compare_generate(args)
        return

    target = []
    if args.target_cpu:
        target += ["--target-cpu", args.target_cpu]
    if args.target_features:
        target += ["--target-features", args.target_features]
    ponder = subprocess.run(
        [args.ponder, "bench", "train", args.model, "--batch", str(args.batch),
         "--seq", str(args.seq), "--iters", str(args.iters), "--threads", str(args.threads)]
        + target, capture_output=True, text=True)
    if ponder.returncode != 0:
        sys.exit("ponder bench train failed: " + ponder.stderr.strip())
    ponder_ms = float(re.search(r"median ([0-9.]+) ms/step", ponder.stdout).group(1))
    ponder_depth = float(re.search(r"mean depth ([0-9.]+)", ponder.stdout).group(1))
    code = re.search(r"code (.*)$", ponder.stdout.strip())
    torch_runs = {}
    for threads in sorted({1, args.threads}):
        torch.set_num_threads(threads)
        torch_runs[threads] = time_torch(args.model, args.batch, args.seq, args.iters)
    best = min(torch_runs, key=lambda t: torch_runs[t][0])
    torch.set_num_threads(args.threads)
    gflops = time_sgemm(args.threads)
    print(f"model {args.model}  batch {args.batch}  seq {args.seq}  threads {args.threads}")
    print(f"cpu      {cpu_features()}")
    print(f"ponder   train step  {ponder_ms:9.2f} ms  (mean depth {ponder_depth:.2f},"
          f" {code.group(1) if code else 'code for this CPU'})")
    for threads, (ms, depth) in torch_runs.items():
        print(f"pytorch  train step  {ms:9.2f} ms  on {threads} thread(s)"
              f"  (mean depth {depth:.2f}, torch {torch.__version__})")
    print(f"ratio    pytorch / ponder = {torch_runs[best][0] / ponder_ms:.2f}x"
          f"  (against PyTorch's faster setting, {best} thread(s))")
    print(f"sgemm    1024^3: {gflops:.1f} GFLOP/s on {args.threads} thread(s)")
    effective = re.search(r"([0-9.]+) GFLOP/s", ponder.stdout)
    if effective:
        print(f"ponder   {float(effective.group(1)):.1f} effective GFLOP/s ="
              f" {100 * float(effective.group(1)) / gflops:.0f}% of the SGEMM")


if __name__ == "__main__":
    main()
