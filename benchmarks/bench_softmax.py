"""Softmax over the last axis of a (64, 512, 512) float32 array, and of the same array in float16
and bfloat16 (read as half by cattn: no float32 copy)."""
import numpy as np

import cattn
from common import Case


def numpy_softmax(x):
    """What a student writes: subtract the max, exponentiate, normalise."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cases(quick, torch):
    shape = (16, 512, 512) if quick else (64, 512, 512)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 4
    funcs = {"cattn": lambda: cattn.softmax(x), "numpy": lambda: numpy_softmax(x)}
    if torch is not None:
        tx = torch.from_numpy(x)
        funcs["torch"] = lambda: torch.softmax(tx, dim=-1)
    yield Case("softmax", f"float32 {shape}", funcs, lambda: numpy_softmax(x.astype(np.float64)),
               rtol=1e-5, atol=1e-7, note="GB/s = 2 x bytes / time")

    # half precision: cattn reads the rows as half; NumPy at its best converts to float32, computes
    # and rounds back (its own float16 arithmetic is 30x slower, bfloat16's too inexact to pass)
    try:
        import ml_dtypes
        halves = [np.float16, ml_dtypes.bfloat16]
    except ImportError:
        halves = [np.float16]
    for dt in halves:
        xh = x.astype(dt)
        name = np.dtype(dt).name
        funcs = {"cattn": lambda xh=xh: cattn.softmax(xh),
                 "numpy": lambda xh=xh, dt=dt: numpy_softmax(xh.astype(np.float32)).astype(dt)}
        if torch is not None:
            th = torch.from_numpy(xh.astype(np.float32)).to(getattr(torch, name))
            funcs["torch"] = lambda th=th: torch.softmax(th, dim=-1)
        yield Case("softmax", f"{name} {shape}", funcs,
                   lambda xh=xh: numpy_softmax(xh.astype(np.float64)), rtol=2e-2, atol=2e-3,
                   note="GB/s = 2 x bytes / time")
