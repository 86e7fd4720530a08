"""Two builds of cattn in one process, timed in turns: did a kernel change make it faster?

On a shared or virtual machine the same call drifts by 10-20 % between runs, more than most
kernel changes are worth. Alternating two processes does not cancel that drift. Loading both
builds' extension modules into one process and alternating them, call by call, does: each pair of
timings sees the same machine. Here a build timed against itself read 1.000 +- 0.001 for calls of
0.1 ms and longer, and 0.94-1.00 for calls of about 10 us: trust small differences only there.

    git worktree add /tmp/base HEAD
    (cd /tmp/base && python setup.py build_ext --inplace)
    # change the kernels in this tree and rebuild it in place, then:
    python benchmarks/ab_builds.py /tmp/base/python/cattn/_cattn*.so \\
        python/cattn/_cattn*.so --threads 1 matmul:256 attention:4,8,1024,64

A case is KERNEL:SHAPE[:DTYPE], DTYPE float32 (the default), float64, float16 or bfloat16 (with
ml_dtypes installed):
    matmul:N              (N, N) @ (N, N)
    batch:B,M,K,N         a batch of B products (M, K) @ (K, N)
    softmax:D0,D1,...     softmax over the last axis
    attention:B,H,N,E     scaled dot-product attention, q, k, v of shape (B, H, N, E)
    causal:B,H,N,E        the same, causal (the causal_attention gufunc)
    decode:H,S,E          decoding: 4 query rows against S keys and values, in each of H heads
Each case first checks that both builds agree (np.allclose), then times them in turns, both on
the same arrays (inputs and output). It prints each build's median time and speed = base time /
new time (above 1: the new build is faster).
"""
import argparse
import functools
import importlib.util
import sys
import time

import numpy as np


