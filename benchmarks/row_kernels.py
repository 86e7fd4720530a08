"""Decoding's row kernels alone: nanoseconds per key of dot_rows (the scores) and axpy_rows (the
weighted sum), 4 query rows, d 128, called straight from the extension module through ctypes.

The whole decode mixes the two kernels, the softmax and the memory; this separates them, with
the keys in cache (--keys 1024: 256-512 KiB, in L2) or from memory (--keys 262144: 64-128 MiB):

    python benchmarks/row_kernels.py --levels avx2,avx512 --keys 1024
    python benchmarks/row_kernels.py --levels avx512,avx512bf16 --keys 262144 --so OTHER.so

Linux and macOS (where the module exports its symbols). A level's kernels are named cattn_<s|h|b><dot|axpy>_rows_<level> (float32, float16 and bfloat16
keys and values; avx512bf16 has bfloat16 scores only). The best of several timings is printed,
with the multiply-adds per ns (this Zen 4's float32 FMA peak: about 58).
"""
import argparse
import ctypes
import glob
import importlib.machinery
import os
import time

import numpy as np

M, E = 4, 128  # query rows (a KV head's group) and the head dimension


def kernel(so, name):
    f = getattr(so, name)
    f.restype = None
    P, I = ctypes.c_void_p, ctypes.c_ssize_t
    f.argtypes = [P, I, P, I, I, P, I, I, I]
    return f


def keys(kind, n, rng):
    x = rng.standard_normal((n, E)).astype(np.float32)
    if kind == "s":
        return x
    if kind == "h":
        return x.astype(np.float16).view(np.uint16)
    return (x.view(np.uint32) >> 16).astype(np.uint16)  # bfloat16: a float's top half


def best_ns_per_key(f, args, n, repeats):
    for _ in range(5):
        f(*args)
    calls = max(1, int(20000 / n) + 1)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            f(*args)
        best = min(best, (time.perf_counter() - t) / calls / n * 1e9)
    return best


def main(argv=None):
    here = os.path.join(os.path.dirname(__file__), "..", "python", "cattn")
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--so", default=None, help="the _cattn extension module (default: this tree's)")
    p.add_argument("--levels", default="avx512",
                   help="comma-separated: ref, avx2, avx512, avx512bf16, neon")
    p.add_argument("--keys", type=int, default=1024, help="keys (and values) per call")
    p.add_argument("--repeats", type=int, default=20)
    a = p.parse_args(argv)
    path = a.so or next(f for suffix in importlib.machinery.EXTENSION_SUFFIXES
                        for f in glob.glob(os.path.join(here, "_cattn" + suffix)))
    so = ctypes.CDLL(path)
    rng = np.random.default_rng(0)
    n = a.keys
    print(f"{path}: {M} query rows, d {E}, {n} keys")
    for level in a.levels.split(","):
        for kind in ("b",) if level == "avx512bf16" else ("s", "h", "b"):
            k = keys(kind, n, rng)
            q = rng.standard_normal((M, E)).astype(np.float32)
            w = rng.random((M, n)).astype(np.float32)
            s, o = np.zeros((M, n), np.float32), np.zeros((M, E), np.float32)
            dot = kernel(so, f"cattn_{kind}dot_rows_{level}")
            axpy = kernel(so, f"cattn_{kind}axpy_rows_{level}") if level != "avx512bf16" else None
            runs = [("dot", dot, (s.ctypes.data, n, q.ctypes.data, E, M, k.ctypes.data, E, n, E))]
            if axpy is not None:
                runs.append(("axpy", axpy,
                             (o.ctypes.data, E, w.ctypes.data, n, M, k.ctypes.data, E, n, E)))
            for name, f, args in runs:
                ns = best_ns_per_key(f, args, n, a.repeats)
                print(f"{level:10s} {kind} {name:5s} {ns:6.2f} ns/key  ({M * E / ns:5.1f} MAC/ns)")


if __name__ == "__main__":
    main()
