"""Argument checks shared by the functions and classes: each raises ValueError/TypeError whose
message starts with the caller's name and gives the shapes or dtypes involved.

The computing dtype is the extension's rule (``_cattn.compute_dtype``), not restated here. The
default scale is written here once (``as_scale``): the Python side hands the gufuncs a number, so
a call's scale crosses to C once; the C side's own default, ``cattn_default_scale`` in cattn.h,
serves C callers and the direct path, which leaves every refusal to this module."""
import math

import numpy as np

from . import _cattn

_NUMERIC = "biuf"


def to_numpy(x):
    """A NumPy array from an array-like or a PyTorch tensor (without importing torch)."""
    if not isinstance(x, np.ndarray) and hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def like_input(x, result):
    """NumPy's protocol, followed by every cattn function and class as by the gufuncs: when the
    input `x` is not an ndarray but defines ``__array_wrap__`` (a PyTorch tensor), the results
    come back through it -- a tensor in, tensors out; NumPy arrays otherwise."""
    if isinstance(x, np.ndarray) or not hasattr(type(x), "__array_wrap__"):
        return result
    if isinstance(result, tuple):
        return tuple(like_input(x, r) for r in result)
    return result if result is None else x.__array_wrap__(result)


def is_half(dtype):
    """float16, or the bfloat16 of ml_dtypes (JAX's NumPy bfloat16, a 2-byte extension dtype)."""
    return dtype == np.float16 or _is_bfloat16(dtype)


def _is_bfloat16(dtype):
    """ml_dtypes' bfloat16 (kind "V"; the kind first: dtype.name costs a microsecond)."""
    return dtype.kind == "V" and dtype.name == "bfloat16"


def is_float(dtype):
    """A floating dtype: NumPy's (kind "f") or ml_dtypes' bfloat16."""
    dtype = np.dtype(dtype)
    return dtype.kind == "f" or is_half(dtype)


def half_dtype(*arrays):
    """The 2-byte float dtype every given array has (results come back in it, as PyTorch and JAX
    return them; the kernels compute in float32), or None."""
    dts = {np.asarray(a).dtype for a in arrays if a is not None}
    if len(dts) == 1:
        (dt,) = dts
        if is_half(dt):
            return dt
    return None


def as_float_operand(fname, argname, x, min_ndim=0, half=False):
    """x as an ndarray of a real numeric dtype with at least `min_ndim` dimensions. bfloat16
    becomes float32 (NumPy's casts know it only by name) unless ``half``: the operation's gufuncs
    read it as half (the softmax family)."""
    a = to_numpy(x)
    if _is_bfloat16(a.dtype):
        if half and a.dtype.num == getattr(_bfloat16(), "num", None):
            return _at_least(fname, argname, a, min_ndim)
        a = a.astype(np.float32)
    if a.dtype.kind not in _NUMERIC:
        raise TypeError(
            f"{fname}: {argname} has dtype {a.dtype}; cattn computes in float32 or float64 "
            f"(pass real numbers)"
        )
    return _at_least(fname, argname, a, min_ndim)


def _at_least(fname, argname, a, min_ndim):
    if a.ndim < min_ndim:
        raise ValueError(
            f"{fname}: {argname} must have at least {min_ndim} dimensions, got shape {a.shape}"
        )
    return a


def _bfloat16():
    """ml_dtypes' bfloat16 dtype where ml_dtypes is installed (the one the gufuncs registered,
    cattn/__init__.py), else None."""
    try:
        import ml_dtypes
    except ImportError:
        return None
    return np.dtype(ml_dtypes.bfloat16)


def compute_dtype(*arrays):
    """The dtype cattn's gufuncs compute in for these data operands (the rule lives in C)."""
    return _cattn.compute_dtype(*arrays)


def as_mask(fname, argname, mask, L, S):
    """A boolean or floating mask viewed as (..., L, S) without copying (broadcast_to); a
    bfloat16 mask (the query's dtype in a bfloat16 model: PyTorch's rule) is read as float32."""
    m = np.asarray(mask)
    if _is_bfloat16(m.dtype):
        m = m.astype(np.float32)
    if m.dtype.kind not in "bf":
        raise TypeError(
            f"{fname}: {argname} has dtype {m.dtype}; use a boolean mask (True = may attend) "
            f"or a floating one (added to the scores)"
        )
    core = m.shape[-2:] if m.ndim >= 2 else (1,) * (2 - m.ndim) + m.shape
    if core[0] not in (1, L) or core[1] not in (1, S):
        raise ValueError(
            f"{fname}: {argname} of shape {m.shape} does not broadcast to (..., L, S) = "
            f"(..., {L}, {S})"
        )
    return np.broadcast_to(m, m.shape[:-2] + (L, S)) if m.ndim >= 2 else np.broadcast_to(m, (L, S))


def additive_mask32(mask):
    """A mask as the half loops take it: float32, added to the scores (a boolean one: 0 where a
    key may be attended, -inf where not)."""
    if mask.dtype == bool:
        return np.where(mask, np.float32(0), np.float32(-np.inf))
    return mask.astype(np.float32)


def and_causal(mask, L, S):
    """A mask (..., L, S) restricted to query i attending keys j <= i as well (is_causal given
    beside attn_mask, JAX's rule): a boolean mask and-ed with the lower triangle, a floating one
    -inf above it."""
    tri = np.tri(L, S, dtype=bool)
    if mask.dtype == bool:
        return mask & tri
    return np.where(tri, mask, -np.inf).astype(mask.dtype)


def broadcast_batch(fname, named_shapes):
    """The broadcast of the leading (batch) dims, or a ValueError naming every operand."""
    try:
        return np.broadcast_shapes(*(s for _, s in named_shapes))
    except ValueError:
        desc = ", ".join(f"{n} {s}" for n, s in named_shapes)
        raise ValueError(f"{fname}: batch dimensions do not broadcast: {desc}") from None


def as_scale(fname, scale, E):
    """The softmax scale: 1/sqrt(E) by default, else a real number."""
    if scale is None:
        if E == 0:
            raise ValueError(
                f"{fname}: the embedding size E is 0, so the default scale 1/sqrt(E) is "
                f"undefined; pass scale= explicitly"
            )
        return 1.0 / math.sqrt(E)
    if isinstance(scale, (bool, np.bool_)) or not np.isrealobj(scale) or np.ndim(scale) != 0:
        raise TypeError(f"{fname}: scale must be a real number, got {scale!r}")
    try:
        return float(scale)
    except (TypeError, ValueError):
        raise TypeError(f"{fname}: scale must be a real number, got {scale!r}") from None


def weights_flag(fname, return_weights, need_weights):
    """The one "also return the weights" flag from its two spellings: ``return_weights`` (cattn's
    functional name) and ``need_weights`` (PyTorch's, on nn.MultiheadAttention). Either works
    everywhere; giving both with different values is an error."""
    if return_weights is None and need_weights is None:
        return False
    if return_weights is not None and need_weights is not None and \
            bool(return_weights) != bool(need_weights):
        raise ValueError(
            f"{fname}: return_weights={return_weights!r} and need_weights={need_weights!r} "
            f"disagree; they are two names for one flag, pass one"
        )
    return bool(return_weights if return_weights is not None else need_weights)
