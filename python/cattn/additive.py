"""Additive (Bahdanau) attention: ``cattn.additive_attention`` and ``cattn.AdditiveAttention``.

    score(q, k) = w_vᵀ tanh(W_q q + W_k k),   weights = softmax over keys,   out = weights · v

(d2l.ai's ``AdditiveAttention``: no biases). The tanh of every (query, key, hidden) triple is the
C kernel ``cattn.additive_attention_scores`` (blocked: the (L, S, hidden) tensor is never held);
the projections, the softmax and the weighted sum are cattn's matmul and softmax, and the
backward is ``cattn.additive_attention_scores_backward`` with the same pieces' backwards.
``is_causal`` and ``key_lengths`` without a mask array go to the kernels as row limits
(``_cattn._additive_scores``): the keys a query does not attend are never computed."""
import numpy as np

from . import _cattn
from ._checks import (and_causal, as_float_operand, as_mask, broadcast_batch, compute_dtype,
                      is_float, like_input)
from .functional import _BIG, _lengths, _limits, _mha_mask
from .gradients import _positional_mask, _split_cotangent, _unbroadcast

__all__ = ["additive_attention"]

_NAMES = ("query", "key", "value", "W_q", "W_k", "w_v", "attn_mask")


def _args(fname, query, key, value, W_q, W_k, w_v, attn_mask, key_lengths, is_causal=False,
          dense=False):
    """Checked operands: (q, k, v, Wq (h, Dq), Wk (h, Dk), w (h,), mask, limits, batch shape).
    Without attn_mask, is_causal and key_lengths are the limits operand (mask None) that the
    kernels skip by; with one (or ``dense=True``, for steps()), they are folded into the mask,
    boolean (True = may attend) or floating (added to the scores); limits None then."""
    q = as_float_operand(fname, "query", query, 2)
    k = as_float_operand(fname, "key", key, 2)
    v = as_float_operand(fname, "value", value, 2)
    Wq = as_float_operand(fname, "W_q", W_q)
    Wk = as_float_operand(fname, "W_k", W_k)
    wv = as_float_operand(fname, "w_v", w_v)
    if Wq.ndim != 2 or Wk.ndim != 2:
        raise ValueError(f"{fname}: W_q and W_k must be (hidden, features) matrices, got shapes "
                         f"{Wq.shape} and {Wk.shape}")
    h = Wq.shape[0]
    checks = [
        (Wq.shape[1] == q.shape[-1],
         f"query has {q.shape[-1]} features (shape {q.shape}) but W_q {Wq.shape} expects "
         f"{Wq.shape[1]}"),
        (Wk.shape == (h, k.shape[-1]),
         f"W_k {Wk.shape} should be (hidden, key features) = ({h}, {k.shape[-1]})"),
        (wv.shape in ((1, h), (h,)), f"w_v {wv.shape} should be (1, hidden) = (1, {h})"),
        (v.shape[-2] == k.shape[-2],
         f"key has {k.shape[-2]} positions but value has {v.shape[-2]} (key {k.shape}, value "
         f"{v.shape})"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ValueError(f"{fname}: {msg}")
    dt = compute_dtype(q, k, v, Wq, Wk, wv)
    q, k, v, Wq, Wk = (x.astype(dt, copy=False) for x in (q, k, v, Wq, Wk))
    wv = wv.astype(dt, copy=False).reshape(h)
    L, S = q.shape[-2], k.shape[-2]
    shapes = [("query", q.shape[:-2]), ("key", k.shape[:-2]), ("value", v.shape[:-2])]
    if attn_mask is None and not dense and (is_causal or key_lengths is not None):
        batch = broadcast_batch(fname, shapes)
        kl = S if key_lengths is None else _lengths(fname, "key_lengths", key_lengths, batch, S)
        lim = _limits(batch, lo=-_BIG, hi=0 if is_causal else _BIG, kv_len=kl, q_len=L)
        return q, k, v, Wq, Wk, wv, None, lim, batch
    mask = None
    if attn_mask is not None:
        mask = as_mask(fname, "attn_mask", attn_mask, L, S)
        if mask.dtype.kind == "f":
            mask = mask.astype(dt, copy=False)
        if is_causal:  # both apply (JAX's rule)
            mask = and_causal(mask, L, S)
        shapes.append(("attn_mask", mask.shape[:-2]))
    elif is_causal:
        mask = np.tri(L, S, dtype=bool)
    batch = broadcast_batch(fname, shapes)
    if key_lengths is not None:
        _, valid = _mha_mask(fname, None, key_lengths, False, q.ndim, 1, L, S,
                             broadcast_batch(fname, shapes[:3]), dense=True)
        valid = valid[..., 0, :, :]
        if mask is None:
            mask = valid
        elif mask.dtype == bool:
            mask = mask & valid
        else:
            mask = np.where(valid, mask, -np.inf).astype(dt)
        batch = broadcast_batch(fname, shapes + [("key_lengths", mask.shape[:-2])])
    return q, k, v, Wq, Wk, wv, mask, None, batch


def _forward(q, k, v, Wq, Wk, wv, mask, lim):
    """(out, weights, qp, kp): the forward pass, keeping what the backward needs."""
    qp = _cattn.matmul(q, Wq.T)
    kp = _cattn.matmul(k, Wk.T)
    s = _cattn.additive_attention_scores(qp, kp, wv) if lim is None else \
        _cattn._additive_scores(qp, kp, wv, lim)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    p = _cattn.softmax(s)  # a row with no key left: zeros (cattn.softmax's policy)
    return _cattn.matmul(p, v), p, qp, kp


def additive_attention(query, key, value, W_q, W_k, w_v, attn_mask=None, *, key_lengths=None,
                       is_causal=False, return_weights=False):
    """Additive (Bahdanau) attention: ``softmax(w_v tanh(W_q q + W_k k)) @ value`` over keys.

    Parameters
    ----------
    query : (..., L, Dq); key : (..., S, Dk); value : (..., S, Dv)
        Leading (batch) dimensions broadcast against each other.
    W_q : (hidden, Dq); W_k : (hidden, Dk); w_v : (1, hidden) (or (hidden,))
        The weights of d2l's ``AdditiveAttention`` (``nn.Linear`` layers without bias).
    attn_mask : boolean (True = may attend) or floating (added to the scores), broadcastable
        to (..., L, S)
    key_lengths : integers broadcastable to the batch dims: keys at positions >= length are
        ignored (d2l's ``valid_lens``)
    is_causal : query i attends keys j <= i
    return_weights : also return the attention weights (..., L, S)

    A query row that may attend no key gets zeros. Differentiable with ``cattn.vjp`` in every
    argument except a boolean mask (an additive mask passed positionally gets its gradient).

    Examples
    --------
    >>> import numpy as np, cattn
    >>> q = np.array([[1.0, 0.0]]); k = np.array([[1.0, 0.0], [0.0, 1.0]]); v = np.eye(2)
    >>> W_q = W_k = np.eye(2); w_v = np.array([[1.0, -1.0]])
    >>> out, w = cattn.additive_attention(q, k, v, W_q, W_k, w_v, return_weights=True)
    >>> np.round(w, 3)
    array([[0.724, 0.276]])
    """
    fname = "additive_attention"
    args = _args(fname, query, key, value, W_q, W_k, w_v, attn_mask, key_lengths, is_causal)
    out, p, _, _ = _forward(*args[:8])
    return like_input(query, (out, p) if return_weights else out)


def _weight_grad(dp, x):
    """Σ over the batch of dpᵀ x: dp (..., n, h), x (..., n, D) -> (h, D)."""
    if dp.shape[:-2] == x.shape[:-2]:
        return _cattn.matmul(dp.reshape(-1, dp.shape[-1]).T, x.reshape(-1, x.shape[-1]))
    g = _cattn.matmul(np.swapaxes(dp, -1, -2), x)
    return g.reshape(-1, *g.shape[-2:]).sum(axis=0)


def _vjp_additive(query, key, value, W_q, W_k, w_v, *rest, key_lengths=None, is_causal=False,
                  return_weights=False, attn_mask=None):
    fname = "additive_attention"
    attn_mask, mask_positional = _positional_mask(fname, _NAMES, rest, attn_mask)
    q, k, v, Wq, Wk, wv, mask, lim, _ = _args(fname, query, key, value, W_q, W_k, w_v,
                                              attn_mask, key_lengths, is_causal)
    out, p, qp, kp = _forward(q, k, v, Wq, Wk, wv, mask, lim)
    outs = (out, p.copy()) if return_weights else out  # the backward reads p: the caller's copy
    want_dmask = mask_positional and is_float(np.asarray(attn_mask).dtype)
    originals = (query, key, value, W_q, W_k, w_v)

    def pullback(ct):
        g, gw = _split_cotangent(fname, ct, outs)
        dv = _cattn.matmul(np.swapaxes(p, -1, -2), g)
        dp = _cattn.matmul(g, np.swapaxes(v, -1, -2))
        if gw is not None:
            dp = dp + gw
        ds = _cattn.softmax_backward(p, dp)
        dqp, dkp, dwv = _cattn.additive_attention_scores_backward(qp, kp, wv, ds) \
            if lim is None else _cattn._additive_scores_backward(qp, kp, wv, ds, lim)
        grads = [_cattn.matmul(dqp, Wq), _cattn.matmul(dkp, Wk), dv,
                 _weight_grad(dqp, q), _weight_grad(dkp, k),
                 dwv.reshape(-1, dwv.shape[-1]).sum(axis=0).reshape(np.shape(w_v))]
        res = [_unbroadcast(gr, np.shape(x), np.asarray(x).dtype if is_float(np.asarray(x).dtype)
                            else q.dtype) for gr, x in zip(grads, originals)]
        if mask_positional:
            res.append(_unbroadcast(ds, np.shape(attn_mask), np.asarray(attn_mask).dtype)
                       if want_dmask else None)
        return like_input(query, tuple(res))
    return like_input(query, outs), pullback


additive_attention._cattn_vjp = _vjp_additive
additive_attention._cattn_arg_names = _NAMES


class AdditiveSteps:
    """The steps of additive attention, as NumPy arrays (``AdditiveAttention.steps``):

    - ``q_proj`` (..., L, hidden) = query W_qᵀ, ``k_proj`` (..., S, hidden) = key W_kᵀ
    - ``features`` -- tanh(q_proj_i + k_proj_j), (..., L, S, hidden): what the kernel never
      stores, shown here for small examples
    - ``scores`` -- w_v · features, the attention scores (注意力得分), (..., L, S)
    - ``mask`` -- the boolean mask applied (True = may attend), or None
    - ``weights`` -- softmax over keys, the attention distribution (注意力分布), (..., L, S)
    - ``output`` -- weights · value, the attention output (注意力输出), (..., L, Dv)
    """

    _fields = ("q_proj", "k_proj", "features", "scores", "mask", "weights", "output")

    def __init__(self, **arrays):
        for name in self._fields:
            setattr(self, name, arrays[name])

    def view(self, query_labels=None, key_labels=None, batch=0):
        """The interactive viewer (``cattn.view``) of the weights, masked cells drawn as masked.
        ``batch`` picks the item when the inputs had batch dims (flattened index)."""
        from .view import view

        L, S = self.weights.shape[-2:]
        w = self.weights.reshape(-1, L, S)[batch]
        m = None if self.mask is None else \
            np.broadcast_to(self.mask, self.weights.shape).reshape(-1, L, S)[batch]
        return view(w, query_labels, key_labels, mask=m)

    def __repr__(self):
        lines = ["AdditiveAttention.steps:"]
        for name in self._fields:
            a = getattr(self, name)
            lines.append(f"  {name:9s} {'None' if a is None else a.shape}")
        return "\n".join(lines)
