"""Half precision (issue 26): float16 and bfloat16 read as half, against cattn's float32 on the
same machine in the same run (cattn's dtypes called in turns, call by call), and against
PyTorch's half where it is installed.

    python benchmarks/bench_half.py [--threads 1] [--quick] [--only vjp]

Cases (the issue's goals in the last column):
- decode: 1 token, 32,768 cached keys, 32 query / 8 key-value heads, d 128, the cache (K, V) in
  float16 or bfloat16 (the query too), against the float32 cache: half the bytes read;
- SDPA (4, 8, 2048, 64) and GEMM n = 2048, half in and out, against float32;
- training steps through cattn.vjp (forward, then the pullback): causal SDPA (2, 8, 1024, 64)
  and multi-head attention (2, 1024, 512), 8 heads, causal -- the backward reads half too; and
  the MultiHeadAttention layer's whole step (vjp, pullback, Adam) in each dtype, against
  PyTorch's nn.MultiheadAttention and Adam in the same dtype.

The header names the CPU, its vector unit and whether it has AVX512-BF16 (vdpbf16ps): what a run
on another machine needs to compare.
"""
import argparse
import os
import sys

import numpy as np

import cattn
from cattn import _cattn
from common import call_by_call, take_turns

ARGS = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ARGS.add_argument("--threads", type=int, default=1)
ARGS.add_argument("--quick", action="store_true", help="smaller sizes (a check that it runs)")
ARGS.add_argument("--budget", type=float, default=3.0, help="seconds per case and library")
ARGS.add_argument("--only", default="", help="run the cases whose name contains this text")
ARGS = ARGS.parse_args()
cattn.set_num_threads(ARGS.threads)
try:
    import torch

    torch.set_num_threads(ARGS.threads)
except ImportError:
    torch = None
try:
    import ml_dtypes

    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:
    BF16 = None


def cpu():
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and not model:
                    model = line.split(":", 1)[1].strip()
                if line.startswith(("flags", "Features")) and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    ext = sorted(f for f in flags if f.startswith("avx512"))
    unit = ("AVX-512 (" + " ".join(ext) + ")" if ext else "AVX2 + FMA + F16C" if "avx2" in flags
            else "NEON" if "asimd" in flags else "unknown")
    bf16 = "yes" if "avx512_bf16" in flags else "no"
    return f"{model or 'unknown CPU'}, {os.cpu_count()} cores; vector unit {unit}; AVX512-BF16: {bf16}"


def torch_of(x):
    if x.dtype == BF16:
        return torch.from_numpy(x.view(np.int16)).view(torch.bfloat16)  # the same bits
    return torch.from_numpy(x)


def cases(rng):
    """[(case, {who: callable}, goal)]"""
    sdpa = cattn.scaled_dot_product_attention
    halves = [("float16", np.dtype(np.float16))] + ([("bfloat16", BF16)] if BF16 else [])
    out = []
    S = 4096 if ARGS.quick else 32768
    q = rng.standard_normal((1, 32, 1, 128), dtype=np.float32)
    k = rng.standard_normal((1, 8, S, 128), dtype=np.float32)
    v = rng.standard_normal((1, 8, S, 128), dtype=np.float32)
    funcs = {"float32": lambda: sdpa(q, k, v, enable_gqa=True)}
    for name, dt in halves:
        qh, kh, vh = q.astype(dt), k.astype(dt), v.astype(dt)
        o = sdpa(qh, kh, vh, enable_gqa=True)
        np.testing.assert_allclose(o.astype(np.float32), sdpa(qh.astype(np.float32),
                                   kh.astype(np.float32), vh.astype(np.float32),
                                   enable_gqa=True), rtol=2e-2, atol=2e-2)
        funcs[name] = (lambda a, b, c: lambda: sdpa(a, b, c, enable_gqa=True))(qh, kh, vh)
        if torch is not None:
            f = torch.nn.functional.scaled_dot_product_attention
            ta, tb, tc = torch_of(qh), torch_of(kh), torch_of(vh)
            funcs[f"torch {name}"] = (lambda a, b, c: lambda: f(a, b, c, enable_gqa=True))(
                ta, tb, tc)
    out.append((f"decode: 1 token, {S} keys, 32 q / 8 kv heads, d 128", funcs,
                "half >= 1.8x float32"))
    N = 512 if ARGS.quick else 2048
    x = rng.standard_normal((4, 8, N, 64), dtype=np.float32)
    funcs = {"float32": lambda: sdpa(x, x, x)}
    for name, dt in halves:
        xh = x.astype(dt)
        funcs[name] = (lambda a: lambda: sdpa(a, a, a))(xh)
        if torch is not None:
            f = torch.nn.functional.scaled_dot_product_attention
            funcs[f"torch {name}"] = (lambda a: lambda: f(a, a, a))(torch_of(xh))
    out.append((f"SDPA (4, 8, {N}, 64)", funcs, "bf16 >= 1.6x float32 and >= 3x PyTorch bf16 "
                "with AVX512-BF16; else half no slower"))
    n = 512 if ARGS.quick else 2048
    a = rng.standard_normal((n, n), dtype=np.float32)
    o32 = np.empty_like(a)
    funcs = {"float32": lambda: _cattn.matmul(a, a, out=o32)}
    for name, dt in halves:
        ah = a.astype(dt)
        oh = np.empty_like(ah)
        funcs[name] = (lambda x_, o_: lambda: _cattn.matmul(x_, x_, out=o_))(ah, oh)
        if torch is not None:
            funcs[f"torch {name}"] = (lambda t: lambda: torch.matmul(t, t))(torch_of(ah))
    out.append((f"GEMM {n}x{n}", funcs, "bf16 >= 1.6x float32 and >= 0.9x PyTorch bf16 with "
                "AVX512-BF16"))
    out += training_cases(rng, halves)
    return out


