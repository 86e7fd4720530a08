"""Scaled dot-product attention: (B, H, N, D) plain and causal, and a tiny call."""
import numpy as np

import cattn
from common import Case


def numpy_sdpa(q, k, v, causal=False):
    """NumPy's composite: scores, mask, softmax, weighted sum (materialises the (N, N) scores)."""
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if causal:
        s = np.where(np.tri(s.shape[-2], s.shape[-1], dtype=bool), s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)) @ v


def cases(quick, torch):
    rng = np.random.default_rng(0)
    shapes = [(1, 8, 128, 64), (8, 8, 512, 64)] if quick else \
        [(1, 8, 128, 64), (8, 8, 512, 64), (4, 8, 2048, 64)]
    for B, H, N, D in shapes:
        q, k, v = (rng.standard_normal((B, H, N, D)).astype(np.float32) for _ in range(3))
        for causal in (False, True):
            funcs = {
                "cattn": lambda q=q, k=k, v=v, c=causal:
                    cattn.scaled_dot_product_attention(q, k, v, is_causal=c),
                "numpy": lambda q=q, k=k, v=v, c=causal: numpy_sdpa(q, k, v, c),
            }
            if torch is not None:
                tq, tk, tv = map(torch.from_numpy, (q, k, v))
                funcs["torch"] = lambda tq=tq, tk=tk, tv=tv, c=causal: \
                    torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=c)
            # causal does half the work: GFLOP/s count only the attended half
            flops = 4.0 * B * H * N * N * D * (0.5 if causal else 1.0)
            ref = (lambda q=q, k=k, v=v, c=causal: numpy_sdpa(*(t.astype(np.float64) for t in (q, k, v)), c))
            yield Case("sdpa", f"float32 {(B, H, N, D)}{' causal' if causal else ''}", funcs, ref,
                       flops=flops, rtol=1e-4, atol=1e-5)


def tiny_case(torch):
    """Per-call overhead: q, k, v of shape (4, 16)."""
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((4, 16)).astype(np.float32) for _ in range(3))
    scale = np.float32(0.25)
    funcs = {
        "cattn": lambda: cattn.scaled_dot_product_attention(q, k, v),
        "cattn gufunc": lambda: cattn.attention(q, k, v, scale),
        "numpy": lambda: numpy_sdpa(q, k, v),
    }
    if torch is not None:
        tq, tk, tv = map(torch.from_numpy, (q, k, v))
        funcs["torch"] = lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv)
    return Case("tiny", "float32 (4,16) per call", funcs,
                lambda: numpy_sdpa(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64)),
                rtol=1e-5, atol=1e-6)
