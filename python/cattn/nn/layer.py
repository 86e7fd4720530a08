"""nn/layer.py -- what the dot-product attention layers share: the call contracts.

``AttentionLayer`` is MultiHeadAttention's and Attention's common part: PyTorch's two call
contracts (cattn's, and PyTorch's pair with ``need_weights=`` or ``batch_first=``), the
(L, B, E) layout of ``batch_first=False``, ``key_padding_mask``, the dropout seed of a training
call, the description of the call handed to the subclass's ``_attend``, and the pullback's
cotangent check. A subclass gives ``_attend(q, k, v, call, grad)`` and ``_steps``; nothing here
knows how the attention is computed."""
import numpy as np

from .._checks import is_half, like_input, weights_flag
from ..gradients import sum_rows
from .module import Module, cotangent, with_key_padding


def _total(*grads):
    """The sum of one input's gradients (self-attention's query, key and value shares): half
    ones summed in float32 and rounded once, through the half GEMM (two float16 additions in
    NumPy took 38 ms of a (2, 1024, 512) pullback), the others added."""
    if is_half(grads[0].dtype) and all(g.dtype == grads[0].dtype for g in grads):
        return sum_rows(np.stack(grads))
    total = grads[0]
    for g in grads[1:]:
        total = total + g
    return total


def batch_first_flag(cls, batch_first):
    if batch_first is None or isinstance(batch_first, (bool, np.bool_)):
        return None if batch_first is None else bool(batch_first)
    raise TypeError(f"{cls}: batch_first must be True, False or None, got {batch_first!r}")


class AttentionLayer(Module):
    """The call contracts of the attention layers (see the module docstring)."""

    batch_first = None
    dropout = 0.0

    def _layout_in(self, x):
        """PyTorch's (L, B, E) of batch_first=False as cattn's (B, L, E) (a view)."""
        if x is None or self.batch_first is not False:
            return x
        x = np.asarray(x)
        return np.swapaxes(x, -3, -2) if x.ndim >= 3 else x

    def _layout_out(self, out):
        return self._layout_in(out)

    def _describe(self, fname, query, key, value, attn_mask, key_lengths, is_causal,
                  return_weights, need_weights, average_attn_weights, training, softcap,
                  query_lengths, cache, key_padding_mask):
        """(PyTorch's pair?, q, k, v in cattn's layout, the call's description)."""
        pytorch = need_weights is not None or self.batch_first is not None
        if pytorch and need_weights is None and return_weights is None:
            need_weights = True  # PyTorch's default
        weights = weights_flag(f"{self._cls}.{fname}", return_weights, need_weights)
        q, k, v = (self._layout_in(x) for x in (query, key, value))
        attn_mask = with_key_padding(self._cls, attn_mask, key_padding_mask, q)
        drop = self.dropout if training else 0.0
        call = {"attn_mask": attn_mask, "key_lengths": key_lengths, "is_causal": is_causal,
                "weights": weights, "average": average_attn_weights, "dropout_p": drop,
                "seed": None, "softcap": softcap, "query_lengths": query_lengths,
                "cache": cache, "self_attention": (key is None or key is query) and
                (value is None or value is key)}
        return pytorch, q, k, v, call

    def _run(self, q, k, v, call, grad):
        """_attend with a fresh dropout seed from the layer's generator, which a refused call
        puts back as it was (so a refused call changes no state, this generator included)."""
        rng = self._dropout_rng
        state = rng.bit_generator.state if call["dropout_p"] else None
        if state is not None:
            call["seed"] = int(rng.integers(0, 2**63 - 1))
        try:
            return self._attend(q, k, v, call, grad)
        except BaseException:
            if state is not None:
                rng.bit_generator.state = state
            raise

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
        scaled_dot_product_attention's. ``key_padding_mask`` (..., S) is PyTorch's: True for
        keys to ignore. ``cache=`` (from ``new_cache``) appends this call's keys and values to
        the cache and attends over everything cached (self-attention, causal, lower-right
        aligned)."""
        pytorch, q, k, v, call = self._describe(
            "__call__", query, key, value, attn_mask, key_lengths, is_causal, return_weights,
            need_weights, average_attn_weights, training, softcap, query_lengths, cache,
            key_padding_mask)
        r, _ = self._run(q, k, v, call, grad=False)
        out, w = r if call["weights"] else (r, None)
        out = self._layout_out(out)
        return like_input(query, (out, w) if call["weights"] or pytorch else out)

    forward = __call__

    def vjp(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
            is_causal=False, return_weights=None, need_weights=None, average_attn_weights=True,
            training=False, softcap=None, query_lengths=None, cache=None, key_padding_mask=None):
        """``y, pullback = layer.vjp(query, key=None, value=None, **same_kwargs_as_call)``.

        ``y`` is what the call returns; ``pullback(grad_y)`` returns ``(d_query, d_key,
        d_value)`` -- ``d_key``/``d_value`` are None for self-attention (``key=None``; with
        ``value=None`` only, ``d_key`` holds the value's share too), whose whole gradient is in
        ``d_query`` -- and **adds** the parameters' gradients into ``self.grads``. When ``y``
        is a pair (output, weights), pass ``(grad_output, None)`` or just ``grad_output``. The
        pullback may be called more than once (each call adds again); it checks its cotangent
        (the output's shape and dtype) before anything changes."""
        pytorch, q, k, v, call = self._describe(
            "vjp", query, key, value, attn_mask, key_lengths, is_causal, return_weights,
            need_weights, average_attn_weights, training, softcap, query_lengths, cache,
            key_padding_mask)
        weights = call["weights"]
        out, back = self._run(q, k, v, call, grad=True)
        o, w = out if weights else (out, None)
        o = self._layout_out(o)
        y = (o, w) if weights or pytorch else o
        like = np.broadcast_to(np.zeros((), o.dtype), o.shape)  # the output's shape and dtype

        def pullback(grad_y):
            g = grad_y
            if isinstance(g, (tuple, list)) and len(g) == 2 and (weights or pytorch):
                if g[1] is not None:
                    raise ValueError(
                        f"{self._cls}.vjp pullback: pass grad_output or (grad_output, None): "
                        f"gradients through the returned weights are not computed here"
                    )
                g = g[0]
            g = self._layout_in(cotangent(self, g, like))
            dq, dk, dv = back(g)
            dq, dk, dv = (None if x is None else self._layout_out(x) for x in (dq, dk, dv))
            if key is None:
                return like_input(query, (_total(dq, dk, dv), None, None))
            if value is None:
                return like_input(query, (dq, _total(dk, dv), None))
            return like_input(query, (dq, dk, dv))
        return like_input(query, y), pullback

    def steps(self, query, key=None, value=None, *, attn_mask=None, key_lengths=None,
              is_causal=False, query_labels=None, key_labels=None, key_padding_mask=None):
        """The intermediate arrays of the forward pass, step by step (see
        cattn.AttentionSteps): ``.q .k .v .scores .scaled_scores .mask .weights .head_outputs
        .concat .output``; ``query_labels``/``key_labels`` (the tokens) name the rows and
        columns of its tables and plots."""
        q, k, v = (self._layout_in(x) for x in (query, key, value))
        attn_mask = with_key_padding(self._cls, attn_mask, key_padding_mask, q)
        return self._steps(q, k, v, attn_mask, key_lengths, is_causal, query_labels, key_labels)
