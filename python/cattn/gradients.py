"""Gradients: ``cattn.vjp`` (JAX's ``jax.vjp`` contract) and ``cattn.gradcheck``.

``out, pullback = vjp(fn, *args, **kwargs)`` runs ``fn``'s forward pass through the gufuncs that
keep what the backward needs (for attention only each row's log-sum-exp, never the (L, S)
weights), and ``pullback(grad_out)`` runs the C backward kernels (``cattn.softmax_backward``,
``cattn.attention_backward``, ``cattn.multi_head_attention_backward``, ...). Conventions:

- one gradient per positional argument after ``fn``, ``None`` for an argument with no gradient
  (a boolean mask, a ``None``); keyword arguments get none;
- each gradient is reduced (summed) over the dimensions its argument was broadcast along, so it
  has the argument's shape, and has the argument's dtype (a non-float argument's gradient is in
  the dtype the call computed in);
- an additive mask passed positionally gets the gradient of the scores, dS, reduced to its shape;
- the pullback may be called any number of times. **Its results are its own**: what the forward
  returned (the output, the weights, an ``out=`` array) belongs to the caller, and the pullback
  keeps private copies of whatever of it the backward needs, so changing a returned array in
  place never changes a gradient (PyTorch raises for a changed saved output, JAX arrays cannot
  change; a copy costs one pass over the output, far less than the backward). The *inputs* are
  read when the pullback runs, so an input changed in place after ``vjp`` gives gradients of
  neither the old nor the new input (PyTorch raises there; copy an input you will modify);
- NaN in ``grad_out`` propagates to the gradients it touches (no error, no warning).
"""
import numpy as np

from . import _cattn
from ._checks import _bfloat16, as_float_operand, half_dtype, is_float, is_half, weights_flag
from .functional import _mha_args, multi_head_attention, scaled_dot_product_attention, sdpa_plan
from .masks import StructuredMask

__all__ = ["vjp", "gradcheck"]


# ---- helpers -------------------------------------------------------------------------------

def half_sum(g):
    """g (n, ...) -- C-contiguous float16 or bfloat16 -- summed over its first axis in float32
    and rounded once: ones (1, n) · g (n, rest) through cattn's half GEMM, which converts with
    the CPU's instructions as it packs (NumPy converts float16 one number at a time and adds
    float16 arrays as slowly: 4-10x slower here)."""
    n = g.shape[0]
    return _cattn.matmul(np.ones((1, n), g.dtype), g.reshape(n, -1)).reshape(g.shape[1:])


def sum_rows(g):
    """g (n, ...) summed over its first axis: a half g through half_sum (float32 sums, rounded
    once; NumPy would sum in the half dtype, rounding at every step), any other by NumPy."""
    return half_sum(g) if is_half(g.dtype) else g.sum(axis=0)


def _unbroadcast(g, shape, dtype):
    """g summed over the dimensions broadcasting added or stretched to reach it from `shape`,
    in `dtype` when that is a float dtype (half gradients summed in float32, rounded once)."""
    g = np.asarray(g)
    acc = np.float32 if is_half(g.dtype) else None
    extra = g.ndim - len(shape)
    if extra > 0 and all(n == 1 for n in g.shape[:extra]):  # nothing to sum: a view
        g = g.reshape(g.shape[extra:])
    elif extra > 0 and acc is not None and g.size and g.flags.c_contiguous and \
            (g.dtype == np.float16 or g.dtype == _bfloat16()):
        g = half_sum(g.reshape((-1,) + g.shape[extra:]))
    elif extra > 0:
        g = g.sum(axis=tuple(range(extra)), dtype=acc)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True, dtype=acc)
    if is_float(dtype):
        g = g.astype(dtype, copy=False)
    return np.ascontiguousarray(g).reshape(shape)


def _cotangent(fname, g, like, name="grad_out"):
    """grad_out checked against the forward's output `like`: same shape, real numbers."""
    if g is None:
        raise TypeError(f"{fname}: pullback needs a gradient for the output, got None")
    if isinstance(g, tuple):
        raise TypeError(f"{fname} pullback: {name} is one array of the output's shape "
                        f"{like.shape}, got a tuple of {len(g)}")
    a = as_float_operand(f"{fname} pullback", name, g, half=is_half(like.dtype))
    if a.shape != like.shape:
        raise ValueError(
            f"{fname} pullback: {name} has shape {a.shape} but the output has shape {like.shape}"
        )
    return a.astype(like.dtype, copy=False)


