"""GEMM: square n x n and a batch of small products, float32 and float64."""
import numpy as np

import cattn
from common import Case


def cases(quick, torch):
    rng = np.random.default_rng(0)
    sizes = [64, 256, 1024] if quick else [64, 128, 256, 512, 1000, 1024, 2048, 4096]
    for dt in (np.float32, np.float64):
        for n in sizes:
            a = rng.standard_normal((n, n)).astype(dt)
            b = rng.standard_normal((n, n)).astype(dt)
            funcs = {"cattn": lambda a=a, b=b: cattn.matmul(a, b), "numpy": lambda a=a, b=b: a @ b}
            if torch is not None:
                ta, tb = torch.from_numpy(a), torch.from_numpy(b)
                funcs["torch"] = lambda ta=ta, tb=tb: torch.matmul(ta, tb)
            tol = 1e-3 * np.sqrt(n) if dt == np.float32 else 1e-9
            yield Case("gemm", f"{np.dtype(dt).name} {n}x{n}", funcs,
                       lambda a=a, b=b: a.astype(np.float64) @ b.astype(np.float64),
                       flops=2.0 * n ** 3, rtol=tol, atol=tol)
        nb = 1024 if quick else 4096
        a = rng.standard_normal((nb, 16, 64)).astype(dt)
        b = rng.standard_normal((nb, 64, 16)).astype(dt)
        funcs = {"cattn": lambda a=a, b=b: cattn.matmul(a, b), "numpy": lambda a=a, b=b: a @ b}
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            funcs["torch"] = lambda ta=ta, tb=tb: torch.matmul(ta, tb)
        yield Case("gemm", f"{np.dtype(dt).name} {nb} x (16x64 @ 64x16)", funcs,
                   lambda a=a, b=b: a.astype(np.float64) @ b.astype(np.float64),
                   flops=2.0 * nb * 16 * 64 * 16, rtol=1e-3, atol=1e-3)