def training_cases(rng, halves):
    """cattn.vjp's forward and pullback, half against float32 (and PyTorch's autograd in the
    same half dtype)."""
    def step(fn, *xs, **kw):
        y, pull = cattn.vjp(fn, *xs, **kw)
        pull(np.ones_like(y))

    def torch_step(fn, *xs, **kw):
        ts = [t.detach().requires_grad_() for t in xs]
        fn(*ts, **kw).sum().backward()

    out = []
    N = 256 if ARGS.quick else 1024
    x = rng.standard_normal((2, 8, N, 64), dtype=np.float32)
    sdpa = cattn.scaled_dot_product_attention
    funcs = {"float32": lambda: step(sdpa, x, x, x, is_causal=True)}
    for name, dt in halves:
        xh = x.astype(dt)
        funcs[name] = (lambda a: lambda: step(sdpa, a, a, a, is_causal=True))(xh)
        if torch is not None:
            f = torch.nn.functional.scaled_dot_product_attention
            funcs[f"torch {name}"] = (lambda t: lambda: torch_step(f, t, t, t, is_causal=True))(
                torch_of(xh))
    out.append((f"vjp causal SDPA (2, 8, {N}, 64), forward + backward", funcs,
                "half no slower than float32"))
    E, H = 512, 8
    xs = [rng.standard_normal((2, N, E), dtype=np.float32)]
    xs += [(rng.standard_normal((E, H, E // H), dtype=np.float32) / 20).transpose(1, 0, 2)
           for _ in range(3)]
    xs += [rng.standard_normal((H, E // H, E), dtype=np.float32) / 20]
    mha = cattn.multi_head_attention
    funcs = {"float32": lambda: step(mha, xs[0], xs[0], xs[0], *xs[1:], is_causal=True)}
    for name, dt in halves:
        hs = [t.astype(dt) for t in xs]
        funcs[name] = (lambda a: lambda: step(mha, a[0], a[0], a[0], *a[1:], is_causal=True))(hs)
    out.append((f"vjp causal multi-head (2, {N}, {E}), {H} heads, forward + backward", funcs,
                "half no slower than float32"))
    out.append((f"vjp layer step: MultiHeadAttention({E}, {H}) on (2, {N}, {E}), causal, "
                "pullback, Adam", layer_steps(xs[0], E, H, halves), "half no slower than float32"))
    return out


def layer_steps(x, E, H, halves):
    """One training step of the layer in each dtype: vjp, the pullback of a constant gradient,
    Adam's step (parameters, gradients and, for PyTorch, its own nn.MultiheadAttention in the
    same dtype)."""
    def cattn_step(dt):
        mha = cattn.MultiHeadAttention(E, H, dtype=dt, seed=0)
        opt, xh = cattn.nn.Adam(mha, lr=1e-4), x.astype(dt)
        g = np.full(xh.shape, 1e-3, np.float32).astype(dt)

        def step():
            y, pull = mha.vjp(xh, is_causal=True)
            pull(g)
            opt.step()
            opt.zero_grad()
        return step

    def torch_step(dt):
        tdt = {"float16": torch.float16, "bfloat16": torch.bfloat16}[dt]
        mha = torch.nn.MultiheadAttention(E, H, batch_first=True, dtype=tdt)
        opt, xt = torch.optim.Adam(mha.parameters(), lr=1e-4), torch.from_numpy(x).to(tdt)
        mask = torch.nn.Transformer.generate_square_subsequent_mask(x.shape[1], dtype=tdt)

        def step():
            y, _ = mha(xt, xt, xt, attn_mask=mask, is_causal=True, need_weights=False)
            (y * 1e-3).sum().backward()
            opt.step()
            opt.zero_grad()
        return step

    funcs = {"float32": cattn_step(np.float32)}
    for name, dt in halves:
        funcs[name] = cattn_step(dt)
        if torch is not None:
            funcs[f"torch {name}"] = torch_step(name)
    return funcs


def main():
    rng = np.random.default_rng(0)
    print(f"{cpu()}; threads: {ARGS.threads}; cattn code path {cattn._config.config()['level']}; "
          f"PyTorch {torch.__version__ if torch else 'not installed'}")
    # bfloat16's tile on this path: AVX512-BF16's pair tile (vdpbf16ps) or the float32 tile it
    # converts for, with the cost model's measured rates (show_config prints the same)
    rates = _cattn.gemm_rates()[cattn._config.config()["level"]]
    print(f"cattn bfloat16 GEMM 2048: {_cattn.gemm_choice(2048, 2048, 2048, 2)}; attention "
          f"(72 x 2048 x 64): {_cattn.gemm_choice(72, 2048, 64, 2)}; rates (multiply-adds/ns): "
          + ", ".join(f"{k} {v:.1f}" for k, v in rates.items()))
    print()
    print("| case | who | time | cattn float32 / who | PyTorch same dtype / who | goal |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for name, funcs, goal in cases(rng):
        if ARGS.only not in name:
            continue
        # cattn's dtypes call by call (their ratios are the goals), PyTorch's in turns after
        ours = {who: f for who, f in funcs.items() if not who.startswith("torch")}
        t = call_by_call(ours, ARGS.budget * len(ours))
        t.update(take_turns({w: f for w, f in funcs.items() if w not in ours}, ARGS.budget))
        for who, s in t.items():
            mine = who != "float32" and not who.startswith("torch")
            vs_torch = f"{t[f'torch {who}'] / s:.2f}" if mine and f"torch {who}" in t else ""
            print(f"| {name} | {who} | {s * 1e3:.2f} ms | {t['float32'] / s:.2f} | {vs_torch} | "
                  f"{goal if mine else ''} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
