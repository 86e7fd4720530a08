"""Float64 NumPy reference implementations: the oracle every cattn kernel is compared with.

Plain, obvious NumPy; each follows the policy cattn documents (fully masked rows give zeros,
all -inf softmax rows give zeros, NaN propagates to its row)."""
import numpy as np


def matmul(a, b):
    return np.matmul(np.asarray(a, np.float64), np.asarray(b, np.float64))


def softmax(x, axis=-1):
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    with np.errstate(invalid="ignore"):
        m = np.max(x, axis=-1, keepdims=True) if x.shape[-1] else np.zeros(x.shape[:-1] + (1,))
        dead = np.isneginf(m)  # all -inf: nothing to weight
        e = np.exp(x - np.where(dead, 0.0, m))
        y = e / e.sum(axis=-1, keepdims=True)
    y = np.where(dead, 0.0, y)
    return np.moveaxis(y, -1, axis)


def log_softmax(x, axis=-1):
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.max(x, axis=-1, keepdims=True) if x.shape[-1] else np.zeros(x.shape[:-1] + (1,))
        dead = np.isneginf(m)
        ms = np.where(dead, 0.0, m)
        y = x - ms - np.log(np.exp(x - ms).sum(axis=-1, keepdims=True))
    y = np.where(dead, -np.inf, y)
    return np.moveaxis(y, -1, axis)


def sdpa(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """(out, weights) of softmax(scale q k^T + mask) v in float64."""
    q, k, v = (np.asarray(t, np.float64) for t in (q, k, v))
    L, E = q.shape[-2:]
    S = k.shape[-2]
    if scale is None:
        scale = 1.0 / np.sqrt(E)
    s = scale * (q @ np.swapaxes(k, -1, -2))
    if is_causal:
        attn_mask = np.tri(L, S, dtype=bool)
    if attn_mask is not None:
        m = np.asarray(attn_mask)
        if m.dtype == bool:
            s = np.where(m, s, -np.inf)
        else:
            s = s + m.astype(np.float64)
    w = softmax(s, axis=-1)
    return w @ v, w


def mha(xq, xk, xv, wq, wk, wv, wo, bq=None, bk=None, bv=None, bo=None, mask=None, scale=None):
    """Multi-head attention with per-head weights in float64: (out, weights (..., H, L, S)).
    mask: boolean (True = may attend) or floating, broadcastable to (..., H, L, S)."""
    f = lambda a: None if a is None else np.asarray(a, np.float64)  # noqa: E731
    xq, xk, xv, wq, wk, wv, wo, bq, bk, bv, bo = map(f, (xq, xk, xv, wq, wk, wv, wo, bq, bk, bv, bo))
    q = xq[..., None, :, :] @ wq + (0 if bq is None else bq[:, None, :])
    k = xk[..., None, :, :] @ wk + (0 if bk is None else bk[:, None, :])
    v = xv[..., None, :, :] @ wv + (0 if bv is None else bv[:, None, :])
    o, w = sdpa(q, k, v, mask, scale=scale)
    out = np.einsum("...hld,hde->...le", o, wo) + (0 if bo is None else bo)
    return out, w
