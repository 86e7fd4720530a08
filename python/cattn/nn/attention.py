"""nn.Attention: attention with one head, with or without projections."""
import numpy as np

from .. import functional, gradients
from .._checks import as_float_operand
from ..masks import StructuredMask
from .layer import AttentionLayer, batch_first_flag
from .module import float_dtype
from .multi_head import MultiHeadAttention


class Attention(AttentionLayer):
    """Attention with one head.

    ``Attention()`` has no parameters: plain scaled dot-product attention, as in the seq2seq
    picture where a decoder state attends the encoder states directly (queries, keys and values
    are the inputs themselves).

    ``Attention(embed_dim, *, kdim=None, vdim=None, bias=True, dtype=np.float32, seed=None)`` has
    its own W_q, W_k, W_v and W_o, and gives the same output as ``MultiHeadAttention(embed_dim,
    1)`` holding the same weights. Call arguments as MultiHeadAttention.

    Examples
    --------
    >>> import numpy as np, cattn
    >>> attn = cattn.Attention()
    >>> decoder_state = np.array([[1.0, 0.0]])
    >>> encoder_states = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> out, w = attn(decoder_state, encoder_states, return_weights=True)
    >>> np.round(w, 3)
    array([[0.401, 0.198, 0.401]])
    """

    _cls = "Attention"

    def __init__(self, embed_dim=None, *, kdim=None, vdim=None, bias=True, dropout=0.0,
                 batch_first=None, dtype=np.float32, seed=None):
        c = self._cls
        if embed_dim is None:
            if kdim is not None or vdim is not None:
                raise ValueError("Attention: kdim/vdim need an embed_dim (the projections)")
            self._heads = None
            self.embed_dim = self.kdim = self.vdim = self.head_dim = None
            self.num_heads = self.num_kv_heads = 1
            self.bias = False
            self.dropout = functional._real(c, "dropout", dropout)
            if not 0 <= self.dropout < 1:
                raise ValueError(f"Attention: dropout must be in [0, 1), got {dropout!r}")
            self._dropout_rng = np.random.default_rng(seed)
            self.batch_first = batch_first_flag(c, batch_first)
            self.dtype = float_dtype(c, dtype, half=True)
            return
        # the projections are a one-head MultiHeadAttention's (the same parameters, names and
        # initialisation), held, not inherited: this layer's call is its own
        h = MultiHeadAttention(embed_dim, 1, kdim=kdim, vdim=vdim, bias=bias, dropout=dropout,
                               batch_first=batch_first, dtype=dtype, seed=seed)
        h._cls = c  # its messages name this layer
        self._heads = h
        for name in ("embed_dim", "kdim", "vdim", "head_dim", "num_heads", "num_kv_heads",
                     "bias", "dropout", "batch_first", "dtype", "_dropout_rng"):
            setattr(self, name, getattr(h, name))

    # ---- the parameters: the projections' (none for Attention()) ---------------------------

    @property
    def has_parameters(self):
        return self._heads is not None

    @property
    def _params(self):
        return {} if self._heads is None else self._heads._params

    @_params.setter
    def _params(self, value):  # load_state_dict
        if self._heads is not None:
            self._heads._params = value

    @property
    def grads(self):
        """As MultiHeadAttention.grads (empty for Attention(), which has no parameters)."""
        return {} if self._heads is None else self._heads.grads

    def _shapes(self):
        return {} if self._heads is None else self._heads._shapes()

    def __repr__(self):
        if self._heads is None:
            return "Attention(no parameters: softmax(q k^T / sqrt(E)) v)"
        return repr(self._heads)

    def _no_parameters(self, what):
        return ValueError(
            f"Attention.{what}: this Attention() has no parameters (queries, keys and values are "
            f"the inputs themselves); build Attention(embed_dim) for projections")

    def head_weights(self):
        """As MultiHeadAttention.head_weights, for Attention(embed_dim) (one head); a ValueError
        for Attention(), which has no parameters."""
        if self._heads is None:
            raise self._no_parameters("head_weights")
        return self._heads.head_weights()

    def new_cache(self, batch_shape, max_len, dtype=None):
        """As MultiHeadAttention.new_cache, for Attention(embed_dim)."""
        if self._heads is None:
            raise self._no_parameters("new_cache")
        return self._heads.new_cache(batch_shape, max_len, dtype)

    # ---- the call ----------------------------------------------------------------------------

    def _plain_inputs(self, query, key, value):
        c = self._cls
        q = as_float_operand(c, "query", query, 2, half=True)  # (SDPA reads bfloat16 as half)
        k = q if key is None else as_float_operand(c, "key", key, 2, half=True)
        v = k if value is None else as_float_operand(c, "value", value, 2, half=True)
        return q, k, v

    def _attend(self, q, k, v, call, grad):
        """With projections: the one-head layer's route. Without: one SDPA call, which has every
        keyword (masks, lengths, causal, dropout, soft cap)."""
        if self._heads is not None:
            return self._heads._attend(q, k, v, call, grad)
        if call["cache"] is not None:
            raise ValueError("Attention: a cache needs projections; use Attention(embed_dim)")
        q, k, v = self._plain_inputs(q, k, v)
        mask = call["attn_mask"]
        if mask is not None and not isinstance(mask, StructuredMask) and np.ndim(mask) > q.ndim:
            mask = np.asarray(mask)  # (..., 1, L, S): the one head's axis
            if mask.shape[-3] != 1:
                raise ValueError(f"Attention: attn_mask of shape {mask.shape} has "
                                 f"{mask.shape[-3]} heads but num_heads is 1")
            mask = mask[..., 0, :, :]
        weights = call["weights"]
        kw = dict(attn_mask=mask, is_causal=call["is_causal"], key_lengths=call["key_lengths"],
                  query_lengths=call["query_lengths"], dropout_p=call["dropout_p"],
                  seed=call["seed"], softcap=call["softcap"], return_weights=weights)
        sdpa = functional.scaled_dot_product_attention
        if grad:
            r, pb = gradients.vjp(sdpa, q, k, v, **kw)
        else:
            r, pb = sdpa(q, k, v, **kw), None
        if weights and not call["average"]:
            r = (r[0], r[1][..., None, :, :])  # the head axis, as MultiHeadAttention's
        if not grad:
            return r, None
        return r, lambda g: pb((g, None) if weights else g)

    def _steps(self, q, k, v, attn_mask, key_lengths, is_causal, query_labels, key_labels):
        """As MultiHeadAttention.steps, without a head axis (one head); for Attention() the
        queries, keys and values are the inputs themselves."""
        if self._heads is not None:
            return self._heads._steps(q, k, v, attn_mask, key_lengths, is_causal, query_labels,
                                      key_labels)
        from ..steps import compute_steps

        q, k, v = self._plain_inputs(q, k, v)
        return compute_steps(self._cls, q, k, v, None, attn_mask, key_lengths, is_causal,
                             query_labels, key_labels)
