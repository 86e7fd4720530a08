"""nn.Attention: attention with one head, with or without projections."""
import numpy as np

from .. import functional, gradients
from .._checks import as_float_operand
from .module import float_dtype, with_key_padding

from .multi_head import MultiHeadAttention, _batch_first


class Attention(MultiHeadAttention):
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
        if embed_dim is None:
            if kdim is not None or vdim is not None:
                raise ValueError("Attention: kdim/vdim need an embed_dim (the projections)")
            self.embed_dim = self.kdim = self.vdim = None
            self.num_heads = self.num_kv_heads = 1
            self.head_dim, self.bias = None, False
            self.dropout = functional._real(self._cls, "dropout", dropout)
            if not 0 <= self.dropout < 1:
                raise ValueError(f"Attention: dropout must be in [0, 1), got {dropout!r}")
            self._dropout_rng = np.random.default_rng(seed)
            self.batch_first = _batch_first(self._cls, batch_first)
            self.dtype = float_dtype(self._cls, dtype)
            self._params = {}
            return
        super().__init__(embed_dim, 1, kdim=kdim, vdim=vdim, bias=bias, dropout=dropout,
                         batch_first=batch_first, dtype=dtype, seed=seed)

    def _composed(self, query, key, value, attn_mask, key_lengths, is_causal, weights,
                  average_attn_weights, ext, grad):
        """Attention() (no parameters) with the SDPA-only keywords: one SDPA call."""
        if self.has_parameters:
            return super()._composed(query, key, value, attn_mask, key_lengths, is_causal,
                                     weights, average_attn_weights, ext, grad)
        if ext["cache"] is not None:
            raise ValueError("Attention: a cache needs projections; use Attention(embed_dim)")
        q, k, v = self._plain_inputs(query, key, value)
        kw = dict(attn_mask=attn_mask, is_causal=is_causal, key_lengths=key_lengths,
                  query_lengths=ext["query_lengths"], dropout_p=ext["dropout_p"],
                  seed=ext["seed"], softcap=ext["softcap"], return_weights=weights)
        if not grad:
            r = functional.scaled_dot_product_attention(q, k, v, **kw)
            if weights and not average_attn_weights:
                r = (r[0], r[1][..., None, :, :])
            return r, None
        out, pb = gradients.vjp(functional.scaled_dot_product_attention, q, k, v, **kw)
        if weights and not average_attn_weights:
            out = (out[0], out[1][..., None, :, :])
        return out, lambda g: pb((g, None) if weights else g)

    @property
    def has_parameters(self):
        return self.embed_dim is not None

    def __repr__(self):
        if not self.has_parameters:
            return "Attention(no parameters: softmax(q k^T / sqrt(E)) v)"
        return super().__repr__()

    def _shapes(self):
        return super()._shapes() if self.has_parameters else {}

    def head_weights(self):
        """As MultiHeadAttention.head_weights, for Attention(embed_dim) (one head); a ValueError
        for Attention(), which has no parameters."""
        if not self.has_parameters:
            raise ValueError(
                "Attention.head_weights: this Attention() has no parameters (queries, keys and "
                "values are the inputs themselves); build Attention(embed_dim) for projections"
            )
        return super().head_weights()

    def _plain_inputs(self, query, key, value):
        c = self._cls
        q = as_float_operand(c, "query", query, 2)
        k = q if key is None else as_float_operand(c, "key", key, 2)
        v = k if value is None else as_float_operand(c, "value", value, 2)
        return q, k, v

    def _plain_call(self, query, key, value, attn_mask, key_lengths, is_causal):
        """Attention()'s SDPA call: (q, k, v, mask array or None, causal) -- masks and
        key_lengths combined as for the layers, with no head axis."""
        q, k, v = self._plain_inputs(query, key, value)
        kind, mask = functional._mha_mask("Attention", attn_mask, key_lengths, is_causal, q.ndim,
                                          1, q.shape[-2], k.shape[-2], q.shape[:-2])
        return q, k, v, None if mask is None else mask[..., 0, :, :], kind == "causal"

    def _forward(self, query, key, value, attn_mask, key_lengths, is_causal, weights,
                 average_attn_weights):
        if self.has_parameters:
            return super()._forward(query, key, value, attn_mask, key_lengths, is_causal, weights,
                                    average_attn_weights)
        q, k, v, mask, causal = self._plain_call(query, key, value, attn_mask, key_lengths,
                                                 is_causal)
        r = functional.scaled_dot_product_attention(q, k, v, mask, is_causal=causal,
                                                    return_weights=weights)
        if weights and not average_attn_weights:
            return r[0], r[1][..., None, :, :]
        return r

    def _vjp(self, query, key, value, attn_mask, key_lengths, is_causal, weights,
             average_attn_weights):
        if self.has_parameters:
            return super()._vjp(query, key, value, attn_mask, key_lengths, is_causal, weights,
                                average_attn_weights)
        q, k, v, mask, causal = self._plain_call(query, key, value, attn_mask, key_lengths,
                                                 is_causal)
        out, pb = gradients.vjp(functional.scaled_dot_product_attention, q, k, v, attn_mask=mask,
                                is_causal=causal, return_weights=weights)
        if weights and not average_attn_weights:
            out = (out[0], out[1][..., None, :, :])

        def back(g):
            return pb((g, None) if weights else g)
        return out, back

    def steps(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
              is_causal=False, query_labels=None, key_labels=None, key_padding_mask=None):
        """The intermediate arrays of the forward pass, as MultiHeadAttention.steps, without a
        head axis (one head); for Attention() the queries, keys and values are the inputs
        themselves."""
        if self.has_parameters:
            return super().steps(query, key, value, attn_mask=attn_mask,
                                 key_lengths=key_lengths, is_causal=is_causal,
                                 query_labels=query_labels, key_labels=key_labels,
                                 key_padding_mask=key_padding_mask)
        from ..steps import compute_steps

        q, k, v = self._plain_inputs(*(self._layout_in(x) for x in (query, key, value)))
        attn_mask = with_key_padding(self._cls, attn_mask, key_padding_mask, q)
        return compute_steps(self._cls, q, k, v, None, attn_mask, key_lengths, is_causal,
                             query_labels, key_labels)
