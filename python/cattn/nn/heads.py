"""nn/heads.py -- below the layer: the route from one multi-head call to the kernels.

A layer (MultiHeadAttention, Attention with projections) describes its call once -- the mask,
key lengths, causal, the weights wanted, dropout's probability and seed, the soft cap, query
lengths, the cache -- and hands it with its projections to ``attend``, which picks the route:

- fused: the whole layer as one C call (``cattn.multi_head_attention``), when the call needs
  nothing else: every head its own key/value head, no dropout, no soft cap, no query lengths,
  no structured mask, no cache;
- composed: the projections, cattn's SDPA (which has every feature) and the output projection.

Both return the same things: the result, and for a gradient a pullback giving the inputs'
gradients and the projections' in PyTorch's layout, which the layer adds into its ``grads``
(its one scatter)."""
import contextlib
from typing import NamedTuple

import numpy as np

from .. import _cattn, functional, gradients
from .._checks import is_half
from ..masks import StructuredMask, causal_lower_right


class Projections(NamedTuple):
    """A layer's projections in PyTorch's layout (views of its parameters): Wq (H·d, E),
    Wk (Hkv·d, kdim), Wv (Hkv·d, vdim), Wo (E, H·d), biases or None."""
    weights: tuple
    num_heads: int
    num_kv_heads: int
    head_dim: int


def per_head(p):
    """(wq, wk, wv, wo, bq, bk, bv, bo): the per-head views the C kernel takes (no copies).
    wq (H, E, d), wk (Hkv, kdim, d), wv (Hkv, vdim, d), wo (H, d, E), bq (H, d), bk/bv
    (Hkv, d), bo (E) or None."""
    Wq, Wk, Wv, Wo, bq, bk, bv, bo = p.weights
    H, Hkv, d = p.num_heads, p.num_kv_heads, p.head_dim
    # row h*d + j of W is output j of head h: (heads*d, E_in) -> (heads, d, E_in) -> (heads,
    # E_in, d)
    wq, wk, wv = (m.reshape(n, d, m.shape[1]).transpose(0, 2, 1)
                  for m, n in ((Wq, H), (Wk, Hkv), (Wv, Hkv)))
    # column h*d + j of W_o multiplies output j of head h: (E, E) -> (E, H, d) -> (H, d, E)
    E = Wo.shape[0]
    wo = Wo.reshape(E, H, d).transpose(1, 2, 0)
    if bq is not None:
        bq, bk, bv = bq.reshape(H, d), bk.reshape(Hkv, d), bv.reshape(Hkv, d)
    return wq, wk, wv, wo, bq, bk, bv, bo


def needs_composed(p, call):
    """Does the call need the composed route (a feature the fused C call does not have)?"""
    return (p.num_kv_heads != p.num_heads or bool(call["dropout_p"]) or
            call["softcap"] is not None or call["query_lengths"] is not None or
            call["cache"] is not None or isinstance(call["attn_mask"], StructuredMask))


def attend(c, p, q, k, v, call, grad):
    """(result, back): the result of the layer's call -- out, or (out, weights) -- and, with
    grad=True, back(g) -> ((dq, dk, dv), projection gradients (dWq, dWk, dWv, dWo, dbq, dbk,
    dbv, dbo)). c names the layer in messages; q, k, v are its checked inputs."""
    route = composed if needs_composed(p, call) else fused
    return route(c, p, q, k, v, call, grad)


def fused(c, p, q, k, v, call, grad):
    """The whole layer as one C call (cattn.multi_head_attention and its vjp rule)."""
    kw = dict(attn_mask=call["attn_mask"], key_lengths=call["key_lengths"],
              is_causal=call["is_causal"], return_weights=call["weights"],
              average_attn_weights=call["average"])
    hw = per_head(p)
    if not grad:
        return functional.multi_head_attention(q, k, v, *hw, **kw), None
    out, pb = gradients.vjp(functional.multi_head_attention, q, k, v, *hw, **kw)

    def back(g):
        gs = pb((g, None) if call["weights"] else g)
        return (gs[0], gs[1], gs[2]), flat_grads(p, gs[3:])
    return out, back


def flat_grads(p, hg):
    """The per-head gradients (dwq, dwk, dwv, dwo, dbq, dbk, dbv, dbo) -- per_head's layout --
    in PyTorch's (the inverse of per_head)."""
    dwq, dwk, dwv, dwo, dbq, dbk, dbv, dbo = hg
    # (heads, E_in, d) -> (heads, d, E_in) -> (heads*d, E_in): row h*d + j is output j of head h
    mats = [w.transpose(0, 2, 1).reshape(-1, w.shape[1]) for w in (dwq, dwk, dwv)]
    wo = dwo.transpose(2, 0, 1).reshape(dwo.shape[2], -1)  # (H, d, E) -> (E, H·d)
    biases = [None if b is None else b.reshape(-1) for b in (dbq, dbk, dbv, dbo)]
    return (*mats, wo, *biases)


