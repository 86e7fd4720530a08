"""nn.KVCache: the keys and values a MultiHeadAttention has seen, for generation."""
import contextlib
import operator
import threading

import numpy as np

from .._checks import is_half
from .module import as_dtype, positive_int


class KVCache:
    """The keys and values a MultiHeadAttention has seen, for generation one step at a time:
    ``cache = mha.new_cache(batch_shape, max_len)``, then ``y = mha(x_new, cache=cache)`` for
    each new chunk (one token or several). ``cache.k`` and ``cache.v`` are
    ``(*batch_shape, num_kv_heads, max_len, head_dim)``; the first ``cache.length`` positions are
    filled. They are in the module's dtype, or in ``new_cache(..., dtype=...)``: float16 or
    ml_dtypes' bfloat16 halve the cache's bytes, which decoding reads as half (the new keys and
    values are rounded as they are appended; the query is rounded to the cache's dtype and the
    attention computed in float32, then the output projection in the module's dtype). A call that would pass ``max_len`` raises ValueError and leaves the cache as it was;
    so does any refused call (a bad ``softcap``, ``query_lengths``, input shape ...): the cache is
    bit for bit what it was before, and a retry appends the token once. Calls that share a cache
    from several threads are serialised (a lock per cache): each appends its positions after
    the others', none is lost, in the order the threads get the lock.

    >>> import numpy as np, cattn
    >>> mha = cattn.MultiHeadAttention(16, 4, num_kv_heads=2, seed=0)
    >>> cache = mha.new_cache((1,), max_len=8)
    >>> for t in range(3):
    ...     y = mha(np.ones((1, 1, 16), np.float32), cache=cache)
    >>> cache.length, y.shape
    (3, (1, 1, 16))
    """

    def __init__(self, module, batch_shape, max_len, dtype=None):
        c = f"{module._cls}.new_cache"
        try:
            batch_shape = tuple(int(operator.index(b)) for b in np.atleast_1d(batch_shape)) \
                if np.ndim(batch_shape) else (() if batch_shape == () else
                                              (operator.index(batch_shape),))
        except TypeError:
            raise TypeError(f"{c}: batch_shape must be a tuple of integers, got "
                            f"{batch_shape!r}") from None
        if any(b < 0 for b in batch_shape):
            raise ValueError(f"{c}: batch_shape must be non-negative, got {batch_shape}")
        self.module, self.batch_shape = module, batch_shape
        self.max_len = positive_int(c, "max_len", max_len)
        dtype = self._dtype(c, module, dtype)
        shape = batch_shape + (module.num_kv_heads, self.max_len, module.head_dim)
        self.k, self.v = np.zeros(shape, dtype), np.zeros(shape, dtype)
        self.length = 0
        self._lock = threading.Lock()

    @staticmethod
    def _dtype(c, module, dtype):
        """The module's dtype (None), or a half one: float16, or ml_dtypes' bfloat16 (by dtype
        or by name)."""
        if dtype is None:
            return np.dtype(module.dtype)
        dt = as_dtype(c, dtype)
        if dt is not None and (dt == module.dtype or is_half(dt)):
            return dt
        raise TypeError(f"{c}: dtype must be the module's ({np.dtype(module.dtype)}), float16 or "
                        f"bfloat16, got {dtype!r}")

    @property
    def half(self):
        """Is the cache in a 2-byte float (float16, bfloat16) the module does not compute in?"""
        return is_half(self.k.dtype) and self.k.dtype != self.module.dtype

    def __repr__(self):
        return (f"KVCache(batch_shape={self.batch_shape}, length={self.length}, "
                f"max_len={self.max_len}, dtype={self.k.dtype.name})")

    def _repr_html_(self):
        """Jupyter's view: how full the cache is, per batch item."""
        from .._html import cache_html

        return cache_html(self)

    @contextlib.contextmanager
    def _appending(self, k, v):
        """Write n new positions (*batch_shape, num_kv_heads, n, head_dim) after the cached ones
        and yield where they start; the cache's lock is held until the block ends, and if the
        block raises, the cache is put back bit for bit (the positions written and the length).
        So calls sharing a cache run one after another, and a refused call appends nothing."""
        c = f"{self.module._cls}"
        want = self.batch_shape + self.k.shape[-3:-2]
        if k.shape[:-2] != want:
            raise ValueError(f"{c}: the input's batch shape {k.shape[:-3]} does not match the "
                             f"cache's {self.batch_shape} (new_cache(batch_shape, max_len))")
        if self.k.dtype != k.dtype and not self.half:  # (a half cache: rounded below)
            raise ValueError(f"{c}: the input computes in {k.dtype} but the cache holds "
                             f"{self.k.dtype}")
        n = k.shape[-2]
        with self._lock:
            start = self.length
            if start + n > self.max_len:
                raise ValueError(f"{c}: the cache holds {start} of max_len={self.max_len} "
                                 f"positions; {n} more do not fit")
            where = (..., slice(start, start + n), slice(None))
            old = self.k[where].copy(), self.v[where].copy()
            self.k[where], self.v[where] = k.astype(self.k.dtype, copy=False), \
                v.astype(self.v.dtype, copy=False)
            self.length = start + n
            try:
                yield start
            except BaseException:
                self.k[where], self.v[where] = old
                self.length = start
                raise
