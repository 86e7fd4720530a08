"""Modern attention (group "modern"): the cases the issue sets goals for, each against what it
is compared with in the same run.

- decode: one new token per query head, 32 query heads over 8 key/value heads (GQA), head dim
  128, float32, 4,096 and 32,768 cached keys: cattn (K and V read once per group, in place)
  against PyTorch's SDPA with enable_gqa=True and NumPy (K and V repeated per query head, as
  the formula reads); and cattn's bytes per second against the machine's single-thread memory
  bandwidth, measured in the same run (below).
- sliding window: N = 16,384, window 256 (causal, left 255), 8 heads, head dim 64: cattn with
  the structured mask against cattn's full attention over the same N and PyTorch's SDPA given the
  equivalent boolean (N, N) mask.
- dropout: SDPA (4, 8, 1024, 64) with dropout_p = 0.1 against the same call without dropout.

The bandwidth: single-thread reads, np.dot of two float32 vectors of 128 MiB each (OpenBLAS's
sdot, which streams both at the memory's speed), and a copy (np.copyto, 128 MiB read and
written), both with NumPy's BLAS on one thread -- the decode case reads K and V once, so reading
is its bound.
"""
import os
import subprocess
import sys

import numpy as np

import cattn
from common import median_time


BANDWIDTH_SCRIPT = r"""
import sys, time
import numpy as np
n, budget = 2 ** 25, float(sys.argv[1])  # 128 MiB of float32 per vector
x, y = np.ones(n, np.float32), np.ones(n, np.float32)
def best(f):
    f()
    ts, start = [], time.perf_counter()
    while len(ts) < 3 or time.perf_counter() - start < budget:
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)
print(2 * x.nbytes / best(lambda: np.dot(x, y)) / 1e9, 2 * x.nbytes / best(lambda: np.copyto(y, x)) / 1e9)
"""


def bandwidth(budget):
    """(read GB/s, copy GB/s) on one thread, whatever --threads says: measured in a process whose
    BLAS has one thread."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", BANDWIDTH_SCRIPT, str(budget)], env=env,
                       capture_output=True, text=True, check=True)
    read, copy = map(float, r.stdout.split())
    return read, copy


def _numpy_gqa_decode(q, k, v):
    G = q.shape[1] // k.shape[1]
    kk, vv = np.repeat(k, G, axis=1), np.repeat(v, G, axis=1)
    s = q @ np.swapaxes(kk, -1, -2) / np.sqrt(q.shape[-1])
    e = np.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)) @ vv


def rows(quick, torch, budget):
    """[(case, name, {who: seconds}, [(ratio name, value, note)], extra note)]"""
    rng = np.random.default_rng(0)
    sdpa = cattn.scaled_dot_product_attention
    out = []
    # 1. decode
    for S in ([4096] if quick else [4096, 32768]):
        q = rng.standard_normal((1, 32, 1, 128), dtype=np.float32)
        k = rng.standard_normal((1, 8, S, 128), dtype=np.float32)
        v = rng.standard_normal((1, 8, S, 128), dtype=np.float32)
        want = _numpy_gqa_decode(*(x.astype(np.float64) for x in (q, k, v)))
        np.testing.assert_allclose(sdpa(q, k, v, enable_gqa=True), want, rtol=1e-4, atol=1e-5)
        t = {"cattn": median_time(lambda: sdpa(q, k, v, enable_gqa=True), budget),
             "numpy": median_time(lambda: _numpy_gqa_decode(q, k, v), budget)}
        if torch is not None:
            tq, tk, tv = map(torch.from_numpy, (q, k, v))
            f = torch.nn.functional.scaled_dot_product_attention
            np.testing.assert_allclose(f(tq, tk, tv, enable_gqa=True).numpy(), want, rtol=1e-4,
                                       atol=1e-5)
            t["torch"] = median_time(lambda: f(tq, tk, tv, enable_gqa=True), budget)
        gbs = (k.nbytes + v.nbytes) / t["cattn"] / 1e9
        ratios = [("× NumPy", t["numpy"] / t["cattn"], "")]
        if "torch" in t:
            ratios.append(("× PyTorch (enable_gqa)", t["torch"] / t["cattn"], "goal >= 1.5"))
        out.append(("decode", f"1 token, {S} keys, 32 q / 8 kv heads, d 128, float32", t, ratios,
                    gbs))
    # 2. sliding window
    N, H, d, w = (4096, 8, 64, 256) if quick else (16384, 8, 64, 256)
    q, k, v = (rng.standard_normal((1, H, N, d), dtype=np.float32) for _ in range(3))
    win = cattn.sliding_window(N, N, w - 1)
    part = np.s_[:, :, :512]  # the first rows, checked against the dense mask
    np.testing.assert_allclose(sdpa(q, k, v, win)[part], sdpa(q[part], k, v,
                               np.asarray(win)[:512]), rtol=1e-4, atol=1e-5)
    t = {"cattn window": median_time(lambda: sdpa(q, k, v, win), budget),
         "cattn full": median_time(lambda: sdpa(q, k, v), budget, min_runs=1)}
    ratios = [("full / window", t["cattn full"] / t["cattn window"], "goal >= 20")]
    if torch is not None:
        tq, tk, tv = map(torch.from_numpy, (q, k, v))
        tm = torch.from_numpy(np.asarray(win))
        f = torch.nn.functional.scaled_dot_product_attention
        t["torch, boolean mask"] = median_time(lambda: f(tq, tk, tv, attn_mask=tm), budget,
                                               min_runs=1)
        ratios.append(("× PyTorch (boolean mask)", t["torch, boolean mask"] / t["cattn window"],
                       "goal >= 5"))
    out.append(("window", f"N={N}, window {w}, {H} heads, d {d}, float32", t, ratios, None))
    # 3. dropout
    q, k, v = (rng.standard_normal((4, 8, 1024, 64), dtype=np.float32) for _ in range(3))
    t = {"no dropout": median_time(lambda: sdpa(q, k, v), budget),
         "dropout_p=0.1": median_time(lambda: sdpa(q, k, v, dropout_p=0.1, seed=0), budget)}
    ratios = [("with / without", t["dropout_p=0.1"] / t["no dropout"], "goal <= 1.25")]
    if torch is not None:
        tq, tk, tv = map(torch.from_numpy, (q, k, v))
        f = torch.nn.functional.scaled_dot_product_attention
        t["torch dropout_p=0.1"] = median_time(lambda: f(tq, tk, tv, dropout_p=0.1), budget)
        ratios.append(("× PyTorch (dropout)", t["torch dropout_p=0.1"] / t["dropout_p=0.1"], ""))
    out.append(("dropout", "SDPA (4, 8, 1024, 64) float32", t, ratios, None))
    return out


def table(rows, bw):
    read, copy = bw
    lines = ["| case | shape | times | ratios |", "| --- | --- | --- | --- |"]
    for case, name, t, ratios, gbs in rows:
        times = "; ".join(f"{who} {v * 1e3:.2f} ms" for who, v in t.items())
        rs = "; ".join(f"{n} **{r:.2f}**" + (f" ({note})" if note else "") for n, r, note in ratios)
        if gbs is not None:
            rs += f"; {gbs:.1f} GB/s = **{100 * gbs / read:.0f} %** of the read bandwidth"
        lines.append(f"| {case} | {name} | {times} | {rs} |")
    lines += ["", f"Single-thread memory bandwidth, measured in this run: read {read:.1f} GB/s "
              f"(np.dot of two 128 MiB float32 vectors), copy {copy:.1f} GB/s (np.copyto of "
              f"128 MiB, bytes read + written)."]
    return "\n".join(lines)
