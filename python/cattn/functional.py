"""Functions with the keyword arguments a bare gufunc cannot take: masks, causal, scale, weights.

Rules that live here: which gufunc a call takes -- by its mask kind (none, causal, an array) and
whether the weights are wanted (the _SDPA and _MHA tables) -- and how masks, key_lengths and
is_causal combine (_mha_mask). Argument checks are _checks.py's; the default scale and the
computing dtype are C's (_cattn.default_scale, _cattn.compute_dtype); everything below the gufunc
call is the glue's and the kernels' (csrc/loops.c, csrc/attention.c)."""
import functools

import numpy as np

from . import _cattn
from ._checks import (as_float_operand, as_mask, as_scale, broadcast_batch, compute_dtype,
                      like_input, weights_flag)

__all__ = ["multi_head_attention", "scaled_dot_product_attention"]


def _returns_like_query(f):
    """The results come back as the query's type (like_input: a tensor in, tensors out)."""
    @functools.wraps(f)
    def wrapped(query, *args, **kwargs):
        return like_input(query, f(query, *args, **kwargs))
    return wrapped


@_returns_like_query
def scaled_dot_product_attention(query, key, value, attn_mask=None, *, is_causal=False,
                                 scale=None, return_weights=False, out=None):
    """Scaled dot-product attention, ``softmax(scale * query @ key^T + mask) @ value``.

    Parameters
    ----------
    query : array_like, (..., L, E)
    key : array_like, (..., S, E)
    value : array_like, (..., S, Ev)
        Leading (batch, head) dimensions broadcast against each other.
    attn_mask : array_like, optional
        Boolean, **True = may attend** (as PyTorch's SDPA and JAX), or floating, added to the
        scores. Broadcasts to (..., L, S).
    is_causal : bool
        Query i attends keys j <= i (top-left aligned, as PyTorch). Not with ``attn_mask``.
    scale : float, optional
        Defaults to ``1 / sqrt(E)``.
    return_weights : bool
        Also return the attention weights, (..., L, S): cattn's one name for this flag on every
        function and class (the classes also take PyTorch's ``need_weights``).
    out : ndarray, optional
        Where to write the output, (..., L, Ev).

    Returns
    -------
    out : ndarray (..., L, Ev), or ``(out, weights)`` with ``return_weights=True``.
    float32 when the inputs are float32 (or smaller floats), float64 otherwise.

    A query row that may attend no key gets an output row of zeros and weights of zeros, never
    NaN. NaN in an input propagates to the rows it touches.

    Examples
    --------
    Two words, the query attends both keys; the second key matches better:

    >>> import numpy as np, cattn
    >>> q = np.array([[1.0, 0.0]])
    >>> k = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> v = np.array([[10.0, 0.0], [0.0, 10.0]])
    >>> out, w = cattn.scaled_dot_product_attention(q, k, v, scale=1.0, return_weights=True)
    >>> np.round(w, 3)
    array([[0.269, 0.731]])
    >>> np.round(out, 2)
    array([[2.69, 7.31]])
    """
    weights = bool(return_weights)
    if attn_mask is None and out is None:  # the common call, straight to C when it can be
        r = _cattn.sdpa_direct(query, key, value, scale, is_causal, weights)
        if r is not NotImplemented:
            return r
    args, kind, scale = _sdpa_args(query, key, value, attn_mask, is_causal, scale)
    ufunc = _SDPA[kind, weights]
    return ufunc(*args, scale, out=(out, None) if weights else out)


def _sdpa_args(query, key, value, attn_mask, is_causal, scale,
               fname="scaled_dot_product_attention"):
    """The checked operands of an SDPA call: ((q, k, v[, mask]), mask kind, scale)."""
    q = as_float_operand(fname, "query", query, 2)
    k = as_float_operand(fname, "key", key, 2)
    v = as_float_operand(fname, "value", value, 2)
    (L, E), (S, Ek), (Sv, _) = q.shape[-2:], k.shape[-2:], v.shape[-2:]
    if Ek != E:
        raise ValueError(
            f"{fname}: query has embedding size {E} but key has {Ek} "
            f"(query {q.shape}, key {k.shape})"
        )
    if Sv != S:
        raise ValueError(
            f"{fname}: key has {S} positions but value has {Sv} (key {k.shape}, value {v.shape})"
        )
    shapes = [("query", q.shape[:-2]), ("key", k.shape[:-2]), ("value", v.shape[:-2])]
    scale = as_scale(fname, scale, E)
    if is_causal and attn_mask is not None:
        raise ValueError(f"{fname}: pass either attn_mask or is_causal=True, not both")
    args = (q, k, v)
    kind = "causal" if is_causal else "none"
    if attn_mask is not None:
        mask = as_mask(fname, "attn_mask", attn_mask, L, S)
        shapes.append(("attn_mask", mask.shape[:-2]))
        args, kind = (q, k, v, mask), "mask"
    broadcast_batch(fname, shapes)
    return args, kind, scale


