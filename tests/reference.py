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


def additive_scores(qp, kp, w):
    """Additive attention's scores: w · tanh(qp_i + kp_j), summed over the hidden axis."""
    qp, kp, w = (np.asarray(x, np.float64) for x in (qp, kp, w))
    return (np.tanh(qp[..., :, None, :] + kp[..., None, :, :]) * w[..., None, None, :]).sum(-1)


def additive_scores_backward(qp, kp, w, ds):
    """(dqp, dkp, dw) of additive_scores for the scores' gradient ds."""
    qp, kp, w, ds = (np.asarray(x, np.float64) for x in (qp, kp, w, ds))
    u = np.tanh(qp[..., :, None, :] + kp[..., None, :, :])
    a = ds[..., None] * w[..., None, None, :] * (1 - u * u)
    return a.sum(-2), a.sum(-3), (ds[..., None] * u).sum((-3, -2))


def additive(q, k, v, Wq, Wk, wv, mask=None):
    """Additive attention: (out, weights); a row with no key gets zeros."""
    s = additive_scores(q @ Wq.T, k @ Wk.T, wv.reshape(-1))
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    m = s.max(-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(m), m, 0))
    tot = e.sum(-1, keepdims=True)
    p = np.divide(e, tot, out=np.zeros_like(e), where=tot > 0)
    return p @ v, p


def sdpa_grads(q, k, v, mask, causal, scale, dout):
    """(out, dq, dk, dv, dS) in float64 by the textbook formulas, with full (L, S) matrices."""
    q, k, v, dout = (np.asarray(x, np.float64) for x in (q, k, v, dout))
    s = scale * q @ np.swapaxes(k, -1, -2)
    L, S = s.shape[-2:]
    if causal:
        s = np.where(np.tri(L, S, dtype=bool), s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    m = s.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    e = np.exp(s - m)
    tot = e.sum(axis=-1, keepdims=True)
    p = np.divide(e, tot, out=np.zeros_like(e), where=tot > 0)
    out = p @ v
    dp = dout @ np.swapaxes(v, -1, -2)
    ds = p * (dp - (dout * out).sum(axis=-1, keepdims=True))
    return out, scale * ds @ k, scale * np.swapaxes(ds, -1, -2) @ q, np.swapaxes(p, -1, -2) @ dout, ds


def mha_layer(mha, x, allowed=True, add=None, cap=None):
    """A MultiHeadAttention in float64 NumPy from its state_dict (PyTorch's names): (out,
    per-head weights). Query head h uses key/value head h // (H // Hkv); scores are scaled,
    soft-capped (cap), plus `add`, -inf where not `allowed`; a row with no key gets zeros."""
    p = mha.state_dict()
    H, Hkv, d, E = mha.num_heads, mha.num_kv_heads, mha.head_dim, mha.embed_dim
    Ekv = Hkv * d
    if "in_proj_weight" in p:  # num_kv_heads == num_heads: PyTorch's packed layout
        W = p["in_proj_weight"]
        Wq, Wk, Wv = W[:E], W[E:E + Ekv], W[E + Ekv:]
    else:
        Wq, Wk, Wv = p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]
    b = p["in_proj_bias"]
    q = (x @ Wq.T + b[:E]).reshape(x.shape[:-1] + (H, d)).swapaxes(-2, -3)
    k = (x @ Wk.T + b[E:E + Ekv]).reshape(x.shape[:-1] + (Hkv, d)).swapaxes(-2, -3)
    v = (x @ Wv.T + b[E + Ekv:]).reshape(x.shape[:-1] + (Hkv, d)).swapaxes(-2, -3)
    k, v = np.repeat(k, H // Hkv, axis=-3), np.repeat(v, H // Hkv, axis=-3)
    s = q @ k.swapaxes(-1, -2) / np.sqrt(d)
    if cap:
        s = cap * np.tanh(s / cap)
    if add is not None:
        s = s + add
    s = np.where(allowed, s, -np.inf)
    with np.errstate(invalid="ignore"):  # a row that may attend nothing: zeros, as cattn's
        w = np.exp(s - s.max(-1, keepdims=True))
        w = np.nan_to_num(w / w.sum(-1, keepdims=True))
    o = (w @ v).swapaxes(-2, -3).reshape(x.shape[:-1] + (E,))
    return o @ p["out_proj.weight"].T + p["out_proj.bias"], w
