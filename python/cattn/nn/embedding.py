"""nn.Embedding (a lookup table) and nn.PositionalEncoding (the Transformer's sinusoids)."""
import numpy as np

from .._checks import is_half
from .module import Module, cotangent, float_dtype, layer_input, positive_int


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
        self.dtype = float_dtype(c, dtype, half=True)
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
            if starts.size:  # (half rows summed in float32, rounded once)
                rows = dy[order].astype(np.float32) if is_half(dy.dtype) else dy[order]
                sums = np.add.reduceat(rows, starts, axis=0).astype(dy.dtype, copy=False)
                self.grads["weight"][flat[starts]] += sums
            return None
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
        self.dtype = float_dtype(self._cls, dtype, half=True)
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
        x = layer_input(self, x, (self.d_model,))
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
