"""Additive (Bahdanau) attention: ``cattn.additive_attention`` and ``cattn.AdditiveAttention``.

    score(q, k) = w_vᵀ tanh(W_q q + W_k k),   weights = softmax over keys,   out = weights · v

(d2l.ai's ``AdditiveAttention``: no biases). The tanh of every (query, key, hidden) triple is the
C kernel ``cattn.additive_attention_scores`` (blocked: the (L, S, hidden) tensor is never held);
the projections, the softmax and the weighted sum are cattn's matmul and softmax, and the
backward is ``cattn.additive_attention_scores_backward`` with the same pieces' backwards."""
import numpy as np

from . import _cattn
from ._checks import (as_float_operand, as_mask, broadcast_batch, compute_dtype, is_float,
                      like_input,
                      weights_flag)
from ._module import Module, float_dtype, positive_int, uniform
from .functional import _mha_mask
from .gradients import _positional_mask, _split_cotangent, _unbroadcast, vjp

__all__ = ["AdditiveAttention", "additive_attention"]

_NAMES = ("query", "key", "value", "W_q", "W_k", "w_v", "attn_mask")


def _args(fname, query, key, value, W_q, W_k, w_v, attn_mask, key_lengths, is_causal=False):
    """Checked operands: (q, k, v, Wq (h, Dq), Wk (h, Dk), w (h,), mask or None, batch shape);
    the mask is boolean (True = may attend) or floating (added to the scores), with key_lengths
    and is_causal folded in."""
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
    mask = None
    if is_causal and attn_mask is not None:
        raise ValueError(f"{fname}: pass either attn_mask or is_causal=True, not both")
    if attn_mask is not None:
        mask = as_mask(fname, "attn_mask", attn_mask, L, S)
        if mask.dtype.kind == "f":
            mask = mask.astype(dt, copy=False)
        shapes.append(("attn_mask", mask.shape[:-2]))
    elif is_causal:
        mask = np.tri(L, S, dtype=bool)
    batch = broadcast_batch(fname, shapes)
    if key_lengths is not None:
        _, valid = _mha_mask(fname, None, key_lengths, False, q.ndim, 1, L, S,
                             broadcast_batch(fname, shapes[:3]))
        valid = valid[..., 0, :, :]
        if mask is None:
            mask = valid
        elif mask.dtype == bool:
            mask = mask & valid
        else:
            mask = np.where(valid, mask, -np.inf).astype(dt)
        batch = broadcast_batch(fname, shapes + [("key_lengths", mask.shape[:-2])])
    return q, k, v, Wq, Wk, wv, mask, batch


def _forward(q, k, v, Wq, Wk, wv, mask):
    """(out, weights, qp, kp): the forward pass, keeping what the backward needs."""
    qp = _cattn.matmul(q, Wq.T)
    kp = _cattn.matmul(k, Wk.T)
    s = _cattn.additive_attention_scores(qp, kp, wv)
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
    out, p, _, _ = _forward(*args[:7])
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
    q, k, v, Wq, Wk, wv, mask, _ = _args(fname, query, key, value, W_q, W_k, w_v, attn_mask,
                                         key_lengths, is_causal)
    out, p, qp, kp = _forward(q, k, v, Wq, Wk, wv, mask)
    outs = (out, p.copy()) if return_weights else out  # the backward reads p: the caller's is a copy
    want_dmask = mask_positional and is_float(np.asarray(attn_mask).dtype)
    originals = (query, key, value, W_q, W_k, w_v)

    def pullback(ct):
        g, gw = _split_cotangent(fname, ct, outs)
        dv = _cattn.matmul(np.swapaxes(p, -1, -2), g)
        dp = _cattn.matmul(g, np.swapaxes(v, -1, -2))
        if gw is not None:
            dp = dp + gw
        ds = _cattn.softmax_backward(p, dp)
        dqp, dkp, dwv = _cattn.additive_attention_scores_backward(qp, kp, wv, ds)
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

    def __repr__(self):
        lines = ["AdditiveAttention.steps:"]
        for name in self._fields:
            a = getattr(self, name)
            lines.append(f"  {name:9s} {'None' if a is None else a.shape}")
        return "\n".join(lines)