def _split_cotangent(fname, ct, outs):
    """(grad of the output, grad of the weights or None) from a pullback's argument, for a
    forward that returned `outs` (an array, or (output, weights))."""
    if not isinstance(outs, tuple):
        return _cotangent(fname, ct, outs), None
    if not isinstance(ct, (tuple, list)) or len(ct) != 2:
        raise TypeError(
            f"{fname} pullback: the forward returned (output, weights); pass (grad_output, "
            f"grad_weights), grad_weights may be None"
        )
    gw = None if ct[1] is None else _cotangent(fname, ct[1], outs[1], "grad_weights")
    return _cotangent(fname, ct[0], outs[0]), gw


def _dtype_of(x):
    return np.asarray(x).dtype if x is not None else None


# ---- one rule per function -----------------------------------------------------------------

def _vjp_softmax(log, x, **kwargs):
    fname = "log_softmax" if log else "softmax"
    fwd = _cattn.log_softmax if log else _cattn.softmax
    bwd = _cattn.log_softmax_backward if log else _cattn.softmax_backward
    axis = kwargs.get("axis", -1)
    if "axes" in kwargs:
        axis = kwargs["axes"][0][0]
    x_arr = as_float_operand(fname, "x", x, half=True)  # float16, bfloat16: read as half
    y = fwd(x_arr, **kwargs)
    saved = y.copy()  # the caller's y (or out=) may change; the backward reads softmax(x)

    def pullback(g):
        g = _cotangent(fname, g, saved)
        dx = bwd(saved, g, axis=axis)
        return (_unbroadcast(dx, x_arr.shape, x_arr.dtype),)
    return y, pullback


def _vjp_matmul(a, b, **kwargs):
    fname = "matmul"
    if set(kwargs) - {"out", "axes"}:
        raise TypeError(f"vjp(matmul): unsupported keywords {sorted(set(kwargs) - {'out', 'axes'})}")
    half = half_dtype(a, b) is not None  # float16, bfloat16: read as half, grads in it too
    A = as_float_operand(fname, "a", a, 1, half=half)
    Bm = as_float_operand(fname, "b", b, 1, half=half)
    y = _cattn.matmul(A, Bm, **kwargs)
    axes = kwargs.get("axes")

    def pullback(g):
        g = _cotangent(fname, g, y)
        a2, b2, g2 = A, Bm, g
        if axes is not None:  # the standard layout: core dims last
            a2 = np.moveaxis(a2, axes[0], (-2, -1))
            b2 = np.moveaxis(b2, axes[1], (-2, -1))
            g2 = np.moveaxis(g2, axes[2], (-2, -1))
        # 1-D operands as NumPy promotes them: a (k) is (1, k), b (k) is (k, 1)
        if a2.ndim == 1 and b2.ndim == 1:
            g2 = np.reshape(g2, np.shape(g2) + (1, 1))
        elif a2.ndim == 1:
            g2 = g2[..., None, :]
        elif b2.ndim == 1:
            g2 = g2[..., None]
        a2 = a2[None, :] if a2.ndim == 1 else a2
        b2 = b2[:, None] if b2.ndim == 1 else b2
        da = _cattn.matmul(g2, np.swapaxes(b2, -1, -2))
        db = _cattn.matmul(np.swapaxes(a2, -1, -2), g2)
        da = _unbroadcast(da, a2.shape, A.dtype)
        db = _unbroadcast(db, b2.shape, Bm.dtype)
        if axes is not None:
            if A.ndim > 1:
                da = np.moveaxis(da, (-2, -1), axes[0])
            if Bm.ndim > 1:
                db = np.moveaxis(db, (-2, -1), axes[1])
        return da.reshape(A.shape), db.reshape(Bm.shape)
    return y, pullback


def _positional_mask(fname, names, rest, attn_mask):
    """(attn_mask, passed positionally?) for a function whose positional arguments are `names`,
    the last one attn_mask, called with `rest` beyond the others."""
    if len(rest) > 1:
        raise TypeError(f"vjp({fname}): at most {len(names)} positional arguments "
                        f"({', '.join(names)}), got {len(names) - 1 + len(rest)}")
    if rest and attn_mask is not None:
        raise TypeError(f"vjp({fname}): attn_mask given both positionally and by keyword")
    return (rest[0], True) if rest else (attn_mask, False)


