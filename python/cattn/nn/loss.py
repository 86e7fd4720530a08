"""nn.cross_entropy: PyTorch's F.cross_entropy over the last axis, with its rule for cattn.vjp."""
import numpy as np

from .. import _cattn
from .._checks import as_float_operand, is_half
from ..gradients import _cotangent


def cross_entropy(logits, targets, *, ignore_index=-100):
    """The mean negative log-likelihood of integer targets under ``softmax(logits)``, PyTorch's
    ``F.cross_entropy`` with the classes on the **last** axis: logits (..., C), targets (...)
    of integers in [0, C), or ``ignore_index`` for positions that do not count. The mean is over
    the targets not ignored (NaN when every target is ignored, as PyTorch; the gradient is then
    zero, so a training step on such a batch changes nothing). Differentiable in ``logits``
    through ``cattn.vjp``. Half logits (float16, bfloat16) are computed in float32: the loss is
    a float32 scalar, the gradient in the logits' dtype.

    >>> import numpy as np, cattn
    >>> round(float(cattn.nn.cross_entropy(np.zeros((2, 4)), np.array([1, 3]))), 4)  # log 4
    1.3863
    """
    loss, _ = _cross_entropy(logits, targets, ignore_index)
    return loss


def _cross_entropy(logits, targets, ignore_index):
    fname = "cross_entropy"
    z = as_float_operand(fname, "logits", logits, 1)  # (bfloat16 arrives as float32)
    if z.dtype.kind != "f":
        z = z.astype(np.float64)
    elif z.dtype == np.float16:  # the loss and its gradient in float32, as for bfloat16
        z = z.astype(np.float32)
    t = np.asarray(targets)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{fname}: targets must be integers, got dtype {t.dtype}")
    if t.shape != z.shape[:-1]:
        raise ValueError(f"{fname}: targets of shape {t.shape} should have the shape of logits "
                         f"without its class axis: logits {z.shape} -> {z.shape[:-1]}")
    C = z.shape[-1]
    keep = t != ignore_index
    bad = keep & ((t < 0) | (t >= C))
    if bad.any():
        raise ValueError(f"{fname}: targets must be in [0, {C}) or ignore_index={ignore_index}, "
                         f"got {t[bad].reshape(-1)[0]}")
    logp = _cattn.log_softmax(z)
    tk = np.where(keep, t, 0)
    picked = np.take_along_axis(logp, tk[..., None], axis=-1)[..., 0]
    n = int(keep.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = z.dtype.type(-(picked * keep).sum() / n) if n else z.dtype.type(np.nan)
    return loss, (z, logp, tk, keep, n)


def _vjp_cross_entropy(logits, targets, *, ignore_index=-100):
    loss, (z, logp, tk, keep, n) = _cross_entropy(logits, targets, ignore_index)

    def pullback(g):
        g = float(_cotangent("cross_entropy", g, np.asarray(loss)))  # a real scalar
        d = np.exp(logp)
        np.put_along_axis(d, tk[..., None], np.take_along_axis(d, tk[..., None], -1) - 1, -1)
        # every target ignored: no term depends on the logits, so the gradient is zero (PyTorch's
        # convention too), while the loss, a mean over nothing, is NaN
        d *= (keep * (g / n if n else 0.0))[..., None]
        dtype = np.asarray(logits).dtype
        return (d.astype(dtype if dtype.kind == "f" or is_half(dtype) else z.dtype, copy=False),
                None)
    return loss, pullback


cross_entropy._cattn_vjp = _vjp_cross_entropy
cross_entropy._cattn_arg_names = ("logits", "targets")
