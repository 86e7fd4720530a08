"""nn.MultiHeadAttention: multi-head attention with PyTorch's parameters, grouped-query heads,
dropout, soft-capping, structured masks and a KV cache."""
import numpy as np

from .. import functional
from .._checks import as_float_operand
from . import heads
from .kv_cache import KVCache
from .layer import AttentionLayer, batch_first_flag
from .module import add_grads, float_dtype, positive_int


class MultiHeadAttention(AttentionLayer):
    """Multi-head attention with PyTorch's parameters.

    ``MultiHeadAttention(embed_dim, num_heads, *, kdim=None, vdim=None, bias=True,
    batch_first=None, dtype=np.float32, seed=None)``

    Two call contracts:

    - cattn's (``batch_first`` not given): inputs (..., L, E) with any leading batch dims (or
      none); ``mha(x)`` returns the output, ``mha(x, return_weights=True)`` returns
      ``(output, weights)``.
    - PyTorch's (``batch_first=True`` or ``False`` given, as in ``torch.nn.MultiheadAttention``,
      or ``need_weights=`` passed to a call): every call returns the pair ``(output, weights)``,
      weights ``None`` with ``need_weights=False``, and ``need_weights`` defaults to True -- so
      ``y, w = mha(x, x, x)`` copied from PyTorch code means what it means there.
      ``batch_first=False`` is PyTorch's default layout, (L, B, E) in and out (weights are
      (B, L, S) as PyTorch's); ``batch_first=True`` is (B, L, E).

    Each of the ``num_heads`` heads has its own W_q, W_k, W_v (rows ``h*d:(h+1)*d`` of the
    projection matrices, ``d = embed_dim // num_heads``); the heads' outputs are concatenated
    and multiplied by W_o. The whole forward pass is one C call.

    Parameters are NumPy arrays named and shaped as in ``torch.nn.MultiheadAttention``:
    ``in_proj_weight (3E, E)`` (or ``q_proj_weight (E, E)``, ``k_proj_weight (E, kdim)``,
    ``v_proj_weight (E, vdim)`` when kdim/vdim differ from embed_dim), ``in_proj_bias (3E)``,
    ``out_proj.weight (E, E)``, ``out_proj.bias (E)``. Initialisation as PyTorch's:
    Xavier-uniform projections, zero biases, and ``U(-1/sqrt(E), 1/sqrt(E))`` for W_o.

    ``dtype`` is float32, float64, or half precision: float16 or ml_dtypes' bfloat16 (also by
    name, ``"bfloat16"``). A half layer keeps its parameters, gradients and KV cache in that
    dtype; its kernels read them as half, compute in float32 and round each result once
    (PyTorch's rule), and ``cattn.nn.SGD``/``Adam`` update half parameters in float32.

    Grouped-query attention: ``num_kv_heads`` (a divisor of ``num_heads``; 1 is multi-query
    attention) key/value heads, query head h reading key/value head ``h // (num_heads //
    num_kv_heads)``; the parameters are then ``q_proj_weight (E, E)``, ``k_proj_weight
    (num_kv_heads*d, kdim)``, ``v_proj_weight (num_kv_heads*d, vdim)``, ``in_proj_bias
    (E + 2*num_kv_heads*d)``. ``dropout`` (PyTorch's argument) drops attention weights in calls
    with ``training=True``. ``new_cache(batch_shape, max_len)`` makes a KV cache for generation
    (``mha(x_new, cache=cache)``).

    Masks: ``attn_mask`` is boolean (**True = may attend**) or floating (added to the scores),
    broadcastable to (..., L, S), or (..., num_heads, L, S) when it has more dimensions than the
    query. ``key_lengths`` (integers, shape (...)) ignores keys at positions >= length. PyTorch's
    ``key_padding_mask`` (..., S), True for keys to *ignore*, is taken as PyTorch takes it (or
    floating, added), combined with ``attn_mask``; ``key_lengths`` says the same of right-padded
    batches in one number per sequence. ``is_causal=True`` beside ``attn_mask`` applies both
    (JAX's rule; PyTorch refuses the pair). A query row that may attend no key
    gives zeros, not NaN.

    Examples
    --------
    >>> import numpy as np, cattn
    >>> mha = cattn.MultiHeadAttention(512, 8, seed=0)
    >>> mha.num_parameters
    1050624
    >>> x = np.zeros((2, 10, 512), np.float32)
    >>> mha(x).shape
    (2, 10, 512)
    >>> out, w = mha(x, return_weights=True)
    >>> w.shape
    (2, 10, 10)
    """

    _cls = "MultiHeadAttention"

    def __init__(self, embed_dim, num_heads, *, num_kv_heads=None, kdim=None, vdim=None,
                 bias=True, dropout=0.0, batch_first=None, dtype=np.float32, seed=None):
        c = self._cls
        self.batch_first = batch_first_flag(c, batch_first)
        self.embed_dim = positive_int(c, "embed_dim", embed_dim)
        self.num_heads = positive_int(c, "num_heads", num_heads)
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"{c}: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"
            )
        self.num_kv_heads = self.num_heads if num_kv_heads is None else \
            positive_int(c, "num_kv_heads", num_kv_heads)
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"{c}: num_heads ({num_heads}) must be a multiple of num_kv_heads "
                             f"({num_kv_heads})")
        self.dropout = functional._real(c, "dropout", dropout)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"{c}: dropout must be in [0, 1), got {dropout!r}")
        self.kdim = self.embed_dim if kdim is None else positive_int(c, "kdim", kdim)
        self.vdim = self.embed_dim if vdim is None else positive_int(c, "vdim", vdim)
        self.head_dim = self.embed_dim // self.num_heads
        self.bias = bool(bias)
        self.dtype = float_dtype(c, dtype, half=True)
        self._same_embed = self.kdim == self.embed_dim and self.vdim == self.embed_dim and \
            self.num_kv_heads == self.num_heads
        rng = np.random.default_rng(seed)
        self._init_parameters(rng)
        self._dropout_rng = rng  # draws each training call's dropout seed

    # ---- parameters ------------------------------------------------------------------------

    def _shapes(self):
        E, Ekv = self.embed_dim, getattr(self, "num_kv_heads", self.num_heads) * self.head_dim
        s = {}
        if self._same_embed:
            s["in_proj_weight"] = (3 * E, E)
        else:
            s["q_proj_weight"] = (E, E)
            s["k_proj_weight"] = (Ekv, self.kdim)
            s["v_proj_weight"] = (Ekv, self.vdim)
        if self.bias:
            s["in_proj_bias"] = (E + 2 * Ekv,)
        s["out_proj.weight"] = (E, E)
        if self.bias:
            s["out_proj.bias"] = (E,)
        return s

    def _init_parameters(self, rng):
        E = self.embed_dim
        p = {}
        for name, shape in self._shapes().items():
            if name.endswith("bias"):
                p[name] = np.zeros(shape, self.dtype)
            elif name == "out_proj.weight":  # nn.Linear's default: kaiming_uniform(a=sqrt(5))
                bound = 1.0 / np.sqrt(E)
                p[name] = rng.uniform(-bound, bound, shape).astype(self.dtype)
            else:  # xavier_uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))
                bound = np.sqrt(6.0 / (shape[0] + shape[1]))
                p[name] = rng.uniform(-bound, bound, shape).astype(self.dtype)
        self._params = p

    def __repr__(self):
        extra = "" if self.kdim == self.embed_dim and self.vdim == self.embed_dim else \
            f", kdim={self.kdim}, vdim={self.vdim}"
        if self.num_kv_heads != self.num_heads:
            extra = f", num_kv_heads={self.num_kv_heads}" + extra
        if self.dropout:
            extra += f", dropout={self.dropout}"
        return (
            f"{self._cls}(embed_dim={self.embed_dim}, num_heads={self.num_heads}"
            f"{extra}, head_dim={self.head_dim}, bias={self.bias}, dtype={self.dtype.name}, "
            f"parameters={self.num_parameters:,})"
        )

    # ---- the per-head views the C kernel takes (no copies) ---------------------------------

    def head_weights(self):
        """(wq, wk, wv, wo, bq, bk, bv, bo): views of the parameters, per head.

        wq (H, E, d), wk (Hkv, kdim, d), wv (Hkv, vdim, d), wo (H, d, E), bq (H, d), bk/bv
        (Hkv, d), bo (E), biases None with ``bias=False``; Hkv = ``num_kv_heads`` (H unless the
        layer is grouped-query: query head h then uses key/value head h // (H // Hkv))."""
        return heads.per_head(self._projections())

    def _projections(self):
        """The projections in PyTorch's layout, views of the parameters where _rows says each
        lives (heads.Projections)."""
        def view(which, bias):
            if bias and not self.bias:
                return None
            name, rows = self._rows(which, bias)
            return self._params[name] if rows is None else self._params[name][rows]
        which = ("q", "k", "v", "out")
        return heads.Projections(tuple(view(w, False) for w in which) +
                                 tuple(view(w, True) for w in which), self.num_heads,
                                 self.num_kv_heads, self.head_dim)

    # ---- forward ---------------------------------------------------------------------------

    def _inputs(self, query, key, value):
        c = self._cls
        def operand(name, x):  # in the layer's dtype (a bfloat16 input is not widened first)
            return as_float_operand(c, name, x, 2, half=True).astype(self.dtype, copy=False)
        q = operand("query", query)
        k = q if key is None else operand("key", key)
        v = k if value is None else operand("value", value)
        for name, x, want in (("query", q, self.embed_dim), ("key", k, self.kdim),
                              ("value", v, self.vdim)):
            if x.shape[-1] != want:
                raise ValueError(
                    f"{c}: {name} has {x.shape[-1]} features (shape {x.shape}) but the module "
                    f"expects {want}"
                )
        return q, k, v

    def _attend(self, q, k, v, call, grad):
        """The layer's one route to the kernels: its inputs checked, its projections and the
        call handed to heads.attend (which picks the fused or the composed route), and the
        pullback's projection gradients added into ``grads`` by the one scatter."""
        cache = call["cache"]
        if cache is not None and not isinstance(cache, KVCache):
            raise TypeError(f"{self._cls}: cache must come from new_cache, got {type(cache)}")
        if cache is not None and cache.module is not self:
            raise ValueError(f"{self._cls}: this cache belongs to another module")
        q, k, v = self._inputs(q, k, v)
        res, back = heads.attend(self._cls, self._projections(), q, k, v, call, grad)
        if not grad:
            return res, None

        def back_and_scatter(g):
            dx, projection_grads = back(g)
            self._scatter(*projection_grads)
            return dx
        return res, back_and_scatter

    def _scatter(self, dWq, dWk, dWv, dWo, dbq, dbk, dbv, dbo):
        """The one gradient scatter: the projections' gradients in PyTorch's layout (dWq (E, E),
        dWk (Hkv·d, kdim), dWv (Hkv·d, vdim), dWo (E, E), biases or None) added into ``grads``
        where each lives (``in_proj_weight``'s rows, or its own parameter). Both routes (fused,
        composed) end here, after every gradient is computed: a failure adds nothing."""
        which = ("q", "k", "v", "out")
        adds = [self._rows(w) + (dW,) for w, dW in zip(which, (dWq, dWk, dWv, dWo))]
        if self.bias:
            adds += [self._rows(w, bias=True) + (db,)
                     for w, db in zip(which, (dbq, dbk, dbv, dbo))]
        add_grads(self, adds)

    # ---- grouped-query heads, dropout, soft cap, structured masks, the KV cache ----------------

    def new_cache(self, batch_shape, max_len, dtype=None):
        """An empty KV cache for ``mha(x_new, cache=cache)``: keys and values of up to
        ``max_len`` positions for inputs of batch shape ``batch_shape`` (``()`` for unbatched
        (L, E) inputs), ``(*batch_shape, num_kv_heads, max_len, head_dim)`` each, in the module's
        dtype, or in ``dtype``: float16 or bfloat16 (ml_dtypes) halve the bytes decoding reads,
        and the kernels read them as half. ``cache.length`` is the number of positions cached."""
        return KVCache(self, batch_shape, max_len, dtype)

    def _rows(self, which, bias=False):
        """(parameter name, rows or None): where the gradient of projection `which` ("q", "k",
        "v" or "out"), or of its bias, lives in ``grads``."""
        if which == "out":
            return ("out_proj.bias" if bias else "out_proj.weight"), None
        E, Ekv = self.embed_dim, self.num_kv_heads * self.head_dim
        rows = {"q": slice(0, E), "k": slice(E, E + Ekv), "v": slice(E + Ekv, E + 2 * Ekv)}[which]
        if bias:
            return "in_proj_bias", rows
        if self._same_embed:
            return "in_proj_weight", rows
        return which + "_proj_weight", None

    def _steps(self, q, k, v, attn_mask, key_lengths, is_causal, query_labels, key_labels):
        from ..steps import compute_steps

        q, k, v = self._inputs(q, k, v)
        return compute_steps(self._cls, q, k, v, self.head_weights(), attn_mask, key_lengths,
                             is_causal, query_labels, key_labels)