def composed(c, p, q, k, v, call, grad):
    """The layer as projections, cattn's SDPA (grouped-query heads, dropout, soft cap,
    structured masks, lengths, the KV cache) and the output projection."""
    Wq, Wk, Wv, Wo, bq, bk, bv, bo = p.weights
    H, Hkv, d = p.num_heads, p.num_kv_heads, p.head_dim
    attn_mask, key_lengths, is_causal = call["attn_mask"], call["key_lengths"], call["is_causal"]
    weights, average_attn_weights = call["weights"], call["average"]
    mm = _cattn.matmul

    def proj(x, W, b, heads):  # (..., n, Ein) -> (..., heads, n, d)
        y = mm(x, W.T)
        if b is not None:
            y = y + b
        return np.swapaxes(y.reshape(y.shape[:-1] + (heads, d)), -2, -3)
    qh, kh, vh = proj(q, Wq, bq, H), proj(k, Wk, bk, Hkv), proj(v, Wv, bv, Hkv)
    cache = call["cache"]
    L, n_new = q.shape[-2], k.shape[-2]
    kl = None if key_lengths is None else np.asarray(key_lengths)[..., None]
    ql = call["query_lengths"]
    ql = None if ql is None else np.asarray(ql)[..., None]
    mask = attn_mask
    # with a cache: the new keys and values are appended under its lock, and taken out
    # again if the call fails
    with contextlib.ExitStack() as stack:
        if cache is not None:
            if not call["self_attention"]:
                raise ValueError(f"{c}: a cache is for self-attention: call "
                                 f"mha(x_new, cache=...)")
            if attn_mask is not None or is_causal or key_lengths is not None:
                raise ValueError(f"{c}: with a cache the mask is the cache's (causal, "
                                 f"lower-right); pass no attn_mask, is_causal or key_lengths")
            start = stack.enter_context(cache._appending(kh, vh))
            end = start + n_new
            kh, vh = cache.k[..., :end, :], cache.v[..., :end, :]
            mask, is_causal = causal_lower_right(L, end), False
            if cache.half:  # the query in the cache's dtype: the kernels read all three as half
                qh = qh.astype(cache.k.dtype)
        elif attn_mask is not None and not isinstance(attn_mask, StructuredMask):
            m = np.asarray(attn_mask)
            mask = m if m.ndim > q.ndim else m[..., None, :, :]  # (..., [H,] L, S)
        kw = dict(attn_mask=mask, is_causal=is_causal, enable_gqa=True, key_lengths=kl,
                  query_lengths=ql, dropout_p=call["dropout_p"], seed=call["seed"],
                  softcap=call["softcap"], return_weights=weights)
        if grad:
            r, pb = gradients.vjp(functional.scaled_dot_product_attention, qh, kh, vh, **kw)
        else:
            r = functional.scaled_dot_product_attention(qh, kh, vh, **kw)
    oh, w = r if weights else (r, None)
    oh_dtype = oh.dtype
    oh = oh.astype(q.dtype, copy=False)  # (a half cache's output: back to the module's dtype)
    concat = np.swapaxes(oh, -2, -3).reshape(oh.shape[:-3] + (L, H * d))
    out = mm(concat, Wo.T)
    if bo is not None:
        out = out + bo
    if weights:
        w = w.astype(q.dtype, copy=False)
        w = _mean(w, -3) if average_attn_weights else w
    res = (out, w) if weights else out
    if not grad:
        return res, None

    def flat(x):  # (..., n, F) -> (N, F)
        return x.reshape(-1, x.shape[-1])

    def back(g):
        dconcat = mm(g, Wo)
        doh = np.swapaxes(dconcat.reshape(dconcat.shape[:-1] + (H, d)), -2, -3)
        dqh, dkh, dvh = (x.astype(q.dtype, copy=False)
                         for x in pb((doh.astype(oh_dtype, copy=False), None) if weights
                                     else doh.astype(oh_dtype, copy=False)))
        if cache is not None:  # only the new positions' keys and values come from x
            dkh, dvh = dkh[..., start:start + n_new, :], dvh[..., start:start + n_new, :]
        dW, db, dx = [], [], []
        for x, W, dh in ((q, Wq, dqh), (k, Wk, dkh), (v, Wv, dvh)):
            dy = np.swapaxes(dh, -2, -3)
            dy = dy.reshape(dy.shape[:-2] + (-1,))  # (..., n, heads·d)
            dy = np.broadcast_to(dy, np.broadcast_shapes(dy.shape,
                                                         x.shape[:-1] + dy.shape[-1:]))
            xb = np.broadcast_to(x, dy.shape[:-1] + x.shape[-1:])
            dW.append(mm(flat(dy).T, flat(xb)))
            db.append(gradients.sum_rows(flat(dy)))
            dx.append(mm(dy, W).astype(x.dtype, copy=False))
        return tuple(dx), (*dW, mm(flat(g).T, flat(concat)), *db, gradients.sum_rows(flat(g)))
    return res, back


def _mean(x, axis):
    """x.mean(axis), in float32 when x is half (NumPy would sum in the half dtype), rounded
    once."""
    return x.mean(axis, dtype=np.float32).astype(x.dtype) if is_half(x.dtype) else x.mean(axis)