class AdditiveAttention(Module):
    """Additive (Bahdanau) attention with learned weights, d2l.ai's ``AdditiveAttention``.

    ``AdditiveAttention(query_dim, key_dim, hidden_dim, *, dtype=np.float32, seed=None)``

    ``score(q, k) = w_vᵀ tanh(W_q q + W_k k)``, softmax over the keys, weighted sum of the
    values. Parameters (PyTorch ``nn.Linear`` names and initialisation, no biases):
    ``W_q.weight (hidden, query_dim)``, ``W_k.weight (hidden, key_dim)``, ``w_v.weight
    (1, hidden)``, each ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    Call as ``Attention``: ``attn(query, key=None, value=None, *, attn_mask=None,
    key_lengths=None, is_causal=False, return_weights=None, need_weights=None)``; queries
    (..., L, query_dim), keys (..., S, key_dim), values (..., S, Dv) (value defaults to key, key
    to query). Returns the output (..., L, Dv), or (output, weights (..., L, S)) with
    ``return_weights=True``; with ``need_weights=`` given, always PyTorch's pair (output,
    weights or None). ``vjp``, ``grads``, ``zero_grad``, ``state_dict`` as every cattn module;
    ``steps()`` returns the intermediate arrays (``AdditiveSteps``).

    >>> import numpy as np, cattn
    >>> attn = cattn.AdditiveAttention(2, 2, 8, seed=0)
    >>> sorted(attn.state_dict())
    ['W_k.weight', 'W_q.weight', 'w_v.weight']
    >>> out, w = attn(np.ones((3, 2)), np.ones((5, 2)), np.zeros((5, 4)), return_weights=True)
    >>> out.shape, w.shape
    ((3, 4), (3, 5))
    """

    _cls = "AdditiveAttention"

    def __init__(self, query_dim, key_dim, hidden_dim, *, dtype=np.float32, seed=None):
        c = self._cls
        self.query_dim = positive_int(c, "query_dim", query_dim)
        self.key_dim = positive_int(c, "key_dim", key_dim)
        self.hidden_dim = positive_int(c, "hidden_dim", hidden_dim)
        self.dtype = float_dtype(c, dtype)
        rng = np.random.default_rng(seed)
        h = self.hidden_dim
        self._params = {
            "W_q.weight": uniform(rng, 1 / np.sqrt(self.query_dim), (h, self.query_dim), self.dtype),
            "W_k.weight": uniform(rng, 1 / np.sqrt(self.key_dim), (h, self.key_dim), self.dtype),
            "w_v.weight": uniform(rng, 1 / np.sqrt(h), (1, h), self.dtype),
        }

    def __repr__(self):
        return (f"AdditiveAttention(query_dim={self.query_dim}, key_dim={self.key_dim}, "
                f"hidden_dim={self.hidden_dim}, dtype={self.dtype.name}, "
                f"parameters={self.num_parameters:,})")

    def _weights(self):
        p = self._params
        return p["W_q.weight"], p["W_k.weight"], p["w_v.weight"]

    def _inputs(self, query, key, value):
        c = self._cls
        q = as_float_operand(c, "query", query, 2).astype(self.dtype, copy=False)
        k = q if key is None else as_float_operand(c, "key", key, 2).astype(self.dtype, copy=False)
        v = k if value is None else as_float_operand(c, "value", value, 2).astype(self.dtype,
                                                                                  copy=False)
        return q, k, v

    def __call__(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
                 is_causal=False, return_weights=None, need_weights=None):
        """Attend: the output (..., L, Dv), or (output, weights) with ``return_weights=True``
        (PyTorch's pair whenever ``need_weights=`` is given); see the class docstring."""
        pytorch = need_weights is not None
        weights = weights_flag(f"{self._cls}.__call__", return_weights, need_weights)
        q, k, v = self._inputs(query, key, value)
        r = additive_attention(q, k, v, *self._weights(), attn_mask, key_lengths=key_lengths,
                               is_causal=is_causal, return_weights=weights)
        if pytorch and not weights:
            r = (r, None)
        return like_input(query, r)

    forward = __call__

    def vjp(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
            is_causal=False, return_weights=None, need_weights=None):
        """``y, pullback = attn.vjp(query, key=None, value=None, **same_kwargs_as_call)``:
        ``pullback(grad_y)`` returns ``(d_query, d_key, d_value)`` (``None`` for an input not
        given, its share in the one it defaulted to) and **adds** the parameters' gradients into
        ``grads``. When ``y`` is a pair, pass ``(grad_output, grad_weights or None)``."""
        pytorch = need_weights is not None
        weights = weights_flag(f"{self._cls}.vjp", return_weights, need_weights)
        q, k, v = self._inputs(query, key, value)
        y, pb = vjp(additive_attention, q, k, v, *self._weights(), attn_mask=attn_mask,
                    key_lengths=key_lengths, is_causal=is_causal, return_weights=weights)

        def pullback(grad_y):
            g = grad_y
            if pytorch and not weights:
                g = g[0] if isinstance(g, (tuple, list)) else g
            dq, dk, dv, dWq, dWk, dwv = pb(g)
            grads = self.grads
            grads["W_q.weight"] += dWq
            grads["W_k.weight"] += dWk
            grads["w_v.weight"] += dwv
            if key is None:
                return like_input(query, (dq + dk + dv, None, None))
            if value is None:
                return like_input(query, (dq, dk + dv, None))
            return like_input(query, (dq, dk, dv))
        y = (y, None) if pytorch and not weights else y
        return like_input(query, y), pullback

    def steps(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
              is_causal=False):
        """The intermediate arrays of the forward pass (``AdditiveSteps``): the projections,
        the tanh features (L, S, hidden), the scores, the mask, the weights, the output."""
        q, k, v = self._inputs(query, key, value)
        q, k, v, Wq, Wk, wv, mask, _ = _args(self._cls + ".steps", q, k, v, *self._weights(),
                                             attn_mask, key_lengths, is_causal)
        out, p, qp, kp = _forward(q, k, v, Wq, Wk, wv, mask)
        features = np.tanh(qp[..., :, None, :] + kp[..., None, :, :])
        scores = features @ wv
        bool_mask = None if mask is None else (mask if mask.dtype == bool else mask > -np.inf)
        return AdditiveSteps(q_proj=qp, k_proj=kp, features=features, scores=scores,
                             mask=bool_mask, weights=p, output=out)
