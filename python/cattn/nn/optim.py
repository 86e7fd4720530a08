"""nn.SGD and nn.Adam: PyTorch's optimisers over cattn modules' parameters and grads."""
import numbers

import numpy as np

from .._checks import is_half
from .module import Module


def _working(p, g):
    """(p, g) in the dtype an update computes in: float32 for a half parameter (float16's
    eps = 1e-8 and g² underflow to 0 and Adam's step divides by it; PyTorch's mixed-precision
    recipes keep their statistics in float32 too), the parameter's own dtype otherwise.  The new
    parameter is rounded once, when it is written."""
    if is_half(p.dtype):
        return p.astype(np.float32), g.astype(np.float32)
    return p, g


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
    them: a refused step changes no parameter and no state.  Half-precision parameters (float16,
    bfloat16) are updated in float32 with their state in float32, and rounded once."""

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


class SGD(_Optimizer):
    """PyTorch's ``torch.optim.SGD``: ``b = momentum·b + g`` (``b = g`` on the first step),
    ``p -= lr·b``; with ``momentum=0``, ``p -= lr·g``. ``step()`` reads the modules' ``grads``
    and updates their parameters in place; ``zero_grad()`` clears the gradients."""

    def __init__(self, modules, lr, momentum=0.0):
        self.momentum = momentum
        super().__init__(modules, lr)
        self.lr, self.momentum = self._settings()

    def _settings(self):
        return (_setting("SGD", "lr", self.lr), _setting("SGD", "momentum", self.momentum))

    def _update(self, settings, key, p, g):
        lr, momentum = settings
        p, g = _working(p, g)
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
        p, g = _working(p, g)
        if weight_decay:
            g = g + weight_decay * p
        m, v = self.state.get(key) or (np.zeros_like(p), np.zeros_like(p))
        m = m * b1 + (1 - b1) * g
        v = v * b2 + (1 - b2) * g * g
        return p - (lr / c1 * m / (np.sqrt(v / c2) + eps)).astype(p.dtype, copy=False), (m, v)

    def step(self):
        super().step()
        self.t += 1  # after a step that was taken: a refused one raised above
