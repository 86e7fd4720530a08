"""nn/module.py -- Module: what every cattn layer has -- NumPy parameters under PyTorch's names,
their gradients.

A subclass sets ``_cls`` (its name in messages), ``dtype``, ``_params`` (name -> array) and
``_shapes()`` (name -> shape, what ``load_state_dict`` accepts); it gets ``state_dict``,
``load_state_dict``, ``num_parameters``, ``grads`` (where its ``vjp`` pullbacks *add*, as
PyTorch's ``.grad``), ``zero_grad`` and attribute access to the parameters (``mha.in_proj_weight``).
The optimisers (``cattn.nn.SGD``, ``cattn.nn.Adam``) update ``_params`` in place from ``grads``.
"""
import numpy as np

from .._checks import _bfloat16, as_float_operand, is_float, is_half, to_numpy
from ..gradients import sum_rows


def cotangent(module, dy, out):
    """A layer pullback's cotangent, checked before anything changes: exactly the shape and the
    dtype of the layer's output `out` (as PyTorch's autograd asks of grad_outputs), else a
    ValueError or TypeError naming the layer and both."""
    where = f"{module._cls}.vjp pullback"
    if isinstance(dy, (tuple, list)):
        raise TypeError(f"{where}: the cotangent is one array of the output's shape {out.shape}, "
                        f"got a {type(dy).__name__}")
    g = np.asarray(dy)
    if g.shape != out.shape:
        raise ValueError(f"{where}: the cotangent has shape {g.shape} but the output has shape "
                         f"{out.shape}")
    if g.dtype != out.dtype:
        raise TypeError(f"{where}: the cotangent has dtype {g.dtype} but the output has dtype "
                        f"{out.dtype}")
    return g


def add_grads(module, updates):
    """Add each (name, rows, value) of `updates` into ``module.grads[name]`` (its rows `rows`, a
    slice, or all of it for None). A pullback computes every gradient first and adds them here
    last, so a pullback that fails part-way has added nothing. A half gradient is added in
    float32 and rounded once: a half value through the half GEMM (NumPy adds float16 arrays
    about 4x slower than it converts them, 5.7 ms per million here), a float32 one directly."""
    g = module.grads
    for name, rows, value in updates:
        target = g[name] if rows is None else g[name][rows]
        if is_half(target.dtype) and value.dtype == target.dtype and \
                value.shape == target.shape and target.size:
            target[...] = sum_rows(np.stack([target, value]))
        elif is_half(target.dtype) and value.dtype == np.float32:
            target[...] = target.astype(np.float32) + value
        else:
            target += value


def layer_input(layer, x, features):
    a = as_float_operand(layer._cls, "input", x, 1, half=True).astype(layer.dtype, copy=False)
    if features is not None and a.shape[-len(features):] != tuple(features):
        raise ValueError(f"{layer._cls}: input has shape {a.shape}, its last dimensions must be "
                         f"{tuple(features)}")
    return a


def with_key_padding(where, attn_mask, key_padding_mask, query):
    """attn_mask with PyTorch's ``key_padding_mask`` folded in: (..., S) per sequence, boolean
    **True = ignore this key** (PyTorch's polarity, the opposite of cattn's attn_mask) or
    floating (added to the scores). Returns a mask for the layer's call: boolean when both are
    boolean, floating otherwise; a head-axis attn_mask (more dimensions than the query) keeps its
    head axis. `query` is the call's query in cattn's layout (..., L, E)."""
    if key_padding_mask is None:
        return attn_mask
    kpm = to_numpy(key_padding_mask)
    if kpm.dtype != bool and not is_float(kpm.dtype):
        raise TypeError(f"{where}: key_padding_mask has dtype {kpm.dtype}; use a boolean one "
                        f"(True = ignore the key) or a floating one (added to the scores)")
    if kpm.ndim < 1:
        raise ValueError(f"{where}: key_padding_mask must be (..., S), got shape {kpm.shape}")
    if kpm.dtype.name == "bfloat16":
        kpm = kpm.astype(np.float32)
    head_axis = attn_mask is not None and np.ndim(attn_mask) > np.ndim(query)
    pad = kpm[..., None, None, :] if head_axis else kpm[..., None, :]  # (..., [1,] 1, S)
    if attn_mask is None:
        return ~pad if pad.dtype == bool else pad
    m = np.asarray(attn_mask)  # a structured mask as its boolean array
    if m.shape[-1] not in (1, pad.shape[-1]):
        raise ValueError(f"{where}: key_padding_mask of shape {kpm.shape} has {kpm.shape[-1]} "
                         f"keys but attn_mask of shape {m.shape} has {m.shape[-1]}")
    if m.dtype == bool and pad.dtype == bool:
        return m & ~pad
    dt = np.result_type(*(x.dtype for x in (m, pad) if x.dtype != bool))
    m = np.where(m, 0, -np.inf).astype(dt) if m.dtype == bool else m
    pad = np.where(pad, -np.inf, 0).astype(dt) if pad.dtype == bool else pad
    return m + pad


