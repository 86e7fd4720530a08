"""cattn.nn: the few layers, the loss and the optimisers a small attention model needs.

Each layer is a ``cattn`` module (``_module.Module``): NumPy parameters under PyTorch's names and
initialisation, ``state_dict``/``load_state_dict``, ``grads`` and ``zero_grad``, and
``y, pullback = layer.vjp(x)`` whose pullback returns the input's gradient and *adds* the
parameters' gradients into ``grads``. They are plain NumPy (they are not attention); the
attention layers are ``cattn.MultiHeadAttention``, ``cattn.Attention`` and
``cattn.AdditiveAttention``. A training step::

    y, back = model.vjp(x)                      # any chain of vjp's
    loss, dloss = cattn.vjp(cross_entropy, y, targets)
    back(dloss(1.0)[0])
    opt.step(); opt.zero_grad()

>>> import numpy as np, cattn
>>> lin = cattn.nn.Linear(4, 2, seed=0)
>>> y, back = lin.vjp(np.ones((3, 4)))
>>> back(np.ones_like(y)).shape, lin.grads["bias"]
((3, 4), array([3., 3.], dtype=float32))
"""
import numbers

import numpy as np

from . import _cattn
from ._checks import as_float_operand
from .gradients import _cotangent
from ._module import Module, cotangent, float_dtype, positive_int, uniform

__all__ = ["Linear", "Embedding", "LayerNorm", "PositionalEncoding", "cross_entropy", "SGD",
           "Adam", "Module"]


def _input(layer, x, features):
    a = as_float_operand(layer._cls, "input", x, 1).astype(layer.dtype, copy=False)
    if features is not None and a.shape[-len(features):] != tuple(features):
        raise ValueError(f"{layer._cls}: input has shape {a.shape}, its last dimensions must be "
                         f"{tuple(features)}")
    return a


def _sum_rows(g, n):
    """g (..., n) summed over every leading dimension -> (n,)."""
    return g.reshape(-1, n).sum(axis=0)


class Linear(Module):
    """``y = x Wᵀ + b``, PyTorch's ``nn.Linear``: ``weight (out_features, in_features)``,
    ``bias (out_features)``, both ``U(-1/sqrt(in_features), 1/sqrt(in_features))``.

    >>> import numpy as np, cattn
    >>> lin = cattn.nn.Linear(3, 2, seed=0)
    >>> lin(np.ones((4, 3))).shape
    (4, 2)
    """

    _cls = "Linear"

    def __init__(self, in_features, out_features, bias=True, *, dtype=np.float32, seed=None):
        c = self._cls
        self.in_features = positive_int(c, "in_features", in_features)
        self.out_features = positive_int(c, "out_features", out_features)
        self.dtype = float_dtype(c, dtype)
        rng = np.random.default_rng(seed)
        bound = 1 / np.sqrt(self.in_features)
        self._params = {"weight": uniform(rng, bound, (self.out_features, self.in_features),
                                          self.dtype)}
        if bias:
            self._params["bias"] = uniform(rng, bound, (self.out_features,), self.dtype)

    def __repr__(self):
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={'bias' in self._params}, dtype={self.dtype.name})")

    def __call__(self, x):
        x = _input(self, x, (self.in_features,))
        y = _cattn.matmul(x, self._params["weight"].T)
        if "bias" in self._params:
            y += self._params["bias"]
        return y

    forward = __call__

    def vjp(self, x):
        """``y, pullback = lin.vjp(x)``; ``pullback(dy)`` returns dx and adds dW = Σ dyᵀx and
        db = Σ dy into ``grads``."""
        x = _input(self, x, (self.in_features,))
        y = self(x)

        def pullback(dy):
            dy = cotangent(self, dy, y)
            g = self.grads
            g["weight"] += _cattn.matmul(dy.reshape(-1, self.out_features).T,
                                         x.reshape(-1, self.in_features))
            if "bias" in g:
                g["bias"] += _sum_rows(dy, self.out_features)
            return _cattn.matmul(dy, self._params["weight"])
        return y, pullback


