"""GEMM: square n x n and a batch of small products, float32 and float64.  Every library writes
into an output allocated once (out=), so the product is timed, not the allocation of its result
(a new 4096 x 4096 array costs its page clearing)."""
import numpy as np

import cattn
from common import Case


def products(a, b, torch):
    """{library: the product a @ b into its own preallocated output}"""
    shape = a.shape[:-1] + b.shape[-1:]
    oc, on = np.empty(shape, a.dtype), np.empty(shape, a.dtype)
    funcs = {"cattn": lambda: cattn.matmul(a, b, out=oc), "numpy": lambda: np.matmul(a, b, out=on)}
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        ot = torch.empty(shape, dtype=ta.dtype)
        funcs["torch"] = lambda: torch.matmul(ta, tb, out=ot)
    return funcs


def cases(quick, torch):
    rng = np.random.default_rng(0)
    sizes = [64, 256, 1024] if quick else [64, 128, 256, 512, 1000, 1024, 2048, 4096]
    for dt in (np.float32, np.float64):
        for n in sizes:
            a = rng.standard_normal((n, n)).astype(dt)
            b = rng.standard_normal((n, n)).astype(dt)
            tol = 1e-3 * np.sqrt(n) if dt == np.float32 else 1e-9
            yield Case("gemm", f"{np.dtype(dt).name} {n}x{n}", products(a, b, torch),
                       lambda a=a, b=b: a.astype(np.float64) @ b.astype(np.float64),
                       flops=2.0 * n ** 3, rtol=tol, atol=tol)
        nb = 1024 if quick else 4096
        a = rng.standard_normal((nb, 16, 64)).astype(dt)
        b = rng.standard_normal((nb, 64, 16)).astype(dt)
        # 36 MiB in float32 (a, b and the product), more than this Zen 4's 32 MiB L3: each call
        # streams them from memory, and the GB/s beside the time says how near that floor it runs
        yield Case("gemm", f"{np.dtype(dt).name} {nb} x (16x64 @ 64x16)", products(a, b, torch),
                   lambda a=a, b=b: a.astype(np.float64) @ b.astype(np.float64),
                   flops=2.0 * nb * 16 * 64 * 16, rtol=1e-3, atol=1e-3,
                   bytes=a.nbytes + b.nbytes + nb * 16 * 16 * a.itemsize)
