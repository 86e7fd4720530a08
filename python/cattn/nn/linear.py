"""nn.Linear: y = x Wᵀ + b, PyTorch's layer, with its pullback."""
import numpy as np

from .. import _cattn
from ..gradients import sum_rows
from .module import Module, add_grads, cotangent, float_dtype, layer_input, positive_int, uniform


class Linear(Module):
    """``y = x Wᵀ + b``, PyTorch's ``nn.Linear``: ``weight (out_features, in_features)``,
    ``bias (out_features)``, both ``U(-1/sqrt(in_features), 1/sqrt(in_features))``. ``dtype``:
    float32, float64, float16 or bfloat16 (the product summed in float32 by the half GEMM).

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
        self.dtype = float_dtype(c, dtype, half=True)
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
        x = layer_input(self, x, (self.in_features,))
        y = _cattn.matmul(x, self._params["weight"].T)
        if "bias" in self._params:
            y += self._params["bias"]
        return y

    forward = __call__

    def vjp(self, x):
        """``y, pullback = lin.vjp(x)``; ``pullback(dy)`` returns dx and adds dW = Σ dyᵀx and
        db = Σ dy into ``grads``."""
        x = layer_input(self, x, (self.in_features,))
        y = self(x)

        def pullback(dy):
            dy = cotangent(self, dy, y)
            adds = [("weight", None, _cattn.matmul(dy.reshape(-1, self.out_features).T,
                                                   x.reshape(-1, self.in_features)))]
            if "bias" in self._params:
                adds.append(("bias", None, sum_rows(dy.reshape(-1, self.out_features))))
            dx = _cattn.matmul(dy, self._params["weight"])
            add_grads(self, adds)  # last: a pullback that fails adds nothing
            return dx
        return y, pullback
