"""Functions with the keyword arguments a bare gufunc cannot take: masks, causal, scale, weights.

Rules that live here: how an SDPA call is laid out for the gufuncs of every feature (sdpa_plan:
structured masks, grouped-query heads, lengths, dropout, soft-capping; SdpaPlan runs the forward
and the backward), which multi-head gufunc a call takes (the _MHA table), and how masks,
key_lengths and is_causal combine for the layers (_mha_mask). Argument checks and the default
scale are _checks.py's; the computing dtype is C's (_cattn.compute_dtype); everything below the
gufunc call is the glue's and the kernels' (csrc/glue/loops.c, csrc/kernels/attention.c)."""
import functools
import numbers
import operator

import numpy as np

from . import _cattn
from ._checks import (additive_mask32, and_causal, as_float_operand, as_mask, as_scale,
                      broadcast_batch, compute_dtype, half_dtype, like_input, weights_flag)

__all__ = ["multi_head_attention", "scaled_dot_product_attention"]


def _returns_like_query(f):
    """The results come back as the query's type (like_input: a tensor in, tensors out)."""
    @functools.wraps(f)
    def wrapped(query, *args, **kwargs):
        return like_input(query, f(query, *args, **kwargs))
    return wrapped


def scaled_dot_product_attention(query, key, value, attn_mask=None, *, is_causal=False,
                                 scale=None, enable_gqa=False, key_lengths=None,
                                 query_lengths=None, dropout_p=0.0, seed=None, softcap=None,
                                 return_weights=False, out=None):
    """Scaled dot-product attention, ``softmax(scale * query @ key^T + mask) @ value``.

    Parameters
    ----------
    query : array_like, (..., L, E)
    key : array_like, (..., S, E)
    value : array_like, (..., S, Ev)
        Leading (batch, head) dimensions broadcast against each other.
    attn_mask : array_like or structured mask, optional
        Boolean, **True = may attend** (as PyTorch's SDPA and JAX), or floating, added to the
        scores; broadcasts to (..., L, S). Or a structured mask -- ``cattn.causal_upper_left``,
        ``cattn.causal_lower_right``, ``cattn.sliding_window`` -- whose blocks the kernels skip;
        its (L, S) must be the call's.
    is_causal : bool
        Query i attends keys j <= i (top-left aligned, as PyTorch). With ``attn_mask`` too, both
        apply (JAX's rule; PyTorch refuses the pair).
    scale : float, optional
        Defaults to ``1 / sqrt(E)``.
    enable_gqa : bool
        Grouped-query attention (PyTorch's semantics): query (..., Hq, L, E) over key and value
        (..., Hkv, S, E) with ``Hq % Hkv == 0``; query head h uses key/value head
        ``h // (Hq // Hkv)``. K and V are never copied.
    key_lengths, query_lengths : array_like of int, optional
        Per sequence, broadcastable to the batch dimensions by NumPy's rules ((B,) for (B, L, E)
        inputs, (B, 1) or (B, H) for (B, H, L, E)): keys at positions >= the key length are
        ignored; query rows at positions >= the query length give zeros (JAX's
        ``key_value_seq_lengths`` / ``query_seq_lengths``).
    dropout_p : float in [0, 1)
        Dropout on the attention weights; kept weights are scaled by ``1 / (1 - dropout_p)``.
    seed : int, optional
        The dropout draws: the same seed gives the same mask, whatever the number of threads;
        ``cattn.vjp`` uses the forward's mask in the backward. None draws a seed from NumPy's
        global generator.
    softcap : float > 0, optional
        Logit soft-capping (Gemma 2): the scaled scores become ``softcap * tanh(scores /
        softcap)`` before the mask. ``np.inf`` is no capping (the limit as softcap grows).
    return_weights : bool
        Also return the attention weights, (..., L, S) -- after dropout when there is dropout, as
        PyTorch's ``MultiheadAttention`` returns them.
    out : ndarray, optional
        Where to write the output, (..., L, Ev).

    Returns
    -------
    out : ndarray (..., L, Ev), or ``(out, weights)`` with ``return_weights=True``.
    float32 when the inputs are float32, float64 otherwise; float16 (or ml_dtypes' bfloat16, JAX's)
    when every input is float16 (bfloat16), computed in float32 inside the kernels, as PyTorch and
    JAX do.

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
    if attn_mask is None and out is None and key_lengths is None and query_lengths is None \
            and softcap is None and not dropout_p and not enable_gqa:
        # the common call, straight to C: the first test, before any other Python work, keeps a
        # tiny call near the raw gufunc's cost.  sdpa_direct takes only plain ndarrays (for which
        # like_input has nothing to do) and returns NotImplemented for anything else.
        r = _cattn.sdpa_direct(query, key, value, scale, is_causal, return_weights)
        if r is not NotImplemented:
            return r
    return like_input(query, _sdpa_general(query, key, value, attn_mask, is_causal, scale,
                                           enable_gqa, key_lengths, query_lengths, dropout_p,
                                           seed, softcap, return_weights, out))


def _sdpa_general(query, key, value, attn_mask, is_causal, scale, enable_gqa, key_lengths,
                  query_lengths, dropout_p, seed, softcap, return_weights, out):
    """scaled_dot_product_attention through the plan and the gufuncs: every feature, every
    check and its message."""
    weights = bool(return_weights)
    plan = sdpa_plan("scaled_dot_product_attention", query, key, value, attn_mask, is_causal,
                     scale, enable_gqa, key_lengths, query_lengths, dropout_p, seed, softcap,
                     half=True)
    r = plan.forward(weights)
    res = (plan.output(r[0]), plan.weights(r[1])) if weights else plan.output(r[0])
    half = half_dtype(query, key, value)
    if half is not None:  # 2-byte floats in, the same out (computed in float32)
        res = tuple(x.astype(half, copy=False) for x in res) if weights else \
            res.astype(half, copy=False)
    if out is None:
        return res
    o = res[0] if weights else res
    if np.shape(out) != o.shape:
        raise ValueError(f"scaled_dot_product_attention: out has shape {np.shape(out)} but the "
                         f"output has shape {o.shape}")
    np.copyto(out, o, casting="same_kind")
    return (out, res[1]) if weights else out


_BIG = 1 << 62  # "no limit" for the band offsets (the kernels clamp them to the call's sizes)


class SdpaPlan:
    """One SDPA call, checked and laid out for the gufuncs of every feature (``_cattn._sdpa*``):
    the forward, the backward, and the maps from their arrays back to the caller's shapes.

    Grouped-query calls stack the query heads of each key/value head as rows of one call when
    masks and lengths do not differ inside a group ("folded": K and V are read once per group,
    the decode case); otherwise the group is a broadcast axis. Either way K and V are never
    copied."""

    def __init__(self, fname, q, k, v, mask, scale, cap, p, lim, out_shape, w_shape, fold,
                 k_arg, v_arg):
        self.fname, self.q, self.k, self.v, self.mask = fname, q, k, v, mask
        self.scale, self.cap, self.p, self.lim = scale, cap, p, lim
        self.out_shape, self.w_shape, self.fold = out_shape, w_shape, fold
        self.k_arg, self.v_arg = k_arg, v_arg  # k, v as the gufuncs see them (GQA: a group axis)

    @property
    def args(self):
        return (self.q, self.k_arg, self.v_arg) + (() if self.mask is None else (self.mask,))

    @property
    def extras(self):
        return (self.scale, self.cap, self.p, self.lim)

    def forward(self, weights):
        """(out, lse) or (out, weights, lse), in the gufuncs' layout."""
        uf = {(False, False): _cattn._sdpa, (False, True): _cattn._sdpa_w,
              (True, False): _cattn._sdpa_mask, (True, True): _cattn._sdpa_mask_w}
        return uf[self.mask is not None, bool(weights)](*self.args, *self.extras)

    def backward(self, o, lse, g, dmask=False):
        """(dq, dk, dv[, dmask]) in the gufuncs' layout, from the forward's o and lse and the
        output's gradient g in the caller's layout."""
        g = np.reshape(g, o.shape)
        if self.mask is None:
            return _cattn._sdpa_backward(*self.args, o, lse, g, *self.extras)
        bwd = _cattn._sdpa_mask_backward_dmask if dmask else _cattn._sdpa_mask_backward
        return bwd(*self.args, o, lse, g, *self.extras)

    def output(self, o):
        return o.reshape(self.out_shape)

    def weights(self, w):
        return w.reshape(self.w_shape)


