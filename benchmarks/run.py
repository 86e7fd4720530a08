"""cattn's benchmark suite: cattn vs NumPy vs PyTorch on the same inputs, in the same run.

    python benchmarks/run.py                 # all cases, every core
    python benchmarks/run.py --threads 1     # one thread for cattn, NumPy's BLAS and PyTorch
    python benchmarks/run.py --quick         # smaller shapes, a minute or so

Every implementation is first checked against a float64 reference; then each is timed (median of
repeated runs). The table gives medians, ratios (other's time / cattn's time: above 1 means cattn
is faster), cattn's GFLOP/s and its fraction of the measured GEMM peak (the best float32 GEMM rate
any library reached in this run). It is written to benchmarks/results/ as Markdown, and as a PNG
chart when matplotlib is installed. PyTorch is optional: pip install torch==2.13.0.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every library")
    p.add_argument("--quick", action="store_true", help="smaller shapes")
    p.add_argument("--budget", type=float, default=None, help="seconds of timing per measurement")
    p.add_argument("--only", default="", help="comma-separated groups: gemm,softmax,sdpa,tiny,mha,backward,additive,modern,levels,paths,memory,gil")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="where to write the table")
    return p.parse_args()


ARGS = parse()
# thread counts must be set before NumPy's BLAS starts
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
# NumPy at its best: an environment may force OpenBLAS onto an older kernel (OPENBLAS_CORETYPE=
# Haswell on an AVX-512 CPU halves its GEMM) or a smaller cache size; the comparison runs OpenBLAS
# on the kernel it picks for this CPU.  Only here, in the benchmark's own process: tests and CI's
# test steps leave the environment alone.
UNSET = {var: os.environ.pop(var) for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
         if var in os.environ}
os.environ["CATTN_NUM_THREADS"] = str(ARGS.threads)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import cattn  # noqa: E402
from common import check, median_time, median_time_per_call, take_turns  # noqa: E402

try:
    import torch  # noqa: E402

    torch.set_num_threads(ARGS.threads)
except ImportError:
    torch = None


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    c = cattn._config.config()
    blas = ""
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i['internal_api']} {i.get('version', '')} {i.get('architecture', '')}"
                         for i in threadpool_info())
    except ImportError:  # no threadpoolctl: the BLAS NumPy was built with, from its own config
        try:
            b = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            blas = f"{b['name']} {b.get('version', '')}"
        except Exception:
            pass
    return (f"{cpu}, {os.cpu_count()} cores, vector unit {vector_unit()}; threads: {ARGS.threads}; "
            f"cattn {c['version']} code path {c['level']}; NumPy {np.__version__} "
            f"({blas or 'BLAS unknown: pip install threadpoolctl for its kernel'}"
            f"{'; unset for NumPy: ' + ', '.join(f'{k}={v}' for k, v in UNSET.items()) if UNSET else ''}); "
            f"PyTorch {torch.__version__ if torch else 'not installed'}")


def vector_unit():
    """The widest vector unit the CPU has, its AVX-512 extensions, and the measured speed of a
    512-bit FMA against a 256-bit one (cattn's GEMM microkernels: 1x on a 256-bit datapath such as
    Zen 4, 2x on Zen 5 and Intel server cores)."""
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    ext = sorted(f for f in flags if f.startswith("avx512"))
    name = ("AVX-512 (" + " ".join(ext) + ")" if ext else "AVX2 + FMA" if "avx2" in flags
            else "NEON" if "asimd" in flags else platform.machine())
    rates = cattn._cattn.gemm_rates()
    if "avx512" in rates and "avx2" in rates:
        r = rates["avx512"]["float32"] / rates["avx2"]["float32"]
        name += f"; 512-bit tile at {r:.2f}x the 256-bit one (measured)"
    return name


def run_cases(cases, budget):
    rows = []
    for case in cases:
        check(case)
        case.times = take_turns(case.funcs, budget)
        rows.append(case)
        t = case.times
        print(f"  {case.group:<8}{case.name:<40}" + "".join(
            f"{who} {t[who] * 1e3:9.3f} ms  " for who in t), flush=True)
    return rows


MEMORY_SCRIPT = r"""
import numpy as np, cattn, resource, sys
B, H, N, D = 1, 8, int(sys.argv[1]), 64
rng = np.random.default_rng(0)
q, k, v = (rng.standard_normal((B, H, N, D), dtype=np.float32) for _ in range(3))
out = np.zeros_like(q)  # touched, so its pages count as the output's, not the call's
cattn.scaled_dot_product_attention(q[:, :, :128], k[:, :, :128], v[:, :, :128])  # warm up
def rss():
    with open("/proc/self/status") as f:
        return {l.split(":")[0]: int(l.split()[1]) for l in f if l.startswith(("VmRSS", "VmHWM"))}