def positive_int(cls, name, x):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{cls}: {name} must be an int, got {x!r}")
    if x <= 0:
        raise ValueError(f"{cls}: {name} must be positive, got {x}")
    return int(x)


def as_dtype(cls, dtype):
    """np.dtype(dtype), with "bfloat16" by name as ml_dtypes' type; None when it is no dtype."""
    if isinstance(dtype, str) and dtype == "bfloat16":
        dt = _bfloat16()
        if dt is None:
            raise TypeError(f"{cls}: dtype bfloat16 needs ml_dtypes (pip install ml_dtypes)")
        return dt
    try:
        return np.dtype(dtype)
    except TypeError:
        return None


def float_dtype(cls, dtype, half=False):
    """The layer's dtype: float32 or float64; with ``half=True`` (a layer whose kernels read
    half precision) also float16 or ml_dtypes' bfloat16 (by dtype or by name)."""
    dt = as_dtype(cls, dtype)
    if dt is not None and (dt in (np.float32, np.float64) or half and is_half(dt)):
        return dt
    allowed = "float32, float64, float16 or bfloat16" if half else "float32 or float64"
    raise TypeError(f"{cls}: dtype must be {allowed}, got {dtype!r}")


def uniform(rng, bound, shape, dtype):
    """U(-bound, bound) in `dtype`: PyTorch's nn.Linear initialisation with bound 1/sqrt(fan_in)."""
    return rng.uniform(-bound, bound, shape).astype(dtype)


class Module:
    """The parameters' bookkeeping shared by every layer (see the module docstring)."""

    _cls = "Module"
    _params: dict

    def _shapes(self):
        return {k: v.shape for k, v in self._params.items()}

    def _repr_html_(self):
        """Jupyter's view: the layer, then its parameters (name, shape, count, dtype)."""
        from .._html import module_html

        return module_html(self)

    def state_dict(self):
        """The parameters by PyTorch's names (copies)."""
        return {k: v.copy() for k, v in self._params.items()}

    def load_state_dict(self, state):
        """Load parameters from a dict of NumPy arrays or PyTorch tensors with PyTorch's names
        (e.g. the matching ``torch.nn`` module's ``state_dict()``)."""
        c = self._cls
        shapes = self._shapes()
        missing = sorted(set(shapes) - set(state))
        unexpected = sorted(set(state) - set(shapes))
        if missing or unexpected:
            raise ValueError(
                f"{c}.load_state_dict: missing keys {missing}, unexpected keys {unexpected} "
                f"(expected {sorted(shapes)})"
            )
        new = {}
        for name, shape in shapes.items():
            a = to_numpy(state[name])
            if a.dtype.kind not in "biuf":
                raise TypeError(f"{c}.load_state_dict: {name} has dtype {a.dtype}")
            if a.shape != tuple(shape):
                raise ValueError(
                    f"{c}.load_state_dict: {name} has shape {a.shape}, expected {tuple(shape)}"
                )
            new[name] = np.array(a, dtype=self.dtype)
        self._params = new

    @property
    def num_parameters(self):
        """The number of learnable scalars (PyTorch's count)."""
        return int(sum(v.size for v in self._params.values()))

    @property
    def grads(self):
        """The gradients of the parameters, by ``state_dict()``'s names and shapes: each
        ``vjp`` pullback *adds* into them (PyTorch's ``.grad`` accumulation); ``zero_grad()``
        zeroes them."""
        g = self.__dict__.get("_grads")
        if g is None or set(g) != set(self._params) or any(
                g[k].shape != v.shape or g[k].dtype != v.dtype for k, v in self._params.items()):
            g = self._grads = {k: np.zeros_like(v) for k, v in self._params.items()}
        return g

    def zero_grad(self):
        """Set every gradient in ``grads`` to zero."""
        for g in self.grads.values():
            g[...] = 0

    def __getattr__(self, name):
        if not name.startswith("_"):  # a parameter by name (_params: a dict, or a property)
            params = self._params
            if name in params:
                return params[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
