"""Dispatch levels and memory speed (group "levels"): the same cases on every level this machine
has, in one run (cattn's set_level, as CATTN_ARCH would choose at start-up), against NumPy and
PyTorch; and softmax against the machine's single-thread copy bandwidth.

- On an AVX-512 machine the "avx2 / avx512" ratio is the AVX2 path's time over the AVX-512
  path's: below 1 would mean the wider unit made cattn slower (issue 14's rule: never).  On an
  AVX2 machine only the avx2 column is measured, and the table says so.
- softmax (64, 512, 512) float32 reads and writes 64 MiB each way: its bytes moved per second
  over a copy's of the same array (NumPy copies on one thread), timed in turns with it, each
  against its like: softmax with out= against np.copyto (both write into an array that exists),
  softmax returning a new array against x.copy() (both pay the new pages' faults).
"""
import numpy as np

import cattn
from cattn import _cattn
from bench_softmax import numpy_softmax
from common import take_turns

LEVELS = ("avx2", "avx512")


def _cases(quick, torch):
    rng = np.random.default_rng(0)
    nb = 1024 if quick else 4096
    out = []
    for dt in (np.float32, np.float64):
        a, b = (rng.standard_normal(s).astype(dt) for s in ((nb, 16, 64), (nb, 64, 16)))
        out.append((f"GEMM {np.dtype(dt).name} {nb} × (16×64 @ 64×16)", (a, b), "matmul"))
        a, b = (rng.standard_normal((64, 64)).astype(dt) for _ in range(2))
        out.append((f"GEMM {np.dtype(dt).name} 64×64", (a, b), "matmul"))
    n = 512 if quick else 1024
    a, b = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    out.append((f"GEMM float32 {n}×{n}", (a, b), "matmul"))
    x = rng.standard_normal((16 if quick else 64, 512, 512)).astype(np.float32)
    out.append((f"softmax {x.shape} float32", (x,), "softmax"))
    L = 512 if quick else 1024
    q, k, v = (rng.standard_normal((4, 8, L, 64)).astype(np.float32) for _ in range(3))
    out.append((f"SDPA (4, 8, {L}, 64) float32", (q, k, v), "sdpa"))
    return out


def _funcs(kind, args, torch):
    """cattn's call, and {who: call} for NumPy (none for SDPA) and PyTorch."""
    cat = {"matmul": cattn.matmul, "softmax": lambda x: cattn.softmax(x, axis=-1),
           "sdpa": cattn.scaled_dot_product_attention}[kind]
    others = {}
    if kind in ("matmul", "softmax"):
        np_f = np.matmul if kind == "matmul" else numpy_softmax
        others["numpy"] = lambda: np_f(*args)
    if torch is not None:
        t = [torch.from_numpy(a) for a in args]
        tf = {"matmul": torch.matmul, "softmax": lambda x: torch.softmax(x, -1),
              "sdpa": torch.nn.functional.scaled_dot_product_attention}[kind]
        others["torch"] = lambda: tf(*t)
    return (lambda: cat(*args)), others


def setup(who):
    """Before a turn of "cattn <level>...": that level."""
    if who.startswith("cattn "):
        _cattn.set_level(who.split()[1].rstrip(","))


def rows(quick, torch, budget):
    """[(case, {who: seconds}, [(ratio name, value, note)])]: cattn per level, NumPy, PyTorch."""
    here = [lv for lv in LEVELS if _try_level(lv)]
    start = _cattn.get_config()["level"]
    out = []
    try:
        for name, args, kind in _cases(quick, torch):
            cat, others = _funcs(kind, args, torch)
            want = cat()
            funcs = {}
            for lv in here:
                _cattn.set_level(lv)
                np.testing.assert_allclose(cat(), want, rtol=1e-4, atol=1e-4)
                funcs[f"cattn {lv}"] = cat
            funcs.update(others)
            t = take_turns(funcs, budget, setup)
            ratios = []
            if len(here) == 2:
                ratios.append(("avx2 / avx512", t["cattn avx2"] / t["cattn avx512"],
                               "goal >= 1 (never slower for the wider unit)"))
            for lv in here:
                for who in others:
                    ratios.append((f"{who} / {lv}", t[who] / t[f"cattn {lv}"], ""))
            if kind == "softmax":
                # softmax with out= against a copy into an array that exists; softmax's new
                # output against a copy into a new array (both pay the new pages' faults): the
                # same bytes read and written, timed in turns with softmax
                x, y, y2 = args[0], np.empty_like(args[0]), np.empty_like(args[0])
                copies = {"np.copyto(y, x)": lambda: np.copyto(y2, x), "x.copy()": x.copy}
                funcs = {}
                for lv in here:
                    funcs[f"cattn {lv}, out="] = lambda: cattn.softmax(x, axis=-1, out=y)
                    funcs[f"cattn {lv}, new array"] = cat
                funcs.update(copies)
                t.update(take_turns(funcs, budget, setup))
                moved = 2 * x.nbytes
                for lv in here:
                    for how, like in ((f"cattn {lv}, out=", "np.copyto(y, x)"),
                                      (f"cattn {lv}, new array", "x.copy()")):
                        gbs = moved / t[how] / 1e9
                        ratios.append((f"{how[6:]}: GB/s moved / {like}'s", t[like] / t[how],
                                       f"{gbs:.1f} of {moved / t[like] / 1e9:.1f} GB/s; "
                                       f"goal >= 0.70 at 1 thread (the copy's one)"))
            out.append((name, t, ratios))
    finally:
        _cattn.set_level(start)
    return out, here


def _try_level(lv):
    start = _cattn.get_config()["level"]
    try:
        _cattn.set_level(lv)
        return True
    except (ValueError, RuntimeError):
        return False
    finally:
        _cattn.set_level(start)


def table(results, here):
    lines = []
    if "avx512" not in here:
        lines += ["This machine has no AVX-512: only the AVX2 path is measured here (on an AVX-512 "
                  "machine the same run adds the avx512 column and the avx2 / avx512 ratio).", ""]
    lines += ["| case | times | ratio | value | note |", "| --- | --- | --- | ---: | --- |"]
    for name, times, ratios in results:
        ts = "; ".join(f"{k} {v * 1e3:.3f} ms" for k, v in times.items())
        for i, (what, r, note) in enumerate(ratios):
            lines.append(f"| {name if i == 0 else ''} | {ts if i == 0 else ''} | {what} | "
                         f"{r:.2f} | {note} |")
    return "\n".join(lines)