def _real(fname, name, x):
    if type(x) is float or type(x) is int:  # the defaults, checked first (bool is neither)
        return float(x)
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.ndarray)) or \
            np.ndim(x) != 0 or np.asarray(x).dtype.kind not in "iuf":
        raise TypeError(f"{fname}: {name} must be a real number, got {x!r}")
    return float(x)


def _distinct(a, axes=None):
    """a with each broadcast axis (stride 0) among its first `axes` (all by default) read once:
    (B, 1) for a (B, H) broadcast view, so what is computed from it costs its distinct values,
    not the batch."""
    n = a.ndim if axes is None else axes
    return a[tuple(slice(0, 1) if st == 0 else slice(None) for st in a.strides[:n])]


def _integers(fname, name, x):
    """x as an integer array of its distinct values (_distinct)."""
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{fname}: {name} must be integers, got dtype {a.dtype}")
    return _distinct(a)


def _lengths(fname, name, x, batch, n):
    """Sequence lengths as an int64 view of the batch shape, each in [0, n]. The values are
    checked on the array as given, never item by item over the broadcast batch."""
    a = _integers(fname, name, x)
    try:
        if np.broadcast_shapes(a.shape, tuple(batch)) != tuple(batch):
            raise ValueError
    except ValueError:
        raise ValueError(f"{fname}: {name} of shape {np.shape(x)} does not broadcast to the batch "
                         f"shape {tuple(batch)}") from None
    if a.size and (a.min() < 0 or a.max() > n):
        raise ValueError(f"{fname}: {name} must be in [0, {n}], got values from {a.min()} to "
                         f"{a.max()}")
    return np.broadcast_to(a.astype(np.int64), batch)


