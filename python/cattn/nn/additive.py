"""nn.AdditiveAttention: additive (Bahdanau) attention with learned weights."""
import numpy as np

from .._checks import as_float_operand, like_input, weights_flag
from .module import Module, float_dtype, positive_int, uniform, with_key_padding
from ..gradients import vjp

from ..additive import AdditiveSteps, _args, _forward, additive_attention


class AdditiveAttention(Module):
    """Additive (Bahdanau) attention with learned weights, d2l.ai's ``AdditiveAttention``.

    ``AdditiveAttention(query_dim, key_dim, hidden_dim, *, dtype=np.float32, seed=None)``

    ``score(q, k) = w_vᵀ tanh(W_q q + W_k k)``, softmax over the keys, weighted sum of the
    values. Parameters (PyTorch ``nn.Linear`` names and initialisation, no biases):
    ``W_q.weight (hidden, query_dim)``, ``W_k.weight (hidden, key_dim)``, ``w_v.weight
    (1, hidden)``, each ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    Call as ``Attention``: ``attn(query, key=None, value=None, *, attn_mask=None,
    key_lengths=None, is_causal=False, return_weights=None, need_weights=None)``; queries
    (..., L, query_dim), keys (..., S, key_dim), values (..., S, Dv) (value defaults to key, key
    to query). Returns the output (..., L, Dv), or (output, weights (..., L, S)) with
    ``return_weights=True``; with ``need_weights=`` given, always PyTorch's pair (output,
    weights or None). ``vjp``, ``grads``, ``zero_grad``, ``state_dict`` as every cattn module;
    ``steps()`` returns the intermediate arrays (``AdditiveSteps``).

    >>> import numpy as np, cattn
    >>> attn = cattn.AdditiveAttention(2, 2, 8, seed=0)
    >>> sorted(attn.state_dict())
    ['W_k.weight', 'W_q.weight', 'w_v.weight']
    >>> out, w = attn(np.ones((3, 2)), np.ones((5, 2)), np.zeros((5, 4)), return_weights=True)
    >>> out.shape, w.shape
    ((3, 4), (3, 5))
    """

    _cls = "AdditiveAttention"

    def __init__(self, query_dim, key_dim, hidden_dim, *, dtype=np.float32, seed=None):
        c = self._cls
        self.query_dim = positive_int(c, "query_dim", query_dim)
        self.key_dim = positive_int(c, "key_dim", key_dim)
        self.hidden_dim = positive_int(c, "hidden_dim", hidden_dim)
        self.dtype = float_dtype(c, dtype)
        rng = np.random.default_rng(seed)
        h = self.hidden_dim
        self._params = {
            "W_q.weight": uniform(rng, 1 / np.sqrt(self.query_dim), (h, self.query_dim), self.dtype),
            "W_k.weight": uniform(rng, 1 / np.sqrt(self.key_dim), (h, self.key_dim), self.dtype),
            "w_v.weight": uniform(rng, 1 / np.sqrt(h), (1, h), self.dtype),
        }

    def __repr__(self):
        return (f"AdditiveAttention(query_dim={self.query_dim}, key_dim={self.key_dim}, "
                f"hidden_dim={self.hidden_dim}, dtype={self.dtype.name}, "
                f"parameters={self.num_parameters:,})")

    def _weights(self):
        p = self._params
        return p["W_q.weight"], p["W_k.weight"], p["w_v.weight"]

    def _inputs(self, query, key, value):
        c = self._cls
        q = as_float_operand(c, "query", query, 2).astype(self.dtype, copy=False)
        k = q if key is None else as_float_operand(c, "key", key, 2).astype(self.dtype, copy=False)
        v = k if value is None else as_float_operand(c, "value", value, 2).astype(self.dtype,
                                                                                  copy=False)
        return q, k, v

    def __call__(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
                 is_causal=False, return_weights=None, need_weights=None, key_padding_mask=None):
        """Attend: the output (..., L, Dv), or (output, weights) with ``return_weights=True``
        (PyTorch's pair whenever ``need_weights=`` is given); see the class docstring."""
        pytorch = need_weights is not None
        weights = weights_flag(f"{self._cls}.__call__", return_weights, need_weights)
        q, k, v = self._inputs(query, key, value)
        attn_mask = with_key_padding(self._cls, attn_mask, key_padding_mask, q)
        r = additive_attention(q, k, v, *self._weights(), attn_mask, key_lengths=key_lengths,
                               is_causal=is_causal, return_weights=weights)
        if pytorch and not weights:
            r = (r, None)
        return like_input(query, r)

    forward = __call__

    def vjp(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
            is_causal=False, return_weights=None, need_weights=None, key_padding_mask=None):
        """``y, pullback = attn.vjp(query, key=None, value=None, **same_kwargs_as_call)``:
        ``pullback(grad_y)`` returns ``(d_query, d_key, d_value)`` (``None`` for an input not
        given, its share in the one it defaulted to) and **adds** the parameters' gradients into
        ``grads``. When ``y`` is a pair, pass ``(grad_output, grad_weights or None)``."""
        pytorch = need_weights is not None
        weights = weights_flag(f"{self._cls}.vjp", return_weights, need_weights)
        q, k, v = self._inputs(query, key, value)
        attn_mask = with_key_padding(self._cls, attn_mask, key_padding_mask, q)
        y, pb = vjp(additive_attention, q, k, v, *self._weights(), attn_mask=attn_mask,
                    key_lengths=key_lengths, is_causal=is_causal, return_weights=weights)

        def pullback(grad_y):
            g = grad_y
            if pytorch and not weights:
                g = g[0] if isinstance(g, (tuple, list)) else g
            dq, dk, dv, dWq, dWk, dwv = pb(g)
            grads = self.grads
            grads["W_q.weight"] += dWq
            grads["W_k.weight"] += dWk
            grads["w_v.weight"] += dwv
            if key is None:
                return like_input(query, (dq + dk + dv, None, None))
            if value is None:
                return like_input(query, (dq, dk + dv, None))
            return like_input(query, (dq, dk, dv))
        y = (y, None) if pytorch and not weights else y
        return like_input(query, y), pullback

    def steps(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
              is_causal=False, key_padding_mask=None):
        """The intermediate arrays of the forward pass (``AdditiveSteps``): the projections,
        the tanh features (L, S, hidden), the scores, the mask, the weights, the output."""
        q, k, v = self._inputs(query, key, value)
        attn_mask = with_key_padding(self._cls, attn_mask, key_padding_mask, q)
        q, k, v, Wq, Wk, wv, mask, _, _ = _args(self._cls + ".steps", q, k, v, *self._weights(),
                                                attn_mask, key_lengths, is_causal, dense=True)
        out, p, qp, kp = _forward(q, k, v, Wq, Wk, wv, mask, None)
        features = np.tanh(qp[..., :, None, :] + kp[..., None, :, :])
        scores = features @ wv
        bool_mask = None if mask is None else (mask if mask.dtype == bool else mask > -np.inf)
        return AdditiveSteps(q_proj=qp, k_proj=kp, features=features, scores=scores,
                             mask=bool_mask, weights=p, output=out)
