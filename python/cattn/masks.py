"""Structured masks: the attention patterns the kernels know by their shape, so they skip what the
pattern excludes block by block instead of reading an (L, S) array.

Each is passed as ``attn_mask`` and each is also a boolean array on demand -- ``np.asarray(mask)``
is (L, S), True = may attend -- to print, plot (``cattn.plot_attention(w, mask=mask)``) or combine
by hand (``np.asarray(a) & b``, which then travels as an ordinary boolean mask).

Query i may attend key j when ``i + lo <= j <= i + hi`` (one band of diagonals):

=========================================  ==============================  ==================
mask                                       rule                            PyTorch / JAX
=========================================  ==============================  ==================
``causal_upper_left(L, S)``                j <= i  (``is_causal=True``)     ``causal_upper_left``
``causal_lower_right(L, S)``               j <= i + S - L                  ``causal_lower_right``
``sliding_window(L, S, left, right=0)``    i - left <= j <= i + right      ``local_window_size``
=========================================  ==============================  ==================

The lower-right alignment is the one of a KV cache: the last query is the newest token and sees
every key; a single query (L = 1) sees all S keys.
"""
import operator

import numpy as np

__all__ = ["StructuredMask", "causal_upper_left", "causal_lower_right", "sliding_window"]


class StructuredMask:
    """A band of diagonals of an (L, S) attention: query i may attend keys i+lo <= j <= i+hi.

    Made by :func:`causal_upper_left`, :func:`causal_lower_right` and :func:`sliding_window`.
    ``np.asarray(mask)`` gives the boolean (L, S) array (True = may attend). A call whose query
    and key lengths are not (L, S) refuses it, even where an array of that shape would broadcast.

    >>> import numpy as np, cattn
    >>> m = cattn.sliding_window(3, 3, 1)
    >>> m, m.shape, (m.lo, m.hi)
    (cattn.sliding_window(3, 3, 1, 0), (3, 3), (-1, 0))
    >>> np.asarray(m).astype(int)
    array([[1, 0, 0],
           [1, 1, 0],
           [0, 1, 1]])
    """

    __slots__ = ("name", "shape", "lo", "hi", "_args")
    ndim = 2
    dtype = np.dtype(bool)

    def __init__(self, name, L, S, lo, hi, args):
        self.name, self.shape, self.lo, self.hi, self._args = name, (L, S), lo, hi, args

    def __array__(self, dtype=None, copy=None):
        L, S = self.shape
        d = np.arange(S)[None, :] - np.arange(L)[:, None]  # j - i
        m = d <= self.hi
        if self.lo is not None:
            m &= d >= self.lo
        return m if dtype is None else m.astype(dtype)

    def __repr__(self):
        return f"cattn.{self.name}({', '.join(map(str, self._args))})"

    def _repr_html_(self):
        """Jupyter's view: the mask drawn as a small grid, with its (L, S) and its rule."""
        from ._html import mask_html

        return mask_html(self)

    def __eq__(self, other):
        return isinstance(other, StructuredMask) and (self.name, self._args) == (other.name,
                                                                                   other._args)

    def __hash__(self):
        return hash((self.name, self._args))


def _size(fname, name, x):
    try:
        n = operator.index(x)
    except TypeError:
        raise TypeError(f"{fname}: {name} must be an integer, got {x!r}") from None
    if n < 0:
        raise ValueError(f"{fname}: {name} must be >= 0, got {n}")
    if n >= 2**62:  # the kernels' band offsets are int64; wider than any sequence anyway
        raise ValueError(f"{fname}: {name} must be < 2**62, got {n}")
    return n


def causal_upper_left(L, S):
    """Query i attends keys j <= i: the causal mask aligned to the top-left corner, the same as
    ``is_causal=True`` (PyTorch's ``causal_upper_left``).

    >>> import numpy as np, cattn
    >>> np.asarray(cattn.causal_upper_left(2, 3)).astype(int)
    array([[1, 0, 0],
           [1, 1, 0]])
    """
    L, S = _size("causal_upper_left", "L", L), _size("causal_upper_left", "S", S)
    return StructuredMask("causal_upper_left", L, S, None, 0, (L, S))


def causal_lower_right(L, S):
    """Query i attends keys j <= i + S - L: the causal mask aligned to the bottom-right corner,
    where the last query sees every key -- the KV-cache case, L new tokens after S - L cached
    ones (PyTorch's ``causal_lower_right``). With L > S the first L - S queries see no key and
    get zeros.

    >>> import numpy as np, cattn
    >>> np.asarray(cattn.causal_lower_right(2, 3)).astype(int)
    array([[1, 1, 0],
           [1, 1, 1]])
    """
    L, S = _size("causal_lower_right", "L", L), _size("causal_lower_right", "S", S)
    return StructuredMask("causal_lower_right", L, S, None, S - L, (L, S))


def sliding_window(L, S, left, right=0):
    """Query i attends keys i - left <= j <= i + right, top-left aligned as written (JAX's
    ``local_window_size=(left, right)``); ``right=0`` is causal local attention (Mistral,
    Gemma 2's local layers).

    >>> import numpy as np, cattn
    >>> np.asarray(cattn.sliding_window(4, 4, 1)).astype(int)
    array([[1, 0, 0, 0],
           [1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """
    f = "sliding_window"
    L, S = _size(f, "L", L), _size(f, "S", S)
    left, right = _size(f, "left", left), _size(f, "right", right)
    return StructuredMask("sliding_window", L, S, -left, right, (L, S, left, right))