def _same_in_groups(a, G):
    """Is a (..., Hkv * G) constant inside each group of G (the last axis)? Read on the distinct
    values only (a broadcast axis once)."""
    if a.strides[-1] == 0:
        return True
    a = _distinct(a, a.ndim - 1)
    g = a.reshape(a.shape[:-1] + (-1, G))
    return bool((g == g[..., :1]).all())


def _limits(items, **fields):
    """The (*items, len(LIMITS)) int64 limits operand of a call's items, built by name: the
    layout is C's (``_cattn.LIMITS``, read by ext_of in csrc/glue/loops.c); absent fields are 0.
    A broadcast view: an item axis along which no field varies is stored once, so a broadcast
    batch of any size costs nothing here."""
    names = _cattn.LIMITS
    unknown = set(fields) - set(names)
    assert not unknown, unknown
    if all(np.ndim(x) == 0 for x in fields.values()):  # the common call: one row for every item
        row = np.array([fields.get(n, 0) for n in names], np.int64)
        return np.broadcast_to(row, tuple(items) + (len(names),))
    views = [np.broadcast_to(np.asarray(fields.get(n, 0), np.int64), items) for n in names]
    varies = [n == 0 or any(v.strides[i] != 0 for v in views) for i, n in enumerate(items)]
    where = tuple(slice(None) if x else slice(0, 1) for x in varies)
    lim = np.empty(tuple(n if x else 1 for n, x in zip(items, varies)) + (len(names),),
                   np.int64)
    for j, v in enumerate(views):
        lim[..., j] = v[where]
    return np.broadcast_to(lim, tuple(items) + (len(names),))