# The gufunc of each call: (mask kind, weights wanted) -> ufunc.  The mask kind travels to the
# kernel as the ufunc's own loop data, so causal calls skip the masked blocks on every path.
_SDPA = {
    ("none", False): _cattn.attention, ("none", True): _cattn._attention_weights,
    ("causal", False): _cattn.causal_attention, ("causal", True): _cattn._causal_attention_weights,
    ("mask", False): _cattn.masked_attention, ("mask", True): _cattn.attention_weights,
}
_MHA = {
    ("none", False): _cattn._mha, ("none", True): _cattn._mha_weights,
    ("causal", False): _cattn._causal_mha, ("causal", True): _cattn._causal_mha_weights,
    ("mask", False): _cattn.multi_head_attention, ("mask", True): _cattn.multi_head_attention_weights,
}


def _mha_mask(fname, attn_mask, key_lengths, is_causal, q_ndim, H, L, S, batch, dense=False):
    """(kind, mask): the mask kind the multi-head gufuncs apply -- "none", "causal" (no array:
    the kernel skips the masked blocks) or "mask" -- and for "mask" the one mask array, viewed as
    (..., H, L, S). ``dense=True`` turns "causal" into its boolean array (for steps()).

    attn_mask: boolean (True = may attend) or floating (added), (L, S) or (..., L, S), or with a
    head axis (..., H, L, S) when it has more dimensions than the query. key_lengths: integers
    (...), keys at positions >= length are ignored. is_causal: query i sees keys j <= i."""
    if is_causal and attn_mask is not None:
        raise ValueError(f"{fname}: pass either attn_mask or is_causal=True, not both")
    if key_lengths is None and not dense:
        if attn_mask is None:
            return ("causal" if is_causal else "none"), None
    mask = None
    if attn_mask is not None:
        m = as_mask(fname, "attn_mask", attn_mask, L, S)
        if m.ndim > q_ndim:  # (..., H, L, S): the head axis is given
            if m.shape[-3] not in (1, H):
                raise ValueError(
                    f"{fname}: attn_mask of shape {np.shape(attn_mask)} has {m.shape[-3]} heads "
                    f"but num_heads is {H}"
                )
        else:
            m = m[..., None, :, :]
        mask = m
    elif is_causal:
        mask = np.tri(L, S, dtype=bool)[None]
    if key_lengths is not None:
        kl = np.asarray(key_lengths)
        if kl.dtype.kind not in "iu":
            raise TypeError(f"{fname}: key_lengths must be integers, got dtype {kl.dtype}")
        try:
            fits = np.broadcast_shapes(kl.shape, batch) == tuple(batch)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"{fname}: key_lengths of shape {kl.shape} does not broadcast to the batch "
                f"shape {batch}"
            )
        if kl.size and (kl.min() < 0 or kl.max() > S):
            raise ValueError(
                f"{fname}: key_lengths must be in [0, {S}] (the number of keys), got values "
                f"from {kl.min()} to {kl.max()}"
            )
        valid = np.arange(S) < kl[..., None, None, None]  # (..., 1, 1, S)
        if mask is None:
            mask = valid
        elif mask.dtype == bool:
            mask = mask & valid
        else:
            mask = np.where(valid, mask, -np.inf).astype(mask.dtype)
    return ("none", None) if mask is None else ("mask", mask)