def _vjp_sdpa(query, key, value, *rest, attn_mask=None, is_causal=False, scale=None,
              enable_gqa=False, key_lengths=None, query_lengths=None, dropout_p=0.0, seed=None,
              softcap=None, return_weights=False, out=None):
    fname = "scaled_dot_product_attention"
    attn_mask, mask_positional = _positional_mask(fname, ("query", "key", "value", "attn_mask"),
                                                  rest, attn_mask)
    weights = bool(return_weights)
    want_dmask = mask_positional and is_float(np.asarray(attn_mask).dtype) \
        if attn_mask is not None and not isinstance(attn_mask, StructuredMask) else False
    half = half_dtype(query, key, value)
    # float16, bfloat16: read as half forward and backward (the half loops), o and the
    # gradients in that dtype, computed in float32
    plan = sdpa_plan(fname, query, key, value, attn_mask, is_causal, scale, enable_gqa,
                     key_lengths, query_lengths, dropout_p, seed, softcap, dmask=want_dmask,
                     half=half is not None)
    r = plan.forward(weights)
    o, lse = r[0], r[-1]
    # the caller's arrays are copies of o and the weights, which the backward reads
    outs = (plan.output(o), plan.weights(r[1])) if weights else plan.output(o)
    if half is not None and o.dtype != half:  # a bfloat16 the gufuncs do not know: float32
        outs = tuple(x.astype(half) for x in outs) if weights else outs.astype(half)
    elif weights:
        outs = (outs[0] if out is not None else outs[0].copy(), outs[1].copy())
    elif out is None:
        outs = outs.copy()
    if out is not None:
        np.copyto(out, outs[0] if weights else outs, casting="same_kind")
        outs = (out, outs[1]) if weights else out
    q, k, v = (as_float_operand(fname, n, x, half=half is not None) for n, x in
               (("query", query), ("key", key), ("value", value)))
    mask_dtype = _dtype_of(attn_mask)

    def pullback(ct):
        g, gw = _split_cotangent(fname, ct, outs)
        if g.dtype != o.dtype:  # a bfloat16 the gufuncs do not know: float32
            g = g.astype(o.dtype)
            gw = None if gw is None else gw.astype(o.dtype)
        grads = list(plan.backward(o, lse, g, want_dmask))
        if gw is not None:  # through the returned weights: dS_w = softmax_backward(w, g_w)
            if plan.cap > 0 or plan.p > 0:
                raise NotImplementedError(
                    f"{fname} pullback: a gradient through the returned weights with softcap or "
                    f"dropout_p is not supported; pass (grad_output, None)")
            w = r[1]
            ds = _cattn.softmax_backward(w, np.reshape(gw, w.shape))
            acc = np.float32 if half is not None else None  # half terms added in float32
            grads[0] = np.add(grads[0], plan.scale * _cattn.matmul(ds, plan.k_arg), dtype=acc)
            grads[1] = np.add(grads[1], plan.scale * _cattn.matmul(np.swapaxes(ds, -1, -2),
                                                                  plan.q), dtype=acc)
            if want_dmask:
                grads[3] = grads[3] + ds
        args = (plan.q, plan.k_arg, plan.v_arg)
        res = [_unbroadcast(grads[i], x.shape, y.dtype if half is None else half).reshape(y.shape)
               for i, (x, y) in enumerate(zip(args, (q, k, v)))]
        if mask_positional:
            res.append(_unbroadcast(plan.weights(grads[3]), np.shape(attn_mask), mask_dtype)
                       if want_dmask else None)
        return tuple(res)
    return outs, pullback


_MHA_FWD = {
    ("lim", False): _cattn._mha_forward,
    ("lim", True): _cattn._mha_forward_weights,
    ("mask", False): _cattn.multi_head_attention_forward,
    ("mask", True): _cattn._masked_mha_forward_weights,
}
_MHA_BWD = {"lim": _cattn._mha_backward, "mask": _cattn.multi_head_attention_backward}
_MHA_NAMES = ("query", "key", "value", "q_weight", "k_weight", "v_weight", "out_weight",
              "q_bias", "k_bias", "v_bias", "out_bias")


