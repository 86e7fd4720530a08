"""Functions with the keyword arguments a bare gufunc cannot take: masks, causal, scale, weights."""
import numpy as np

from . import _cattn
from ._checks import as_float_operand, as_mask, as_scale, broadcast_batch, compute_dtype

__all__ = ["scaled_dot_product_attention"]


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
        Also return the attention weights, (..., L, S).
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
    fname = "scaled_dot_product_attention"
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
    dt = compute_dtype(q, k, v)
    sc = dt.type(scale)

    if is_causal and attn_mask is not None:
        raise ValueError(f"{fname}: pass either attn_mask or is_causal=True, not both")
    mask = None
    if attn_mask is not None:
        mask = as_mask(fname, "attn_mask", attn_mask, L, S)
        shapes.append(("attn_mask", mask.shape[:-2]))
    broadcast_batch(fname, shapes)

    if return_weights:
        if mask is None:
            allowed = np.tri(L, S, dtype=bool) if is_causal else np.ones((1, 1), bool)
            mask = np.broadcast_to(allowed, (L, S))
        return _cattn.attention_weights(q, k, v, mask, sc, out=(out, None))
    if mask is not None:
        return _cattn.masked_attention(q, k, v, mask, sc, out=out)
    if is_causal:
        return _cattn.causal_attention(q, k, v, sc, out=out)
    return _cattn.attention(q, k, v, sc, out=out)