def sdpa_plan(fname, query, key, value, attn_mask=None, is_causal=False, scale=None,
              enable_gqa=False, key_lengths=None, query_lengths=None, dropout_p=0.0, seed=None,
              softcap=None, dmask=False, half=False):
    """Check an SDPA call and lay it out for the gufuncs (SdpaPlan). dmask: the additive mask's
    gradient will be wanted (then a grouped-query call is not folded). half: the forward may read
    float16 or bfloat16 query, key and value as they are (one dtype for all three: ``_sdpa``'s
    and ``_sdpa_mask``'s half loops, which convert while they pack and load; a mask array is
    then made additive float32); otherwise bfloat16 computes through float32 copies."""
    from .masks import StructuredMask

    half = half and half_dtype(query, key, value) is not None
    q = as_float_operand(fname, "query", query, 2, half=half)
    k = as_float_operand(fname, "key", key, 2, half=half)
    v = as_float_operand(fname, "value", value, 2, half=half)
    (L, E), (S, Ek), (Sv, Ev) = q.shape[-2:], k.shape[-2:], v.shape[-2:]
    if Ek != E:
        raise ValueError(f"{fname}: query has embedding size {E} but key has {Ek} "
                         f"(query {q.shape}, key {k.shape})")
    if Sv != S:
        raise ValueError(f"{fname}: key has {S} positions but value has {Sv} "
                         f"(key {k.shape}, value {v.shape})")
    scale = as_scale(fname, scale, E)
    # 1. the band (a structured mask, and/or causal: j <= i), and a mask array
    lo, hi, mask = -_BIG, _BIG, None
    if isinstance(attn_mask, StructuredMask):
        if attn_mask.shape != (L, S):
            raise ValueError(f"{fname}: attn_mask {attn_mask!r} is for (L, S) = "
                             f"{attn_mask.shape} but the call has (L, S) = ({L}, {S})")
        lo = -_BIG if attn_mask.lo is None else attn_mask.lo
        hi = attn_mask.hi
    elif attn_mask is not None:
        mask = as_mask(fname, "attn_mask", attn_mask, L, S)
        if half:  # the half loop takes an additive float32 mask (a copy of the mask alone)
            mask = additive_mask32(mask)
    if is_causal:  # with attn_mask too: both apply (JAX's rule), as one more band limit
        hi = min(hi, 0)
    # 2. soft cap, dropout
    cap = 0.0
    if softcap is not None:
        cap = _real(fname, "softcap", softcap)
        if not cap > 0:
            raise ValueError(f"{fname}: softcap must be > 0, got {softcap!r}")
        if cap == np.inf:  # c·tanh(s/c) -> s as c grows: no capping (the kernels' inf·0 is NaN)
            cap = 0.0
    p = _real(fname, "dropout_p", dropout_p)
    if not 0 <= p < 1:
        raise ValueError(f"{fname}: dropout_p must be in [0, 1), got {dropout_p!r}")
    if p > 0 and seed is None:
        seed = int(np.random.randint(0, 2**63 - 1, dtype=np.int64))
    if seed is not None:
        try:
            seed = operator.index(seed)
        except TypeError:
            raise TypeError(f"{fname}: seed must be an integer, got {seed!r}") from None
        if not 0 <= seed < 2**64:  # the dropout hash's 64-bit key (NumPy refuses < 0 too)
            raise ValueError(f"{fname}: seed must be in [0, 2**64), got {seed}")
        seed = np.uint64(seed).view(np.int64)
    else:
        seed = 0
    # 3. grouped-query heads: query (..., Hkv, G, L, E) against key/value (..., Hkv, 1, S, E)
    G = 1
    if enable_gqa:
        if min(q.ndim, k.ndim, v.ndim) < 3:
            raise ValueError(f"{fname}: enable_gqa needs a head axis: query (..., Hq, L, E), key "
                             f"and value (..., Hkv, S, E); got query {q.shape}, key {k.shape}, "
                             f"value {v.shape}")
        Hq, Hk = q.shape[-3], k.shape[-3]
        if v.shape[-3] != Hk:
            raise ValueError(f"{fname}: key has {Hk} heads but value has {v.shape[-3]} "
                             f"(key {k.shape}, value {v.shape})")
        if Hk == 0 or Hq % Hk:
            raise ValueError(f"{fname}: enable_gqa: the query's {Hq} heads are not a multiple of "
                             f"the key's and value's {Hk} (query {q.shape}, key {k.shape})")
        G = Hq // Hk
    if G > 1:
        qb, kb, vb = q.shape[:-3] + (Hk, G), k.shape[:-3] + (Hk, 1), v.shape[:-3] + (Hk, 1)
    else:
        qb, kb, vb = q.shape[:-2], k.shape[:-2], v.shape[:-2]
    shapes = [("query", qb), ("key", kb), ("value", vb)]
    if mask is not None:
        mb = mask.shape[:-2]
        if G > 1 and len(mb) >= 1:  # the mask's head axis: Hq heads, or 1
            if mb[-1] not in (1, Hk * G):
                raise ValueError(f"{fname}: attn_mask of shape {np.shape(attn_mask)} has "
                                 f"{mb[-1]} heads but the query has {Hk * G}")
            mb = mb[:-1] + ((Hk, G) if mb[-1] != 1 else (1, 1))
            mask = mask.reshape(mb + (L, S))
        shapes.append(("attn_mask", mb))
    batch = broadcast_batch(fname, shapes)  # the items, with a group axis for GQA
    user_batch = batch[:-2] + (Hk * G,) if G > 1 else batch
    # 4. lengths and dropout streams, per item
    kl = _lengths(fname, "key_lengths", key_lengths, user_batch, S) \
        if key_lengths is not None else None
    ql = _lengths(fname, "query_lengths", query_lengths, user_batch, L) \
        if query_lengths is not None else None
    # 5. fold the groups into rows when nothing differs inside a group
    fold = G > 1 and not dmask and (mask is None or mask.ndim < 3 or mask.shape[-3] == 1) and \
        all(x is None or _same_in_groups(x, G) for x in (kl, ql))
    # each item's dropout stream: its index in the batch (only dropout reads it)
    stream = np.arange(int(np.prod(user_batch)), dtype=np.int64).reshape(batch) if p > 0 else None
    if fold:
        items = batch[:-1]
        q_arg = q.reshape(q.shape[:-3] + (Hk, G * L, E))
        k_arg, v_arg = k, v
        if mask is not None and mask.ndim >= 3:
            mask = mask[..., 0, :, :]
        pick = (lambda x: x.reshape(batch)[..., 0])
    else:
        items = batch
        q_arg = q.reshape(q.shape[:-3] + (Hk, G, L, E)) if G > 1 else q
        k_arg, v_arg = (k[..., None, :, :], v[..., None, :, :]) if G > 1 else (k, v)
        pick = (lambda x: x.reshape(batch))
    lim = _limits(items, lo=lo, hi=hi, kv_len=S if kl is None else pick(kl),
                  q_len=L if ql is None else pick(ql), per=L, seed=seed,
                  stream=0 if stream is None else pick(stream))
    return SdpaPlan(fname, q_arg, k, v, mask, scale, cap, p, lim, user_batch + (L, Ev),
                    user_batch + (L, S), fold, k_arg, v_arg)