def _vjp_mha(*pos, attn_mask=None, key_lengths=None, is_causal=False, scale=None,
             need_weights=None, average_attn_weights=True, out=None, return_weights=None):
    fname = "multi_head_attention"
    if not 7 <= len(pos) <= 11:
        raise TypeError(f"vjp({fname}): 7 to 11 positional arguments ({', '.join(_MHA_NAMES)}), "
                        f"got {len(pos)}")
    full = list(pos) + [None] * (11 - len(pos))
    weights = weights_flag(fname, return_weights, need_weights)
    # float16, bfloat16: read as half forward and backward (the half loops; the heads they save
    # are float32), the output, the weights and the gradients in that dtype
    half = half_dtype(*pos)
    args, kind, sc, lim = _mha_args(*full, attn_mask, key_lengths, is_causal, scale,
                                    half=half is not None)
    r = _MHA_FWD[kind, weights](*args, sc, *lim, out=(out,) + (None,) * (5 + weights))
    o = r[0]
    saved = r[-5:]
    outs = o if half is None or o.dtype == half else o.astype(half)  # (an unknown bfloat16)
    if weights:
        w = r[1].mean(axis=-3) if average_attn_weights else r[1]
        outs = (outs, w if half is None else w.astype(half))
    data = args[:7]
    mask = args[11:]  # (mask,) or ()

    def pullback(ct):
        g, gw = _split_cotangent(fname, ct, outs)
        if gw is not None:
            raise ValueError(
                f"{fname} pullback: gradients through the returned weights are not computed for "
                f"multi-head attention; pass (grad_output, None)"
            )
        if g.dtype != o.dtype:  # a bfloat16 the gufuncs do not know: float32
            g = g.astype(o.dtype)
        grads = _MHA_BWD[kind](*data, *mask, *saved, g, sc, *lim)
        res = []
        for i, x in enumerate(pos):
            if x is None:
                res.append(None)
                continue
            xa = args[i]
            res.append(_unbroadcast(grads[i], np.shape(x), half if half is not None else xa.dtype))
        return tuple(res)
    return outs, pullback


_RULES = {
    _cattn.softmax: lambda *a, **k: _vjp_softmax(False, *a, **k),
    _cattn.log_softmax: lambda *a, **k: _vjp_softmax(True, *a, **k),
    _cattn.matmul: _vjp_matmul,
    scaled_dot_product_attention: _vjp_sdpa,
    multi_head_attention: _vjp_mha,
}


_ARG_NAMES = {
    _cattn.softmax: ("x",), _cattn.log_softmax: ("x",), _cattn.matmul: ("a", "b"),
    scaled_dot_product_attention: ("query", "key", "value", "attn_mask"),
    multi_head_attention: _MHA_NAMES,
}


def vjp(fn, *args, **kwargs):
    """``out, pullback = cattn.vjp(fn, *args, **kwargs)``: the output of ``fn(*args, **kwargs)``
    and a function that maps a gradient of that output to the gradients of the positional
    ``args`` (JAX's ``jax.vjp``).

    ``fn`` is one of ``cattn.softmax``, ``cattn.log_softmax``, ``cattn.matmul``,
    ``cattn.scaled_dot_product_attention``, ``cattn.multi_head_attention``,
    ``cattn.additive_attention``, ``cattn.nn.cross_entropy`` (a function carrying its own rule
    as ``fn._cattn_vjp``, with its arguments' names in ``fn._cattn_arg_names``). ``pullback(grad_out)``
    returns a tuple with one gradient per positional argument: ``None`` for a boolean mask or an
    argument given as ``None``; an additive mask passed positionally gets its gradient reduced to
    its own shape; every gradient is summed over the dimensions its argument was broadcast along
    and has its argument's dtype. Keyword arguments get no gradient. When ``fn`` returns
    ``(output, weights)`` (``return_weights=True``), ``pullback`` takes ``(grad_output,
    grad_weights)``, ``grad_weights`` possibly ``None`` (for scaled_dot_product_attention the
    weights' gradient flows into query, key and the mask; multi_head_attention takes ``None``
    only). The pullback may be called more than once.

    Examples
    --------
    >>> import numpy as np, cattn
    >>> q = k = v = np.eye(2)
    >>> out, pullback = cattn.vjp(cattn.scaled_dot_product_attention, q, k, v, scale=1.0)
    >>> dq, dk, dv = pullback(np.ones_like(out))
    >>> dv.sum(axis=1)  # each key's total weight, times the two output columns
    array([2., 2.])
    """
    rule = _RULES.get(fn) or getattr(fn, "_cattn_vjp", None)
    if rule is None:
        names = "cattn.softmax, cattn.log_softmax, cattn.matmul, " \
                "cattn.scaled_dot_product_attention, cattn.multi_head_attention, " \
                "cattn.additive_attention, cattn.nn.cross_entropy"
        raise TypeError(f"vjp: no gradient rule for {getattr(fn, '__name__', fn)!r}; "
                        f"cattn.vjp differentiates {names}")
    return rule(*args, **kwargs)