class Embedding(Module):
    """A lookup table, PyTorch's ``nn.Embedding``: ``weight (num_embeddings, embedding_dim)``,
    ``N(0, 1)``; the row ``padding_idx`` (if given) starts at zero and gets no gradient.
    ``emb(indices)`` takes integers of any shape and returns (..., embedding_dim).

    >>> import numpy as np, cattn
    >>> emb = cattn.nn.Embedding(10, 4, seed=0)
    >>> emb(np.array([[1, 2, 3]])).shape
    (1, 3, 4)
    """

    _cls = "Embedding"

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, *, dtype=np.float32,
                 seed=None):
        c = self._cls
        self.num_embeddings = positive_int(c, "num_embeddings", num_embeddings)
        self.embedding_dim = positive_int(c, "embedding_dim", embedding_dim)
        self.dtype = float_dtype(c, dtype)
        if padding_idx is not None:
            if not -self.num_embeddings <= int(padding_idx) < self.num_embeddings:
                raise ValueError(f"{c}: padding_idx {padding_idx} is not in "
                                 f"[-{self.num_embeddings}, {self.num_embeddings})")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        rng = np.random.default_rng(seed)
        w = rng.standard_normal((self.num_embeddings, self.embedding_dim)).astype(self.dtype)
        if padding_idx is not None:
            w[padding_idx] = 0
        self._params = {"weight": w}

    def __repr__(self):
        return (f"Embedding({self.num_embeddings}, {self.embedding_dim}, "
                f"padding_idx={self.padding_idx}, dtype={self.dtype.name})")

    def _indices(self, idx):
        i = np.asarray(idx)
        if i.dtype.kind not in "iu":
            raise TypeError(f"{self._cls}: indices must be integers, got dtype {i.dtype}")
        if i.size and (i.min() < 0 or i.max() >= self.num_embeddings):
            raise ValueError(f"{self._cls}: indices must be in [0, {self.num_embeddings}), got "
                             f"values from {i.min()} to {i.max()}")
        return i

    def __call__(self, indices):
        return self._params["weight"][self._indices(indices)]

    forward = __call__

    def vjp(self, indices):
        """``y, pullback = emb.vjp(indices)``; ``pullback(dy)`` adds dy into the rows of
        ``grads["weight"]`` that were looked up (not the padding row) and returns None (integer
        indices have no gradient)."""
        i = self._indices(indices)
        y = self._params["weight"][i]

        def pullback(dy):
            dy = cotangent(self, dy, y).reshape(-1, self.embedding_dim)
            flat = i.reshape(-1)
            if self.padding_idx is not None:
                keep = flat != self.padding_idx
                flat, dy = flat[keep], dy[keep]
            # the rows of dy summed per index (np.add.at's result, by sorting: much faster)
            order = np.argsort(flat, kind="stable")
            flat = flat[order]
            starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
            if starts.size:
                self.grads["weight"][flat[starts]] += np.add.reduceat(dy[order], starts, axis=0)
            return None
        return y, pullback


class LayerNorm(Module):
    """PyTorch's ``nn.LayerNorm``: over the last ``len(normalized_shape)`` dimensions,
    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` (biased variance); ``weight`` ones,
    ``bias`` zeros, both of shape ``normalized_shape``.

    >>> import numpy as np, cattn
    >>> ln = cattn.nn.LayerNorm(4)
    >>> np.round(ln(np.array([1.0, 2.0, 3.0, 4.0])), 3)
    array([-1.342, -0.447,  0.447,  1.342], dtype=float32)
    """

    _cls = "LayerNorm"

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, *,
                 dtype=np.float32):
        shape = (normalized_shape,) if np.ndim(normalized_shape) == 0 else normalized_shape
        self.normalized_shape = tuple(positive_int(self._cls, "normalized_shape", n)
                                      for n in shape)
        if not eps > 0:
            raise ValueError(f"{self._cls}: eps must be positive, got {eps}")
        self.eps = float(eps)
        self.dtype = float_dtype(self._cls, dtype)
        self._params = {}
        if elementwise_affine:
            self._params["weight"] = np.ones(self.normalized_shape, self.dtype)
            if bias:
                self._params["bias"] = np.zeros(self.normalized_shape, self.dtype)

    def __repr__(self):
        return (f"LayerNorm({self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={'weight' in self._params}, dtype={self.dtype.name})")

    def _normalise(self, x):
        x = _input(self, x, self.normalized_shape)
        axes = tuple(range(-len(self.normalized_shape), 0))
        mu = x.mean(axis=axes, keepdims=True)
        xc = x - mu
        rstd = 1 / np.sqrt((xc * xc).mean(axis=axes, keepdims=True) + self.eps)
        return xc * rstd, rstd, axes

    def _affine(self, xhat):
        p = self._params
        y = xhat * p["weight"] if "weight" in p else xhat
        return y + p["bias"] if "bias" in p else y

    def __call__(self, x):
        return self._affine(self._normalise(x)[0])

    forward = __call__

    def vjp(self, x):
        """``y, pullback = ln.vjp(x)``; ``pullback(dy)`` returns dx and adds dweight, dbias."""
        xhat, rstd, axes = self._normalise(x)
        y = self._affine(xhat)
        if y is xhat:  # no affine: the caller's y must not be the backward's x̂
            y = xhat.copy()
        n = int(np.prod(self.normalized_shape))

        def pullback(dy):
            dy = cotangent(self, dy, y)
            lead = tuple(range(dy.ndim - len(self.normalized_shape)))
            g = self.grads
            if "bias" in g:
                g["bias"] += dy.sum(axis=lead)
            if "weight" in g:
                g["weight"] += (dy * xhat).sum(axis=lead)
                dy = dy * self._params["weight"]
            # dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ∘ x̂)), dx̂ = dy ∘ weight
            m1 = dy.sum(axis=axes, keepdims=True) / n
            m2 = (dy * xhat).sum(axis=axes, keepdims=True) / n
            return (rstd * (dy - m1 - xhat * m2)).astype(self.dtype, copy=False)
        return y, pullback


