# %% [markdown]
# # 5 · Why cattn is fast
#
# *Why the fused kernel is fast, and why it needs no N × N matrix.*
#
# The NumPy composite `softmax(q kᵀ/√d) v` builds the whole N × N score matrix (and a few more of
# the same size). cattn's fused kernel walks the queries in blocks of 72 rows: per block it computes
# a 72 × N tile of scores with a register-blocked GEMM, turns it into weights in place, and multiplies
# by V — so memory grows like N, not N², and the work stays in cache.

# %%
import numpy as np
import matplotlib.pyplot as plt
import cattn
np.set_printoptions(precision=3, suppress=True)

# %%
import time

def numpy_sdpa(q, k, v):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    e = np.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)) @ v

def median_time(f, repeat=7):
    # (median, fastest, slowest) seconds of `repeat` runs after one warm-up run: one run alone
    # can be off by 10-50 % on a laptop (clock boost, other programs); the median is steady
    f()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), min(ts), max(ts)

try:
    import torch
except ImportError:
    torch = None
rng = np.random.default_rng(0)
sizes = [128, 256, 512, 1024, 2048]
rows = []
for n in sizes:
    q, k, v = (rng.standard_normal((4, n, 64)).astype(np.float32) for _ in range(3))
    assert np.allclose(cattn.scaled_dot_product_attention(q, k, v), numpy_sdpa(q, k, v), atol=1e-4)
    row = {"n": n, "cattn": median_time(lambda: cattn.scaled_dot_product_attention(q, k, v)),
           "numpy": median_time(lambda: numpy_sdpa(q, k, v))}
    if torch is not None:
        tq, tk, tv = map(torch.from_numpy, (q, k, v))
        row["torch"] = median_time(lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv))
    rows.append(row)
print("median of 7 runs [fastest - slowest], 4 heads, d = 64, float32")
for r in rows:
    line = f"N={r['n']:5d}"
    for who in ("cattn", "numpy", "torch"):
        if who in r:
            m, lo, hi = r[who]
            line += f"   {who} {m*1e3:7.2f} ms [{lo*1e3:.2f}-{hi*1e3:.2f}]"
    print(line + f"   numpy/cattn x{r['numpy'][0] / r['cattn'][0]:.1f}")

# %%
cattn.use_cjk_font()
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for who in ("cattn", "numpy", "torch"):
    if who in rows[0]:
        med = np.array([r[who][0] for r in rows]) * 1e3
        lo = np.array([r[who][1] for r in rows]) * 1e3
        hi = np.array([r[who][2] for r in rows]) * 1e3
        ax.errorbar(sizes, med, yerr=[med - lo, hi - med], fmt="o-", capsize=3, label=who)
ax.set_xscale("log", base=2); ax.set_yscale("log")
ax.set_xlabel("sequence length N"); ax.set_ylabel("ms per call (median; bars: fastest-slowest)")
ax.set_title("缩放点积注意力 scaled dot-product attention, 4 heads, d = 64"); ax.legend()
plt.show()

# %% [markdown]
# ## What the numbers say, and what they do not
#
# Each time is a median of seven runs; the bars show how far single runs stray — one run alone can
# be off by a factor that would change the story. The *ratio* to NumPy is not one number: it depends
# on N and on the machine (its cache sizes, its BLAS, its vector unit), and it need not grow with N.
# Both cattn and NumPy spend most of the time in the two matrix products once N is large, and there
# NumPy's BLAS is fast too; what NumPy adds is writing and reading the N × N score matrix (and the
# `exp`, the sum and the division, each another N × N pass through memory).
#
# What holds on every machine is the memory: the next cell counts it, and the last one measures it.
#
# ## Memory
# The composite needs at least one float32 N × N matrix per head for the scores; cattn needs one
# 72 × N tile per thread plus packed copies of K and V.

# %%
heads, d, threads = 8, 64, cattn.get_num_threads()
for n in (1024, 4096, 16384):
    composite = heads * n * n * 4
    fused = threads * 72 * n * 4 + 2 * n * d * 4
    print(f"N={n:6d}: NumPy's scores {composite / 2**20:10.1f} MiB   cattn's scratch {fused / 2**20:6.2f} MiB")

# %% [markdown]
# ## A new array costs more than you think: pass `out=` in loops
#
# Every call that returns a large new array (tens of MiB) asks the operating system for fresh memory,
# and the system clears each new page to zero before the call may write it. That clearing is one more
# pass over memory: for softmax, which reads and writes each number only once, it adds a good part of
# the softmax's own time. (How large is large depends on the C library: on Linux, glibc keeps freed
# blocks below 32 MiB for reuse, so a 16 MiB result costs no clearing, and hands larger ones back to
# the system, so a 64 MiB result always does.) A loop that calls the same function again and again (a
# training step, an animation, a benchmark) can allocate its result once and hand it back with
# `out=`. Every cattn function and gufunc takes `out=`, like NumPy's ufuncs.

# %%
x = rng.standard_normal((64, 512, 512)).astype(np.float32)      # 64 MiB
y = np.empty_like(x)
t_new = median_time(lambda: cattn.softmax(x))                  # a new 64 MiB array every call
t_out = median_time(lambda: cattn.softmax(x, out=y))           # the same array every call
t_copy = median_time(lambda: np.copyto(y, x))                  # reading and writing 64 MiB, nothing else
assert np.array_equal(cattn.softmax(x, out=y), cattn.softmax(x))
print(f"softmax into a new array {t_new[0]*1e3:6.2f} ms")
print(f"softmax with out=        {t_out[0]*1e3:6.2f} ms   ({t_new[0] / t_out[0]:.1f}x faster)")
print(f"np.copyto, for scale     {t_copy[0]*1e3:6.2f} ms   (softmax with out= takes {t_out[0] / t_copy[0]:.1f}x a copy)")

# %%
# key results (timings vary by machine; the correctness and the memory model do not)
q, k, v = (rng.standard_normal((2, 300, 64)) for _ in range(3))
assert np.allclose(cattn.scaled_dot_product_attention(q, k, v), numpy_sdpa(q, k, v))

# the memory model, measured: the peak memory one call adds (Linux: /proc resets the peak)
import os
def peak_growth_mib(f):
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")                            # the peak (VmHWM) := the current size
    status = lambda: dict(l.split(":") for l in open("/proc/self/status"))
    before = int(status()["VmRSS"].split()[0])
    f()
    return (int(status()["VmHWM"].split()[0]) - before) / 1024

if os.path.exists("/proc/self/clear_refs"):
    n = 4096
    q, k, v = (rng.standard_normal((8, n, 64)).astype(np.float32) for _ in range(3))
    out = np.zeros_like(q)
    grown = peak_growth_mib(lambda: cattn.scaled_dot_product_attention(q, k, v, out=out))
    scores = 8 * n * n * 4 / 2**20               # MiB of scores NumPy's composite needs
    print(f"N={n}, 8 heads: cattn's call added {grown:.1f} MiB at its peak; the scores alone are {scores:.0f} MiB")
    assert grown < scores / 20
print("ok")