_MHA = {
    ("lim", False): _cattn._mha, ("lim", True): _cattn._mha_weights,
    ("mask", False): _cattn.multi_head_attention, ("mask", True): _cattn.multi_head_attention_weights,
}


def _mha_mask(fname, attn_mask, key_lengths, is_causal, q_ndim, H, L, S, batch, dense=False):
    """(kind, operand): how the multi-head gufuncs see a call's mask.

    "lim": no mask array, the limits operand (causal and key_lengths as row limits: the kernels
    skip the blocks no query attends); "mask": the one mask array, viewed as (..., H, L, S), the
    causal rule and the lengths folded in. ``dense=True`` always gives "mask" (steps() shows the
    array), or ("mask", None) when nothing is masked.

    attn_mask: boolean (True = may attend) or floating (added), (L, S) or (..., L, S), or with a
    head axis (..., H, L, S) when it has more dimensions than the query. key_lengths: integers
    (...), keys at positions >= length are ignored. is_causal: query i sees keys j <= i."""
    kl = _lengths(fname, "key_lengths", key_lengths, batch, S) \
        if key_lengths is not None else None
    if attn_mask is None and not dense:
        return "lim", _limits(batch, lo=-_BIG, hi=0 if is_causal else _BIG,
                              kv_len=S if kl is None else kl, q_len=L)
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
        mask = and_causal(m, L, S) if is_causal else m
    elif is_causal:
        mask = np.tri(L, S, dtype=bool)[None]
    if kl is not None:
        valid = np.arange(S) < kl[..., None, None, None]  # (..., 1, 1, S)
        if mask is None:
            mask = valid
        elif mask.dtype == bool:
            mask = mask & valid
        else:
            mask = np.where(valid, mask, -np.inf).astype(mask.dtype)
    return "mask", mask


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
    # float16 or bfloat16 in every operand: read as half by the gufuncs' half loops (a mask
    # array made additive float32; the weights half too), the heads float32 inside
    half = half_dtype(query, key, value, q_weight, k_weight, v_weight, out_weight, q_bias,
                      k_bias, v_bias, out_bias)
    args, kind, scale, lim = _mha_args(query, key, value, q_weight, k_weight, v_weight,
                                       out_weight, q_bias, k_bias, v_bias, out_bias, attn_mask,
                                       key_lengths, is_causal, scale, half=half is not None)
    ufunc = _MHA[kind, weights]
    if not weights:
        return ufunc(*args, scale, *lim, out=out)
    o, w = ufunc(*args, scale, *lim, out=(out, None))
    if average_attn_weights:  # the mean over heads in float32 (half weights), then rounded
        w = w.mean(axis=-3, dtype=np.float32 if half is not None else None).astype(w.dtype)
    return o, w