class PositionalEncoding(Module):
    """The Transformer paper's sinusoidal positions: ``pe(x) = x + table[:L]`` for x
    (..., L, d_model), where ``table[p, 2i] = sin(p / 10000^(2i/d))`` and
    ``table[p, 2i+1] = cos(p / 10000^(2i/d))``. No parameters, no scaling, no dropout.

    >>> import numpy as np, cattn
    >>> pe = cattn.nn.PositionalEncoding(4, max_len=10)
    >>> np.round(pe.table[1], 3)
    array([0.841, 0.54 , 0.01 , 1.   ], dtype=float32)
    """

    _cls = "PositionalEncoding"

    def __init__(self, d_model, max_len=5000, *, dtype=np.float32):
        self.d_model = positive_int(self._cls, "d_model", d_model)
        self.max_len = positive_int(self._cls, "max_len", max_len)
        self.dtype = float_dtype(self._cls, dtype)
        pos = np.arange(self.max_len)[:, None]
        freq = np.exp(-np.log(10000.0) * np.arange(0, self.d_model, 2) / self.d_model)
        table = np.zeros((self.max_len, self.d_model))
        table[:, 0::2] = np.sin(pos * freq)
        table[:, 1::2] = np.cos(pos * freq[: self.d_model // 2])
        self.table = table.astype(self.dtype)
        self._params = {}

    def __repr__(self):
        return f"PositionalEncoding(d_model={self.d_model}, max_len={self.max_len})"

    def __call__(self, x):
        x = _input(self, x, (self.d_model,))
        if x.ndim < 2:
            raise ValueError(f"{self._cls}: input must be (..., L, d_model), got shape {x.shape}")
        L = x.shape[-2]
        if L > self.max_len:
            raise ValueError(f"{self._cls}: {L} positions but max_len is {self.max_len}")
        return x + self.table[:L]

    forward = __call__

    def vjp(self, x):
        """``y, pullback = pe.vjp(x)``; the pullback is the identity."""
        y = self(x)
        return y, lambda dy: cotangent(self, dy, y)


def cross_entropy(logits, targets, *, ignore_index=-100):
    """The mean negative log-likelihood of integer targets under ``softmax(logits)``, PyTorch's
    ``F.cross_entropy`` with the classes on the **last** axis: logits (..., C), targets (...)
    of integers in [0, C), or ``ignore_index`` for positions that do not count. The mean is over
    the targets not ignored (NaN when every target is ignored, as PyTorch; the gradient is then
    zero, so a training step on such a batch changes nothing). Differentiable in ``logits``
    through ``cattn.vjp``.

    >>> import numpy as np, cattn
    >>> round(float(cattn.nn.cross_entropy(np.zeros((2, 4)), np.array([1, 3]))), 4)  # log 4
    1.3863
    """
    loss, _ = _cross_entropy(logits, targets, ignore_index)
    return loss


def _cross_entropy(logits, targets, ignore_index):
    fname = "cross_entropy"
    z = as_float_operand(fname, "logits", logits, 1)
    if z.dtype.kind != "f":
        z = z.astype(np.float64)
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
        return (d.astype(dtype if dtype.kind == "f" else z.dtype, copy=False), None)
    return loss, pullback


cross_entropy._cattn_vjp = _vjp_cross_entropy
cross_entropy._cattn_arg_names = ("logits", "targets")


# ---- optimisers ------------------------------------------------------------------------------

def _setting(cls, name, x, lo=0.0, below=None):
    """An optimiser's number, checked: real, >= lo (and < below), else an error naming it."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{cls}: {name} must be a real number, got {x!r}")
    x = float(x)
    if not x >= lo or below is not None and not x < below:
        span = f">= {lo:g}" if below is None else f"in [{lo:g}, {below:g})"
        raise ValueError(f"{cls}: {name} must be {span}, got {x!r}")
    return x


class _Optimizer:
    """What SGD and Adam share. ``step()`` first checks its settings (``lr`` ... may be changed
    between steps, as a schedule does), then computes every new parameter and state, then writes
    them: a refused step changes no parameter and no state."""

    def __init__(self, modules, lr):
        if isinstance(modules, Module):
            modules = [modules]
        self.modules = list(modules)
        for m in self.modules:
            if not isinstance(m, Module):
                raise TypeError(f"{type(self).__name__}: modules must be cattn modules, got "
                                f"{type(m).__name__}")
        self.lr = lr
        self.state = {}  # (module index, parameter name) -> the optimiser's arrays
        self._settings()

    def _each(self):
        for i, m in enumerate(self.modules):
            grads = m.grads
            for name, p in m._params.items():
                yield (i, name), p, grads[name]

    def zero_grad(self):
        """Zero the gradients of every module."""
        for m in self.modules:
            m.zero_grad()

    def step(self):
        """Update every parameter from its gradient (in place), and the optimiser's state."""
        settings = self._settings()
        updates = [(key, p) + self._update(settings, key, p, g) for key, p, g in self._each()]
        for key, p, new_p, new_state in updates:
            p[...] = new_p
            if new_state is not None:
                self.state[key] = new_state
        self._stepped()

    def _stepped(self):
        pass


class SGD(_Optimizer):
    """PyTorch's ``torch.optim.SGD``: ``b = momentum·b + g`` (``b = g`` on the first step),
    ``p -= lr·b``; with ``momentum=0``, ``p -= lr·g``. ``step()`` reads the modules' ``grads``
    and updates their parameters in place; ``zero_grad()`` clears the gradients."""

    def __init__(self, modules, lr, momentum=0.0):
        self.momentum = momentum
        super().__init__(modules, lr)
        self.momentum = float(momentum)
        self.lr = float(lr)

    def _settings(self):
        return (_setting("SGD", "lr", self.lr), _setting("SGD", "momentum", self.momentum))

    def _update(self, settings, key, p, g):
        lr, momentum = settings
        b = None
        if momentum:
            b = self.state.get(key)
            b = g.copy() if b is None else b * momentum + g
            g = b
        return p - (lr * g).astype(p.dtype, copy=False), b


class Adam(_Optimizer):
    """PyTorch's ``torch.optim.Adam`` (weight decay added to the gradient, as PyTorch's Adam;
    AdamW's decoupled decay is not this): ``m = β1·m + (1-β1)·g``, ``v = β2·v + (1-β2)·g²``,
    ``p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps)``."""

    def __init__(self, modules, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.betas, self.eps, self.weight_decay, self.t = betas, eps, weight_decay, 0
        super().__init__(modules, lr)
        self.lr, self.betas, self.eps, self.weight_decay = self._settings()[:4]

    def _settings(self):
        c = "Adam"
        try:
            b1, b2 = self.betas
        except (TypeError, ValueError):
            raise TypeError(f"{c}: betas must be a pair of numbers, got {self.betas!r}") from None
        betas = (_setting(c, "betas[0]", b1, 0, 1), _setting(c, "betas[1]", b2, 0, 1))
        t = self.t + 1
        return (_setting(c, "lr", self.lr), betas, _setting(c, "eps", self.eps),
                _setting(c, "weight_decay", self.weight_decay),
                1 - betas[0] ** t, 1 - betas[1] ** t)

    def _update(self, settings, key, p, g):
        lr, (b1, b2), eps, weight_decay, c1, c2 = settings
        if weight_decay:
            g = g + weight_decay * p
        m, v = self.state.get(key) or (np.zeros_like(p), np.zeros_like(p))
        m = m * b1 + (1 - b1) * g
        v = v * b2 + (1 - b2) * g * g
        return p - (lr / c1 * m / (np.sqrt(v / c2) + eps)).astype(p.dtype, copy=False), (m, v)

    def _stepped(self):
        self.t += 1
