"""nn.LayerNorm: PyTorch's layer normalisation, with its pullback."""
import numpy as np

from .._checks import is_half
from .module import Module, add_grads, cotangent, float_dtype, layer_input, positive_int


class LayerNorm(Module):
    """PyTorch's ``nn.LayerNorm``: over the last ``len(normalized_shape)`` dimensions,
    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` (biased variance); ``weight`` ones,
    ``bias`` zeros, both of shape ``normalized_shape``. ``dtype`` float16 or bfloat16: the
    parameters and the output in that dtype, the statistics and the pullback in float32.

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
        self.dtype = float_dtype(self._cls, dtype, half=True)
        self._work = np.dtype(np.float32) if is_half(self.dtype) else self.dtype  # computes in
        self._params = {}
        if elementwise_affine:
            self._params["weight"] = np.ones(self.normalized_shape, self.dtype)
            if bias:
                self._params["bias"] = np.zeros(self.normalized_shape, self.dtype)

    def __repr__(self):
        return (f"LayerNorm({self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={'weight' in self._params}, dtype={self.dtype.name})")

    def _normalise(self, x):
        x = layer_input(self, x, self.normalized_shape).astype(self._work, copy=False)
        axes = tuple(range(-len(self.normalized_shape), 0))
        mu = x.mean(axis=axes, keepdims=True)
        xc = x - mu
        rstd = 1 / np.sqrt((xc * xc).mean(axis=axes, keepdims=True) + self.eps)
        return xc * rstd, rstd, axes

    def _affine(self, xhat):
        p, w = self._params, self._work
        y = xhat * p["weight"].astype(w, copy=False) if "weight" in p else xhat
        y = y + p["bias"].astype(w, copy=False) if "bias" in p else y
        return y.astype(self.dtype, copy=False)

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
            dy = cotangent(self, dy, y).astype(self._work, copy=False)
            lead = tuple(range(dy.ndim - len(self.normalized_shape)))
            g, adds = self.grads, []  # every gradient first, then added: a failure adds nothing
            if "bias" in g:
                adds.append(("bias", dy.sum(axis=lead)))
            if "weight" in g:
                adds.append(("weight", (dy * xhat).sum(axis=lead)))
                dy = dy * self._params["weight"].astype(self._work, copy=False)
            # dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ∘ x̂)), dx̂ = dy ∘ weight
            m1 = dy.sum(axis=axes, keepdims=True) / n
            m2 = (dy * xhat).sum(axis=axes, keepdims=True) / n
            dx = (rstd * (dy - m1 - xhat * m2)).astype(self.dtype, copy=False)
            add_grads(self, [(name, None, v) for name, v in adds])  # (float32: rounded once)
            return dx
        return y, pullback
