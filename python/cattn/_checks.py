"""Argument checks shared by the functions and classes: each raises ValueError/TypeError whose
message starts with the caller's name and gives the shapes or dtypes involved."""
import numpy as np

_NUMERIC = "biuf"


def as_float_operand(fname, argname, x, min_ndim=0):
    """x as an ndarray of a real numeric dtype with at least `min_ndim` dimensions."""
    a = np.asarray(x)
    if a.dtype.kind not in _NUMERIC:
        raise TypeError(
            f"{fname}: {argname} has dtype {a.dtype}; cattn computes in float32 or float64 "
            f"(pass real numbers)"
        )
    if a.ndim < min_ndim:
        raise ValueError(
            f"{fname}: {argname} must have at least {min_ndim} dimensions, got shape {a.shape}"
        )
    return a


def compute_dtype(*arrays):
    """The dtype cattn's gufuncs compute in: float32 if NumPy's result type is a float of at
    most 4 bytes, float64 otherwise (integers compute in float64)."""
    rt = np.result_type(*arrays)
    return np.dtype(np.float32) if rt.kind == "f" and rt.itemsize <= 4 else np.dtype(np.float64)


def as_mask(fname, argname, mask, L, S):
    """A boolean or floating mask viewed as (..., L, S) without copying (broadcast_to)."""
    m = np.asarray(mask)
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
        return 1.0 / np.sqrt(E)
    if isinstance(scale, (bool, np.bool_)) or not np.isrealobj(scale) or np.ndim(scale) != 0:
        raise TypeError(f"{fname}: scale must be a real number, got {scale!r}")
    try:
        return float(scale)
    except (TypeError, ValueError):
        raise TypeError(f"{fname}: scale must be a real number, got {scale!r}") from None
