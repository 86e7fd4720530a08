"""nn.MultiHeadAttention: multi-head attention with PyTorch's parameters, grouped-query heads,
dropout, soft-capping, structured masks and a KV cache."""
import contextlib

import numpy as np

from .. import _cattn, functional, gradients
from .._checks import as_float_operand, like_input, weights_flag
from .module import Module, add_grads, cotangent, float_dtype, positive_int, with_key_padding

from .kv_cache import KVCache


def _batch_first(cls, batch_first):
    if batch_first is None or isinstance(batch_first, (bool, np.bool_)):
        return None if batch_first is None else bool(batch_first)
    raise TypeError(f"{cls}: batch_first must be True, False or None, got {batch_first!r}")


class MultiHeadAttention(Module):
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
        self.batch_first = _batch_first(c, batch_first)
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
        self.dtype = float_dtype(c, dtype)
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
            f"{type(self).__name__}(embed_dim={self.embed_dim}, num_heads={self.num_heads}"
            f"{extra}, head_dim={self.head_dim}, bias={self.bias}, dtype={self.dtype.name}, "
            f"parameters={self.num_parameters:,})"
        )

    # ---- the per-head views the C kernel takes (no copies) ---------------------------------

    def head_weights(self):
        """(wq, wk, wv, wo, bq, bk, bv, bo): views of the parameters, per head.

        wq (H, E, d), wk (Hkv, kdim, d), wv (Hkv, vdim, d), wo (H, d, E), bq (H, d), bk/bv
        (Hkv, d), bo (E), biases None with ``bias=False``; Hkv = ``num_kv_heads`` (H unless the
        layer is grouped-query: query head h then uses key/value head h // (H // Hkv))."""
        E, H, Hkv, d = self.embed_dim, self.num_heads, self.num_kv_heads, self.head_dim
        Wq, Wk, Wv, Wo, bq, bk, bv, bo = self._projection_weights()
        # row h*d + j of W is output j of head h: (heads*d, E_in) -> (heads, d, E_in) -> (heads, E_in, d)
        wq, wk, wv = (m.reshape(n, d, m.shape[1]).transpose(0, 2, 1)
                      for m, n in ((Wq, H), (Wk, Hkv), (Wv, Hkv)))
        # column h*d + j of W_o multiplies output j of head h: (E, E) -> (E, H, d) -> (H, d, E)
        wo = Wo.reshape(E, H, d).transpose(1, 2, 0)
        if self.bias:
            bq, bk, bv = bq.reshape(H, d), bk.reshape(Hkv, d), bv.reshape(Hkv, d)
        return wq, wk, wv, wo, bq, bk, bv, bo

    # ---- forward ---------------------------------------------------------------------------

    def _inputs(self, query, key, value):
        c = self._cls
        q = as_float_operand(c, "query", query, 2).astype(self.dtype, copy=False)
        k = q if key is None else as_float_operand(c, "key", key, 2).astype(self.dtype, copy=False)
        v = k if value is None else as_float_operand(c, "value", value, 2).astype(self.dtype, copy=False)
        for name, x, want in (("query", q, self.embed_dim), ("key", k, self.kdim),
                              ("value", v, self.vdim)):
            if x.shape[-1] != want:
                raise ValueError(
                    f"{c}: {name} has {x.shape[-1]} features (shape {x.shape}) but the module "
                    f"expects {want}"
                )
        return q, k, v

    def __call__(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
                 is_causal=False, return_weights=None, need_weights=None,
                 average_attn_weights=True, training=False, softcap=None, query_lengths=None,
                 cache=None, key_padding_mask=None):
        """Attend: ``key=None`` is self-attention (key = value = query); a separate key/value
        sequence is cross-attention. Inputs (..., L, E), any leading batch dims (or none).
        Returns the output (..., L, E), or (output, weights) with ``return_weights=True``:
        weights (..., L, S) averaged over heads, or (..., num_heads, L, S) with
        ``average_attn_weights=False``. With ``need_weights=`` or a ``batch_first=`` module, the
        result is always PyTorch's pair (output, weights or None); see the class docstring.

        ``training=True`` applies the module's ``dropout`` to the attention weights (a fresh
        seed per call from the module's generator); ``softcap``, ``query_lengths`` and
        structured masks (``cattn.sliding_window`` ...) as ``attn_mask`` are
        scaled_dot_product_attention's. ``cache=`` (from ``new_cache``) appends this call's keys
        and values to the cache and attends over everything cached (self-attention, causal,
        lower-right aligned)."""
        pytorch = need_weights is not None or self.batch_first is not None
        if pytorch and need_weights is None and return_weights is None:
            need_weights = True  # PyTorch's default
        weights = weights_flag(f"{self._cls}.__call__", return_weights, need_weights)
        q, k, v = (self._layout_in(x) for x in (query, key, value))
        attn_mask = with_key_padding(self._cls, attn_mask, key_padding_mask, q)
        ext = self._extras(training, softcap, query_lengths, cache, attn_mask)
        if ext is not None:
            r, _ = self._composed(q, k, v, attn_mask, key_lengths, is_causal, weights,
                                  average_attn_weights, ext, grad=False)
        else:
            r = self._forward(q, k, v, attn_mask, key_lengths, is_causal, weights,
                              average_attn_weights)
        out, w = r if weights else (r, None)
        out = self._layout_out(out)
        return like_input(query, (out, w) if weights or pytorch else out)

    def _layout_in(self, x):
        """PyTorch's (L, B, E) of batch_first=False as cattn's (B, L, E) (a view)."""
        if x is None or self.batch_first is not False:
            return x
        x = np.asarray(x)
        return np.swapaxes(x, -3, -2) if x.ndim >= 3 else x

    def _layout_out(self, out):
        return self._layout_in(out)

    def _forward(self, query, key, value, attn_mask, key_lengths, is_causal, weights,
                 average_attn_weights):
        q, k, v = self._inputs(query, key, value)
        return functional.multi_head_attention(
            q, k, v, *self.head_weights(), attn_mask=attn_mask, key_lengths=key_lengths,
            is_causal=is_causal, return_weights=weights,
            average_attn_weights=average_attn_weights)

    forward = __call__

    def vjp(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
            is_causal=False, return_weights=None, need_weights=None, average_attn_weights=True,
            training=False, softcap=None, query_lengths=None, cache=None, key_padding_mask=None):
        """``y, pullback = mha.vjp(query, key=None, value=None, **same_kwargs_as_call)``.

        ``y`` is what the call returns; ``pullback(grad_y)`` returns ``(d_query, d_key,
        d_value)`` -- ``d_key``/``d_value`` are None for self-attention (``key=None``; with
        ``value=None`` only, ``d_key`` holds the value's share too), whose whole gradient is in
        ``d_query`` -- and **adds** the parameters' gradients into ``self.grads``. When ``y``
        is a pair (output, weights), pass ``(grad_output, None)`` or just ``grad_output``. The
        pullback may be called more than once (each call adds again)."""
        pytorch = need_weights is not None or self.batch_first is not None
        if pytorch and need_weights is None and return_weights is None:
            need_weights = True
        weights = weights_flag(f"{self._cls}.vjp", return_weights, need_weights)
        q, k, v = (self._layout_in(x) for x in (query, key, value))
        attn_mask = with_key_padding(self._cls, attn_mask, key_padding_mask, q)
        ext = self._extras(training, softcap, query_lengths, cache, attn_mask)
        if ext is not None:
            out, back = self._composed(q, k, v, attn_mask, key_lengths, is_causal, weights,
                                       average_attn_weights, ext, grad=True)
        else:
            out, back = self._vjp(q, k, v, attn_mask, key_lengths, is_causal, weights,
                                  average_attn_weights)
        o, w = out if weights else (out, None)
        o = self._layout_out(o)
        y = (o, w) if weights or pytorch else o
        like = np.broadcast_to(np.zeros((), o.dtype), o.shape)  # the output's shape and dtype

        def pullback(grad_y):
            g = grad_y
            if isinstance(g, (tuple, list)) and len(g) == 2 and (weights or pytorch):
                if len(g) != 2 or g[1] is not None:
                    raise ValueError(
                        f"{self._cls}.vjp pullback: pass grad_output or (grad_output, None): "
                        f"gradients through the returned weights are not computed here"
                    )
                g = g[0]
            g = self._layout_in(cotangent(self, g, like))
            dq, dk, dv = back(g)
            dq, dk, dv = (None if x is None else self._layout_out(x) for x in (dq, dk, dv))
            if key is None:
                return like_input(query, (dq + dk + dv, None, None))
            if value is None:
                return like_input(query, (dq, dk + dv, None))
            return like_input(query, (dq, dk, dv))
        return like_input(query, y), pullback

    def _vjp(self, query, key, value, attn_mask, key_lengths, is_causal, weights,
             average_attn_weights):
        """(out or (out, weights), back): back(g) -> (dq, dk, dv) of the three inputs as passed
        (key = query and value = key when None), adding the parameters' gradients."""
        q, k, v = self._inputs(query, key, value)
        hw = self.head_weights()
        out, pb = gradients.vjp(functional.multi_head_attention, q, k, v, *hw,
                                attn_mask=attn_mask, key_lengths=key_lengths,
                                is_causal=is_causal, return_weights=weights,
                                average_attn_weights=average_attn_weights)

        def back(g):
            gs = pb((g, None) if weights else g)
            self._add_grads(gs[3:])
            return gs[0], gs[1], gs[2]
        return out, back

    def _add_grads(self, hg):
        """Add the per-head gradients (dwq, dwk, dwv, dwo, dbq, dbk, dbv, dbo) -- head_weights()'s
        layout -- into self.grads, by the parameters' names (the inverse of head_weights)."""
        E = self.embed_dim
        dwq, dwk, dwv, dwo, dbq, dbk, dbv, dbo = hg
        # (heads, E_in, d) -> (heads, d, E_in) -> (heads*d, E_in): row h*d + j is output j of head h
        mats = [w.transpose(0, 2, 1).reshape(-1, w.shape[1]) for w in (dwq, dwk, dwv)]
        biases = [None if b is None else b.reshape(-1) for b in (dbq, dbk, dbv, dbo)]
        wo = dwo.transpose(2, 0, 1).reshape(E, -1)  # (H, d, E) -> (E, H·d)
        self._scatter(*mats, wo, *biases)

    def _scatter(self, dWq, dWk, dWv, dWo, dbq, dbk, dbv, dbo):
        """The one gradient scatter: the projections' gradients in PyTorch's layout (dWq (E, E),
        dWk (Hkv·d, kdim), dWv (Hkv·d, vdim), dWo (E, E), biases or None) added into ``grads``
        where each lives (``in_proj_weight``'s rows, or its own parameter). Both routes (fused,
        composed) end here, after every gradient is computed: a failure adds nothing."""
        which = ("q", "k", "v", "out")
        adds = [self._rows(w) + (dW,) for w, dW in zip(which, (dWq, dWk, dWv, dWo))]
        if self.bias:
            adds += [self._rows(w, bias=True) + (db,) for w, db in zip(which, (dbq, dbk, dbv, dbo))]
        add_grads(self, adds)

    # ---- grouped-query heads, dropout, soft cap, structured masks, the KV cache ----------------

    def new_cache(self, batch_shape, max_len):
        """An empty KV cache for ``mha(x_new, cache=cache)``: keys and values of up to
        ``max_len`` positions for inputs of batch shape ``batch_shape`` (``()`` for unbatched
        (L, E) inputs), (*batch_shape, num_kv_heads, max_len, head_dim) each, in the module's
        dtype. ``cache.length`` is the number of positions cached."""
        return KVCache(self, batch_shape, max_len)

    def _extras(self, training, softcap, query_lengths, cache, attn_mask):
        """The keywords only the composed path has, or None when the call needs none of them."""
        from ..masks import StructuredMask

        drop = self.dropout if training else 0.0
        if self.num_kv_heads == self.num_heads and not drop and softcap is None and \
                query_lengths is None and cache is None and \
                not isinstance(attn_mask, StructuredMask):
            return None
        if cache is not None and not isinstance(cache, KVCache):
            raise TypeError(f"{self._cls}: cache must come from new_cache, got {type(cache)}")
        if cache is not None and cache.module is not self:
            raise ValueError(f"{self._cls}: this cache belongs to another module")
        seed = int(self._dropout_rng.integers(0, 2**63 - 1)) if drop else None
        return {"dropout_p": drop, "seed": seed, "softcap": softcap,
                "query_lengths": query_lengths, "cache": cache}

    def _projection_weights(self):
        """(Wq (E, E), Wk (Hkv·d, kdim), Wv (Hkv·d, vdim), Wo (E, E), bq, bk, bv, bo)."""
        p, E = self._params, self.embed_dim
        if self._same_embed:
            W = p["in_proj_weight"]
            mats = (W[:E], W[E:2 * E], W[2 * E:])
        else:
            mats = (p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"])
        if self.bias:
            b, Ekv = p["in_proj_bias"], self.num_kv_heads * self.head_dim
            bs = (b[:E], b[E:E + Ekv], b[E + Ekv:], p["out_proj.bias"])
        else:
            bs = (None,) * 4
        return mats + (p["out_proj.weight"],) + bs

    def _composed(self, query, key, value, attn_mask, key_lengths, is_causal, weights,
                  average_attn_weights, ext, grad):
        """The layer as projections, cattn's SDPA (grouped-query heads, dropout, soft cap,
        structured masks, lengths) and the output projection: (out [, weights]) and, with
        grad=True, back(g) -> (dq, dk, dv) adding the parameters' gradients."""
        from ..masks import StructuredMask, causal_lower_right

        c = self._cls
        q, k, v = self._inputs(query, key, value)
        H, Hkv, d = self.num_heads, self.num_kv_heads, self.head_dim
        Wq, Wk, Wv, Wo, bq, bk, bv, bo = self._projection_weights()
        mm = _cattn.matmul

        def proj(x, W, b, heads):  # (..., n, Ein) -> (..., heads, n, d)
            y = mm(x, W.T)
            if b is not None:
                y = y + b
            return np.swapaxes(y.reshape(y.shape[:-1] + (heads, d)), -2, -3)
        qh, kh, vh = proj(q, Wq, bq, H), proj(k, Wk, bk, Hkv), proj(v, Wv, bv, Hkv)
        cache = ext["cache"]
        L, n_new = q.shape[-2], k.shape[-2]
        kl = None if key_lengths is None else np.asarray(key_lengths)[..., None]
        ql = ext["query_lengths"]
        ql = None if ql is None else np.asarray(ql)[..., None]
        mask = attn_mask
        # with a cache: the new keys and values are appended under its lock, and taken out
        # again if the call fails
        with contextlib.ExitStack() as stack:
            if cache is not None:
                if key is not None and key is not query or value is not None and value is not key:
                    raise ValueError(f"{c}: a cache is for self-attention: call "
                                     f"mha(x_new, cache=...)")
                if attn_mask is not None or is_causal or key_lengths is not None:
                    raise ValueError(f"{c}: with a cache the mask is the cache's (causal, "
                                     f"lower-right); pass no attn_mask, is_causal or key_lengths")
                start = stack.enter_context(cache._appending(kh, vh))
                end = start + n_new
                kh, vh = cache.k[..., :end, :], cache.v[..., :end, :]
                mask, is_causal = causal_lower_right(L, end), False
            elif attn_mask is not None and not isinstance(attn_mask, StructuredMask):
                m = np.asarray(attn_mask)
                mask = m if m.ndim > q.ndim else m[..., None, :, :]  # (..., [H,] L, S)
            kw = dict(attn_mask=mask, is_causal=is_causal, enable_gqa=True, key_lengths=kl,
                      query_lengths=ql, dropout_p=ext["dropout_p"], seed=ext["seed"],
                      softcap=ext["softcap"], return_weights=weights)
            if grad:
                r, pb = gradients.vjp(functional.scaled_dot_product_attention, qh, kh, vh, **kw)
            else:
                r = functional.scaled_dot_product_attention(qh, kh, vh, **kw)
        oh, w = r if weights else (r, None)
        concat = np.swapaxes(oh, -2, -3).reshape(oh.shape[:-3] + (L, H * d))
        out = mm(concat, Wo.T)
        if bo is not None:
            out = out + bo
        if weights:
            w = w.mean(axis=-3) if average_attn_weights else w
        res = (out, w) if weights else out
        if not grad:
            return res, None

        def flat(x):  # (..., n, F) -> (N, F)
            return x.reshape(-1, x.shape[-1])

        def back(g):
            dconcat = mm(g, Wo)
            doh = np.swapaxes(dconcat.reshape(dconcat.shape[:-1] + (H, d)), -2, -3)
            dqh, dkh, dvh = pb((doh, None) if weights else doh)
            if cache is not None:  # only the new positions' keys and values come from x
                dkh, dvh = dkh[..., start:start + n_new, :], dvh[..., start:start + n_new, :]
            dW, db, dx = [], [], []
            for x, W, dh in ((q, Wq, dqh), (k, Wk, dkh), (v, Wv, dvh)):
                dy = np.swapaxes(dh, -2, -3)
                dy = dy.reshape(dy.shape[:-2] + (-1,))  # (..., n, heads·d)
                dy = np.broadcast_to(dy, np.broadcast_shapes(dy.shape,
                                                             x.shape[:-1] + dy.shape[-1:]))
                xb = np.broadcast_to(x, dy.shape[:-1] + x.shape[-1:])
                dW.append(mm(flat(dy).T, flat(xb)))
                db.append(flat(dy).sum(0))
                dx.append(mm(dy, W).astype(x.dtype, copy=False))
            self._scatter(*dW, mm(flat(g).T, flat(concat)), *db, flat(g).sum(0))
            return tuple(dx)
        return res, back

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

    def steps(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
              is_causal=False, query_labels=None, key_labels=None, key_padding_mask=None):
        """The intermediate arrays of the forward pass, step by step (see
        cattn.AttentionSteps): ``.q .k .v .scores .scaled_scores .mask .weights .head_outputs
        .concat .output``; ``query_labels``/``key_labels`` (the tokens) name the rows and
        columns of its tables and plots."""
        from ..steps import compute_steps

        q, k, v = self._inputs(*(self._layout_in(x) for x in (query, key, value)))
        attn_mask = with_key_padding(self._cls, attn_mask, key_padding_mask, q)
        return compute_steps(self._cls, q, k, v, self.head_weights(), attn_mask, key_lengths,
                             is_causal, query_labels, key_labels)
