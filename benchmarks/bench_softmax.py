"""Softmax over the last axis of a (64, 512, 512) float32 array."""
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