with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to the current RSS
    f.write("5")
before = rss()["VmRSS"]
cattn.scaled_dot_product_attention(q, k, v, out=out)
print(rss()["VmHWM"] - before)
"""


MEMORY_BACKWARD_SCRIPT = r"""
import numpy as np, cattn, sys
B, H, N, D = 1, 8, int(sys.argv[1]), 64
rng = np.random.default_rng(0)
q, k, v, g = (rng.standard_normal((B, H, N, D), dtype=np.float32) for _ in range(4))
o, lse = cattn.attention_with_lse(q, k, v, 0.125)
grads = tuple(np.zeros_like(x) for x in (q, k, v))  # touched: their pages are the outputs'
cattn.attention_backward(q[:, :, :128], k[:, :, :128], v[:, :, :128], o[:, :, :128],
                         lse[:, :, :128], g[:, :, :128], 0.125)  # warm up
def rss():
    with open("/proc/self/status") as f:
        return {l.split(":")[0]: int(l.split()[1]) for l in f if l.startswith(("VmRSS", "VmHWM"))}
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = rss()["VmRSS"]
cattn.attention_backward(q, k, v, o, lse, g, 0.125, out=grads)
print(rss()["VmHWM"] - before)
"""


def memory(n=16384, script=MEMORY_SCRIPT):
    """Peak RSS growth (MiB) of one SDPA call with preallocated output, in a fresh process."""
    r = subprocess.run([sys.executable, "-c", script, str(n)], capture_output=True,
                       text=True, env=dict(os.environ), timeout=1200)
    if r.returncode != 0:
        return None, r.stderr.strip().splitlines()[-1]
    kib = int(r.stdout.strip().splitlines()[-1])
    return kib / 1024, None


def gil_release():
    """Two Python threads each run one SDPA call with cattn on one thread: if the GIL is released
    during the kernel, the pair takes about as long as one call, not twice."""
    import threading

    q, k, v = (np.random.default_rng(i).standard_normal((4, 8, 512, 64)).astype(np.float32)
               for i in range(3))
    cattn.set_num_threads(1)
    f = lambda: cattn.scaled_dot_product_attention(q, k, v)  # noqa: E731
    time.sleep(1.0)  # PyTorch's and OpenBLAS's threads from the cases before may still spin
    one = median_time(f, 1.0)

    def pair():
        ts = [threading.Thread(target=f) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    two = median_time(pair, 1.0)
    cattn.set_num_threads(ARGS.threads)
    return one, two


def fmt_ms(t):
    return "–" if t is None else (f"{t * 1e6:.2f} µs" if t < 1e-3 else f"{t * 1e3:.2f} ms")


def table(rows, peak):
    lines = ["| group | case | cattn | NumPy | PyTorch | × NumPy | × PyTorch | cattn GFLOP/s | % of GEMM peak |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in rows:
        t = c.times
        tc = t["cattn"]
        tn, tt = t.get("numpy"), t.get("torch")
        gf = c.flops / tc / 1e9 if c.flops else None
        extra = ""
        if c.group == "softmax" or c.name.startswith("softmax bwd"):
            n = c.reference().size
            passes = 2 if c.group == "softmax" else 3  # bytes read and written per element
            item = 2 if c.name.startswith(("float16", "bfloat16")) else 4  # bytes per element
            extra = f" ({passes * n * item / tc / 1e9:.1f} GB/s)"
        elif c.bytes:  # (a batch of small products: how near the memory's floor)
            extra = f" ({c.bytes / tc / 1e9:.1f} GB/s)"
        lines.append(
            f"| {c.group} | {c.name}{extra} | {fmt_ms(tc)} | {fmt_ms(tn)} | {fmt_ms(tt)} | "
            f"{tn / tc:.2f} | {'–' if tt is None else f'{tt / tc:.2f}'} | "
            f"{'–' if gf is None else f'{gf:.1f}'} | "
            f"{'–' if gf is None or not peak else f'{100 * gf / peak:.0f} %'} |")
    return "\n".join(lines)


def chart(rows, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (no PNG chart: pip install matplotlib)")
        return False
    labels = [f"{c.group} {c.name}" for c in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.5))
    ax.barh(y - 0.2, [c.times["numpy"] / c.times["cattn"] for c in rows], 0.4, label="vs NumPy")
    if any("torch" in c.times for c in rows):
        ax.barh(y + 0.2, [c.times.get("torch", np.nan) / c.times["cattn"] for c in rows], 0.4,
                label="vs PyTorch")
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("speed-up of cattn (other's time / cattn's time), log scale")
    ax.set_title(f"cattn, {ARGS.threads} thread(s)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main():
    budget = ARGS.budget if ARGS.budget is not None else (0.3 if ARGS.quick else 1.0)
    only = set(filter(None, ARGS.only.split(",")))
    want = lambda g: not only or g in only  # noqa: E731
    cattn.set_num_threads(ARGS.threads)
    print(f"machine: {machine()}")
    import bench_additive
    import bench_attention
    import bench_backward
    import bench_gemm
    import bench_mha
    import bench_softmax

    rows = []
    for group, mod in (("gemm", bench_gemm), ("softmax", bench_softmax), ("sdpa", bench_attention),
                       ("mha", bench_mha), ("backward", bench_backward),
                       ("additive", bench_additive)):
        if want(group):
            rows += run_cases(mod.cases(ARGS.quick, torch), budget)
    tiny = None
    if want("tiny"):
        tiny = bench_attention.tiny_case(torch)
        check(tiny)
        tiny.times = {who: median_time_per_call(f) for who, f in tiny.funcs.items()}
        print("  tiny    " + "  ".join(f"{w} {t * 1e6:.2f} µs" for w, t in tiny.times.items()))
    peak = max((c.flops / t / 1e9 for c in rows if c.group == "gemm" and "float32" in c.name
                for t in c.times.values()), default=None)
    modern = None
    if want("modern"):
        import bench_modern

        bw = bench_modern.bandwidth(budget)
        modern = (bench_modern.rows(ARGS.quick, torch, budget), bw)
        print(f"  modern  bandwidth: read {bw[0]:.1f} GB/s, copy {bw[1]:.1f} GB/s")
        for case, name, times, ratios, gbs in modern[0]:
            print(f"  modern  {case} {name}: " + ", ".join(f"{n} {r:.2f}" for n, r, _ in ratios)
                  + (f", {gbs:.1f} GB/s" if gbs else ""))
    levels = None
    if want("levels"):
        import bench_levels

        levels = bench_levels.rows(ARGS.quick, torch, budget)
        print(f"  levels  here: {', '.join(levels[1])}")
        for name, times, ratios in levels[0]:
            print(f"  levels  {name}: " + ", ".join(f"{w} {r:.2f}" for w, r, _ in ratios))
    paths = None
    if want("paths"):
        import bench_paths

        paths = bench_paths.rows(ARGS.quick, budget)
        for group, name, times, ratios in paths:
            print(f"  paths   {group} {name}: " + ", ".join(f"{w} {r:.2f}" for w, r, _ in ratios))
    mem = mem_bwd = gil = None
    if want("memory"):
        n = 4096 if ARGS.quick else 16384
        mem = (n,) + memory(n)
        print(f"  memory  N={n}: {mem[1]} MiB beyond inputs and output" if mem[1] is not None
              else f"  memory  failed: {mem[2]}")
        mem_bwd = memory(n, MEMORY_BACKWARD_SCRIPT)
        print(f"  memory  backward N={n}: {mem_bwd[0]} MiB beyond inputs, outputs and gradients"
              if mem_bwd[0] is not None else f"  memory  backward failed: {mem_bwd[1]}")
    if want("gil"):
        gil = gil_release()
        print(f"  gil     one call {gil[0] * 1e3:.1f} ms, two threads together {gil[1] * 1e3:.1f} ms")

    os.makedirs(ARGS.out, exist_ok=True)
    stem = os.path.join(ARGS.out, f"latest-{ARGS.threads}t{'-quick' if ARGS.quick else ''}")
    md = [f"### cattn benchmarks, {ARGS.threads} thread(s){' (quick)' if ARGS.quick else ''}", "",
          f"Machine: {machine()}.", f"Run: `python benchmarks/run.py --threads {ARGS.threads}"
          f"{' --quick' if ARGS.quick else ''}` on {time.strftime('%Y-%m-%d')}.", ""]
    if rows:
        md += [table(rows, peak), "",
               f"Ratios are the other library's median time over cattn's (above 1: cattn is faster). "
               f"GEMM peak = the best float32 GEMM rate measured in this run: "
               f"{peak:.1f} GFLOP/s." if peak else "Ratios: other's time / cattn's time.", ""]
    if modern:
        md += ["Modern attention (benchmarks/bench_modern.py): decode with grouped-query heads, a "
               "sliding window, dropout.", "", bench_modern.table(*modern), ""]
    if levels:
        md += ["Dispatch levels in one run, and softmax against the copy bandwidth "
               "(benchmarks/bench_levels.py).", "", bench_levels.table(*levels), ""]
    if paths:
        md += ["cattn against itself: the mask kind kept down to the kernel "
               "(benchmarks/bench_paths.py).", "", bench_paths.table(paths), ""]
    if tiny:
        t = tiny.times
        md += ["| tiny SDPA call, (4,16) float32 | time per call |", "| --- | ---: |"]
        md += [f"| {who} | {t[who] * 1e6:.2f} µs |" for who in t] + [""]
    if mem:
        n, mib, err = mem
        md += [f"Memory: SDPA over B=1, H=8, N={n}, D=64 float32 with `out=` needs "
               + (f"**{mib:.1f} MiB** of peak RSS beyond its inputs and output" if err is None
                  else f"(measurement failed: {err})")
               + f" (NumPy's composite needs {8 * n * n * 4 / 2 ** 30:.1f} GiB for the scores alone).", ""]
        mib, err = mem_bwd
        md += ["Memory of the backward (attention_backward from the saved lse, `out=` given) at the "
               "same size: " + (f"**{mib:.1f} MiB** of peak RSS beyond its inputs, outputs and "
                                 f"gradients" if err is None else f"(measurement failed: {err})")
               + f" (a backward that stored the probabilities would hold {8 * n * n * 4 / 2 ** 30:.1f} GiB).", ""]
    if gil:
        md += [f"GIL: one SDPA (4,8,512,64) call on one cattn thread takes {gil[0] * 1e3:.1f} ms; "
               f"two Python threads each making that call finish in {gil[1] * 1e3:.1f} ms "
               f"({gil[1] / gil[0]:.2f}× one call; 2× would mean the GIL serialises them).", ""]
    if rows and chart(rows, stem + ".png"):  # a local picture: generated, so never in git
        md += [f"(Chart: `{os.path.basename(stem)}.png` beside this file, drawn by the run; not "
               f"kept in git.)", ""]
    with open(stem + ".md", "w") as f:
        f.write("\n".join(md))
    with open(stem + ".json", "w") as f:
        json.dump({"machine": machine(), "threads": ARGS.threads, "quick": ARGS.quick,
                   "rows": [{"group": c.group, "name": c.name, "flops": c.flops, "times": c.times}
                            for c in rows],
                   "tiny": tiny.times if tiny else None, "memory": mem, "gil": gil,
                   "modern": None if modern is None else
                   {"bandwidth": modern[1], "rows": [r[:3] for r in modern[0]]},
                   "levels": None if levels is None else
                   {"here": levels[1], "rows": [r[:2] for r in levels[0]]}}, f, indent=1)
    print(f"wrote {stem}.md")


if __name__ == "__main__":
    main()