def gradcheck(fn, *args, eps=1e-6, atol=1e-5, rtol=1e-3, max_elements=200, check_seed=0,
              **kwargs):
    """Check ``cattn.vjp(fn, ...)`` against central finite differences, in float64.

    The output is projected on a random direction u (``phi(x) = sum(u * fn(x))``); for each
    positional argument with a gradient, each element (at most ``max_elements`` of them, chosen
    at random) is moved by ``±eps`` and ``(phi(x + eps) - phi(x - eps)) / (2 eps)`` is compared
    with the pullback's gradient: ``|analytic - numeric| <= atol + rtol * |numeric|``. Boolean
    and integer arguments (masks, targets, lengths) are passed as they are, and so are keyword
    arguments (a ``seed`` among them is the function's: dropout's; ``check_seed`` seeds u and the
    choice of elements). Returns True, or raises AssertionError naming the argument and the worst element (as
    ``torch.autograd.gradcheck``). It refuses what it cannot check (ValueError): NaN in the
    inputs, NaN or inf in the outputs or the settings; and complex inputs (TypeError). An
    infinite input, an additive mask's -inf, is checked where the outputs stay finite. An integer
    argument with a gradient is checked as a float64 copy.

    >>> import numpy as np, cattn
    >>> cattn.gradcheck(cattn.softmax, np.array([0.5, -1.0, 2.0]))
    True
    """
    fname = getattr(fn, "__name__", str(fn))
    names = _ARG_NAMES.get(fn) or getattr(fn, "_cattn_arg_names", ())

    def arg_name(i):
        return f"argument {i}" + (f" ({names[i]})" if i < len(names) else "")

    # a check that cannot check refuses: non-finite settings, inputs or outputs, complex inputs
    for name, value, low in (("eps", eps, 0.0), ("atol", atol, None), ("rtol", rtol, None)):
        if not (np.isfinite(value) and (value > low if low is not None else value >= 0)):
            raise ValueError(f"gradcheck({fname}): {name} must be a finite number "
                             f"{'> 0' if low is not None else '>= 0'}, got {value!r}")
    for i, a in enumerate(args):
        if a is None:
            continue
        kind = np.asarray(a).dtype.kind
        if kind == "c":
            raise TypeError(f"gradcheck({fname}): {arg_name(i)} is complex; cattn computes in "
                            "float32 or float64")
        if kind == "f" and np.isnan(a).any():  # (-inf is a mask's "never": checkable)
            raise ValueError(f"gradcheck({fname}): {arg_name(i)} holds NaN; finite "
                             "differences cannot check a gradient there")
    rng = np.random.default_rng(check_seed)
    args64 = [a if a is None or np.asarray(a).dtype.kind in "biu"
              else np.array(a, dtype=np.float64) for a in args]
    out, pullback = vjp(fn, *args64, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    for k, o in enumerate(outs):
        if o is not None and not np.isfinite(np.asarray(o, dtype=np.float64)).all():
            raise ValueError(f"gradcheck({fname}): output {k} holds NaN or inf at these inputs; "
                             "finite differences cannot check it")
    us = [rng.standard_normal(np.shape(o)) for o in outs]
    grads = pullback(tuple(us) if isinstance(out, tuple) else us[0])

    def phi(xs):
        r = fn(*xs, **kwargs)
        rs = r if isinstance(r, tuple) else (r,)
        return sum(float(np.sum(u * np.asarray(o, dtype=np.float64))) for u, o in zip(us, rs))

    for i, (a, g) in enumerate(zip(args64, grads)):
        if g is None:
            continue
        if a.dtype.kind in "biu":  # a differentiable integer argument: nudged as a float64 copy
            a = a.astype(np.float64)
            args64 = args64[:i] + [a] + args64[i + 1:]
        n = a.size
        idx = np.arange(n) if n <= max_elements else rng.choice(n, max_elements, replace=False)
        worst = None
        for j in idx:
            pos = np.unravel_index(j, a.shape)
            xs = list(args64)
            x = a.copy()
            x[pos] += eps
            xs[i] = x
            up = phi(xs)
            x[pos] -= 2 * eps
            down = phi(xs)
            num = (up - down) / (2 * eps)
            ana = float(np.asarray(g)[pos])
            err = abs(ana - num) - (atol + rtol * abs(num))
            if err > 0 and (worst is None or err > worst[0]):
                worst = (err, pos, ana, num)
        if worst is not None:
            _, pos, ana, num = worst
            raise AssertionError(
                f"gradcheck({fname}): the gradient of argument {i} "
                f"{'(' + names[i] + ', ' if i < len(names) else '('}shape {a.shape}) disagrees "
                f"with finite differences; worst element {tuple(int(p) for p in pos)}: analytic "
                f"{ana!r}, numerical {num!r} (atol={atol}, rtol={rtol})"
            )
    return True