def _mha_args(query, key, value, q_weight, k_weight, v_weight, out_weight, q_bias, k_bias,
              v_bias, out_bias, attn_mask, key_lengths, is_causal, scale,
              fname="multi_head_attention", half=False):
    """The checked operands of a multi-head call: ((xq, xk, xv, wq, wk, wv, wo, bq, bk, bv, bo
    [, mask]), kind, scale, (limits,) or ()) -- the gufuncs take the mask before the scale and
    the limits after it (_mha_mask); absent biases are broadcast zeros. half: every operand has
    one half dtype, which stays (bfloat16 too) for the gufuncs' half loops, and a mask array is
    made additive float32."""
    xq = as_float_operand(fname, "query", query, 2, half=half)
    xk = as_float_operand(fname, "key", key, 2, half=half)
    xv = as_float_operand(fname, "value", value, 2, half=half)
    ws = [as_float_operand(fname, n, w, 3, half=half) for n, w in
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
    dt = xq.dtype if half else compute_dtype(xq, xk, xv, *ws)
    biases = []
    for name, b, shape in (("q_bias", q_bias, (H, d)), ("k_bias", k_bias, (H, d)),
                           ("v_bias", v_bias, (H, dv)), ("out_bias", out_bias, (Eo,))):
        if b is None:
            biases.append(np.broadcast_to(np.zeros((), dt), shape))
            continue
        b = as_float_operand(fname, name, b, half=half)
        if b.shape[-len(shape):] != shape:
            raise ValueError(f"{fname}: {name} has shape {b.shape}, expected {shape}")
        biases.append(b)
    batch = broadcast_batch(fname, [("query", xq.shape[:-2]), ("key", xk.shape[:-2]),
                                    ("value", xv.shape[:-2])])
    scale = as_scale(fname, scale, d)
    kind, m = _mha_mask(fname, attn_mask, key_lengths, is_causal, xq.ndim, H, L, S, batch)
    args = (xq, xk, xv, wq, wk, wv, wo, *biases)
    if kind == "lim":
        return args, kind, scale, (m,)
    if half:  # the half loops take an additive float32 mask (a copy of the mask, unbroadcast)
        m = additive_mask32(m)
    m = np.broadcast_to(m, m.shape[:-3] + (H, L, S))
    broadcast_batch(fname, [("query", batch), ("attn_mask", m.shape[:-3])])
    return args + (m,), kind, scale, ()