@_returns_like_query
def multi_head_attention(query, key, value, q_weight, k_weight, v_weight, out_weight,
                         q_bias=None, k_bias=None, v_bias=None, out_bias=None, *,
                         attn_mask=None, key_lengths=None, is_causal=False, scale=None,
                         need_weights=None, average_attn_weights=True, out=None,
                         return_weights=None):
    """The multi-head attention forward pass over explicit per-head weights, in one C call.

    ``out = concat_h(attention(query W_q[h] + b_q[h], key W_k[h] + b_k[h],
    value W_v[h] + b_v[h])) W_o + b_o``, where head h has its own three matrices.

    Parameters
    ----------
    query : (..., L, Eq); key : (..., S, Ek); value : (..., S, Ev)
    q_weight : (H, Eq, d); k_weight : (H, Ek, d); v_weight : (H, Ev, dv)
    out_weight : (H, dv, Eo) -- the rows of W_o that multiply head h's output
    q_bias, k_bias : (H, d); v_bias : (H, dv); out_bias : (Eo), optional
    attn_mask : boolean (True = may attend) or floating (added); (L, S), (..., L, S), or
        (..., H, L, S) when it has more dimensions than the query
    key_lengths : integers (...), the number of valid keys of each sequence
    is_causal : query i attends keys j <= i
    scale : default 1/sqrt(d)
    need_weights : also return the weights, averaged over heads (..., L, S), or per head
        (..., H, L, S) with ``average_attn_weights=False`` (``return_weights``: the same flag)

    Examples
    --------
    >>> import numpy as np, cattn
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((5, 8))
    >>> wq, wk, wv = (rng.standard_normal((2, 8, 4)) for _ in range(3))
    >>> wo = rng.standard_normal((2, 4, 8))
    >>> cattn.multi_head_attention(x, x, x, wq, wk, wv, wo).shape
    (5, 8)
    """
    weights = weights_flag("multi_head_attention", return_weights, need_weights)
    args, kind, scale = _mha_args(query, key, value, q_weight, k_weight, v_weight, out_weight,
                                  q_bias, k_bias, v_bias, out_bias, attn_mask, key_lengths,
                                  is_causal, scale)
    ufunc = _MHA[kind, weights]
    if not weights:
        return ufunc(*args, scale, out=out)
    o, w = ufunc(*args, scale, out=(out, None))
    return o, (w.mean(axis=-3) if average_attn_weights else w)


def _mha_args(query, key, value, q_weight, k_weight, v_weight, out_weight, q_bias, k_bias,
              v_bias, out_bias, attn_mask, key_lengths, is_causal, scale,
              fname="multi_head_attention"):
    """The checked operands of a multi-head call: ((xq, xk, xv, wq, wk, wv, wo, bq, bk, bv, bo
    [, mask]), mask kind, scale); absent biases are broadcast zeros."""
    xq = as_float_operand(fname, "query", query, 2)
    xk = as_float_operand(fname, "key", key, 2)
    xv = as_float_operand(fname, "value", value, 2)
    ws = [as_float_operand(fname, n, w, 3) for n, w in
          (("q_weight", q_weight), ("k_weight", k_weight), ("v_weight", v_weight),
           ("out_weight", out_weight))]
    wq, wk, wv, wo = ws
    H, Eq, d = wq.shape[-3:]
    L, S = xq.shape[-2], xk.shape[-2]
    dv, Eo = wo.shape[-2:]
    checks = [
        (xq.shape[-1] == Eq, f"query has {xq.shape[-1]} features but q_weight {wq.shape} expects {Eq}"),
        (wk.shape[-3:] == (H, xk.shape[-1], d),
         f"k_weight {wk.shape} should be (num_heads, key features, d) = ({H}, {xk.shape[-1]}, {d})"),
        (wv.shape[-3] == H and wv.shape[-2] == xv.shape[-1],
         f"v_weight {wv.shape} should be (num_heads, value features, dv) = ({H}, {xv.shape[-1]}, dv)"),
        (wo.shape[-3:-1] == (H, wv.shape[-1]),
         f"out_weight {wo.shape} should be (num_heads, dv, Eo) = ({H}, {wv.shape[-1]}, Eo)"),
        (xv.shape[-2] == S, f"key has {S} positions but value has {xv.shape[-2]}"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ValueError(f"{fname}: {msg}")
    dt = compute_dtype(xq, xk, xv, *ws)
    biases = []
    for name, b, shape in (("q_bias", q_bias, (H, d)), ("k_bias", k_bias, (H, d)),
                           ("v_bias", v_bias, (H, dv)), ("out_bias", out_bias, (Eo,))):
        if b is None:
            biases.append(np.broadcast_to(np.zeros((), dt), shape))
            continue
        b = as_float_operand(fname, name, b)
        if b.shape[-len(shape):] != shape:
            raise ValueError(f"{fname}: {name} has shape {b.shape}, expected {shape}")
        biases.append(b)
    batch = broadcast_batch(fname, [("query", xq.shape[:-2]), ("key", xk.shape[:-2]),
                                    ("value", xv.shape[:-2])])
    scale = as_scale(fname, scale, d)
    kind, mask = _mha_mask(fname, attn_mask, key_lengths, is_causal, xq.ndim, H, L, S, batch)
    args = (xq, xk, xv, wq, wk, wv, wo, *biases)
    if kind == "mask":
        mask = np.broadcast_to(mask, mask.shape[:-3] + (H, L, S))
        broadcast_batch(fname, [("query", batch), ("attn_mask", mask.shape[:-3])])
        args += (mask,)
    return args, kind, scale