def load(name, path):
    """Load one build's extension module under its own name (PyInit__cattn either way)."""
    spec = importlib.util.spec_from_file_location(f"{name}._cattn", path)
    if spec is None:
        raise SystemExit(f"ab_builds.py: {path} is not an extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=1)
def case_arrays(kernel, shape, dtype):
    """The inputs and the output of a case: one set, which both builds read and write.  Where a
    memory-bound call's arrays land moves its time by more than most changes (a batch of
    16x64 @ 64x16 by 15 %, build against itself, when each build had arrays of its own)."""
    rng = np.random.default_rng(0)
    if kernel == "matmul":
        if len(shape) != 1:
            raise SystemExit("ab_builds.py: matmul takes one size, matmul:N")
        a, b = (rng.standard_normal((shape[0], shape[0])).astype(dtype) for _ in range(2))
        return a, b, np.empty_like(a)
    if kernel == "batch":
        if len(shape) != 4:
            raise SystemExit("ab_builds.py: batch takes four sizes, batch:B,M,K,N")
        B, M, K, N = shape
        a = rng.standard_normal((B, M, K)).astype(dtype)
        b = rng.standard_normal((B, K, N)).astype(dtype)
        return a, b, np.empty((B, M, N), dtype)
    if kernel == "softmax":
        x = rng.standard_normal(shape).astype(dtype)
        return x, np.empty_like(x)
    if kernel in ("attention", "causal"):
        if len(shape) != 4:
            raise SystemExit(f"ab_builds.py: {kernel} takes four sizes, {kernel}:B,H,N,E")
        q, k, v = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
        return q, k, v, np.empty_like(q)
    if kernel == "decode":
        if len(shape) != 3:
            raise SystemExit("ab_builds.py: decode takes three sizes, decode:H,S,E")
        H, S, E = shape
        q = rng.standard_normal((H, 4, E)).astype(dtype)
        k, v = (rng.standard_normal((H, S, E)).astype(dtype) for _ in range(2))
        return q, k, v, np.empty_like(q)
    raise SystemExit(f"ab_builds.py: unknown kernel {kernel!r} (matmul, batch, softmax, attention, "
                     f"causal, decode)")


def case_call(module, kernel, shape, dtype):
    """A zero-argument call of `kernel` on the case's arrays (case_arrays), into its output."""
    x = case_arrays(kernel, shape, dtype)
    if kernel in ("matmul", "batch"):
        return lambda: module.matmul(x[0], x[1], out=x[2])
    if kernel == "softmax":
        return lambda: module.softmax(x[0], out=x[1])
    scale = 1 / np.sqrt(shape[-1])
    f = module.causal_attention if kernel == "causal" else module.attention
    return lambda: f(x[0], x[1], x[2], scale, out=x[3])


def parse_case(text):
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SystemExit(f"ab_builds.py: a case is KERNEL:SHAPE[:DTYPE], not {text!r}")
    name = parts[2] if len(parts) == 3 else "float32"
    if name == "bfloat16":
        import ml_dtypes
        dtype = np.dtype(ml_dtypes.bfloat16)
    else:
        dtype = np.dtype(name)
    if dtype.name not in ("float32", "float64", "float16", "bfloat16"):
        raise SystemExit(f"ab_builds.py: dtype {dtype} is not float32, float64, float16 or "
                         f"bfloat16")
    return parts[0], tuple(int(s) for s in parts[1].split(",")), dtype


def compare(base, new, kernel, shape, dtype, budget, check=True, pause=0.0):
    """Median seconds of each build, timed in turns for about `budget` seconds (check: refuse
    builds whose results differ; pause: seconds of sleep before each call, which is then timed
    alone)."""
    f_base = case_call(base, kernel, shape, dtype)
    f_new = case_call(new, kernel, shape, dtype)
    r_base, r_new = (np.array(f(), dtype=np.float64) for f in (f_base, f_new))  # (copies)
    tol = {"float32": 1e-4, "float64": 1e-10}.get(dtype.name, 2e-2)
    if check and not np.allclose(r_base, r_new, rtol=tol, atol=tol):
        raise SystemExit(f"ab_builds.py: {kernel}{shape}: the builds disagree "
                         f"(max |diff| {np.abs(r_base - r_new).max():.3g})")
    t0 = time.perf_counter()
    f_base()
    one = time.perf_counter() - t0
    reps = 1 if pause > 0 else max(1, int(0.01 / max(one, 1e-9)))  # per timing: about 10 ms
    times = {"base": [], "new": []}
    turn = 0
    while turn < 6 or (time.perf_counter() - t0 < budget and turn < 400):
        pair = (("base", f_base), ("new", f_new))
        for who, f in pair if turn % 2 == 0 else pair[::-1]:
            time.sleep(pause)
            t = time.perf_counter()
            for _ in range(reps):
                f()
            times[who].append((time.perf_counter() - t) / reps)
        turn += 1
    med = {who: float(np.median(ts)) for who, ts in times.items()}
    return med, np.array_equal(r_base, r_new), turn


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("base", help="the base build's _cattn extension module (.so / .pyd)")
    p.add_argument("new", help="the new build's _cattn extension module")
    p.add_argument("cases", nargs="+", help="KERNEL:SHAPE[:DTYPE], e.g. matmul:256")
    p.add_argument("--threads", type=int, default=None, help="threads for both builds")
    p.add_argument("--seconds", type=float, default=10.0, help="time budget per case")
    p.add_argument("--no-check", action="store_true",
                   help="time builds whose results differ (one built without a step, to see "
                        "that step's share of the time)")
    p.add_argument("--pause", type=float, default=0.0,
                   help="sleep this many seconds before each call and time it alone, as calls "
                        "come in a notebook (threads woken from sleep, the machine idle between)")
    args = p.parse_args(argv)
    base, new = load("cattn_base", args.base), load("cattn_new", args.new)
    try:  # bfloat16's loops, as cattn's package registers them at import
        import ml_dtypes
        for m in (base, new):
            m.register_bfloat16(np.dtype(ml_dtypes.bfloat16))
    except ImportError:
        pass
    if args.threads is not None:
        base.set_num_threads(args.threads)
        new.set_num_threads(args.threads)
    print(f"base: {args.base} ({base.get_config()['level']}, {base.get_num_threads()} threads)")
    print(f"new:  {args.new} ({new.get_config()['level']}, {new.get_num_threads()} threads)")
    print("| case | base | new | speed (base / new) | same bits | turns |")
    print("| --- | ---: | ---: | ---: | --- | ---: |")
    for text in args.cases:
        kernel, shape, dtype = parse_case(text)
        med, same, turns = compare(base, new, kernel, shape, dtype, args.seconds,
                                     check=not args.no_check, pause=args.pause)
        print(f"| {kernel} {shape} {dtype} | {med['base'] * 1e3:.3f} ms | {med['new'] * 1e3:.3f} ms "
              f"| {med['base'] / med['new']:.3f} | {'yes' if same else 'no'} | {turns} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
