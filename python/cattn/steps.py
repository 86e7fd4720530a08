"""Attention you can look inside: the intermediate arrays of each step.

The arrays are computed with cattn's own gufuncs, one step at a time, so each can be shown and
checked; ``steps(...).output`` equals the fused forward pass.
"""
import html

import numpy as np

from . import _cattn
from ._checks import as_scale
from .functional import _mha_mask

__all__ = ["AttentionSteps"]


class AttentionSteps:
    """The steps of (multi-head) scaled dot-product attention, as NumPy arrays.

    Attributes (H heads, L queries, S keys; ``...`` the batch dims):

    - ``q``, ``k``, ``v`` -- per-head queries (..., H, L, d), keys (..., H, S, d), values
      (..., H, S, dv) (the projections, or the inputs themselves without parameters)
    - ``scores`` -- the raw attention scores q·kᵀ (注意力得分, before scaling), (..., H, L, S)
    - ``scale`` -- the scaling, 1/sqrt(d)
    - ``scaled_scores`` -- scale·scores, plus a floating mask if one was given
    - ``mask`` -- the boolean mask actually applied (True = may attend), (..., H, L, S)
    - ``weights`` -- the attention distribution (注意力分布), softmax over keys, (..., H, L, S)
    - ``head_outputs`` -- the attention output (注意力输出) per head, (..., H, L, dv)
    - ``concat`` -- the heads side by side, (..., L, H·dv)
    - ``output`` -- concat·W_o + b_o (or concat itself without parameters), (..., L, E)

    ``repr`` summarises the shapes; in Jupyter it draws a table per head (``_repr_html_``);
    ``.plot()`` draws heatmaps with matplotlib.

    >>> import numpy as np, cattn
    >>> s = cattn.Attention().steps(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> s.scores
    array([[1., 0.]])
    >>> np.round(s.weights, 3)
    array([[0.67, 0.33]])
    """

    _fields = ("q", "k", "v", "scores", "scaled_scores", "mask", "weights", "head_outputs",
               "concat", "output")

    def __init__(self, query_labels=None, key_labels=None, single=False, **arrays):
        for name in self._fields + ("scale", "num_heads", "kind"):
            setattr(self, name, arrays[name])
        self.query_labels, self.key_labels = query_labels, key_labels
        self._single = single  # one head, no head axis in the arrays

    def _by_head(self, a):
        """a (..., [H,] L, S) as (items, H, L, S)."""
        if self._single:
            a = a[..., None, :, :]
        return a.reshape((-1,) + a.shape[-3:])

    def __repr__(self):
        lines = [f"{self.kind}.steps: {self.num_heads} head(s), scale = {self.scale:.6g}"]
        labels = {
            "scores": "attention score 注意力得分 q·kᵀ",
            "scaled_scores": "scaled score",
            "mask": "mask (True = may attend)",
            "weights": "attention distribution 注意力分布",
            "head_outputs": "attention output 注意力输出 per head",
        }
        for name in self._fields:
            a = getattr(self, name)
            lines.append(f"  {name:<14}{str(a.shape):<22}{labels.get(name, '')}")
        w = self._by_head(self.weights)[0, 0]
        if w.shape[0] <= 8 and w.shape[1] <= 8:
            lines.append("  weights of head 0 (first batch item):")
            with np.printoptions(precision=3, suppress=True):
                lines += ["    " + line for line in str(w).splitlines()]
        return "\n".join(lines)

    def plot(self, batch=0, query_labels=None, key_labels=None, title=None, **kwargs):
        """The weights of every head as heatmaps (matplotlib), masked cells hatched; labels
        default to those given to ``steps()``; other keywords go to ``plot_attention``.
        ``batch`` picks the item when the inputs had batch dims (flattened index)."""
        from .plot import plot_attention

        query_labels = self.query_labels if query_labels is None else query_labels
        key_labels = self.key_labels if key_labels is None else key_labels
        w = self._by_head(self.weights)[batch]
        m = self._by_head(np.broadcast_to(self.mask, self.weights.shape))[batch]
        if w.shape[0] == 1:
            return plot_attention(w[0], query_labels, key_labels, mask=m[0],
                                  title=title or "注意力分布 attention distribution", **kwargs)
        return plot_attention(w, query_labels, key_labels, mask=m, title=title, **kwargs)

    def view(self, batch=0, query_labels=None, key_labels=None, heads=None):
        """The interactive viewer (``cattn.view``) of every head's weights, masked cells drawn
        as masked; labels default to those given to ``steps()``. ``batch`` picks the item when
        the inputs had batch dims (flattened index)."""
        from .view import view

        w = self._by_head(self.weights)[batch]
        m = self._by_head(np.broadcast_to(self.mask, self.weights.shape))[batch]
        return view(w, self.query_labels if query_labels is None else query_labels,
                    self.key_labels if key_labels is None else key_labels, heads=heads, mask=m)

    def _repr_html_(self):
        """A compact table per head: the weights, masked cells grey, darker = more attention."""
        w = self._by_head(self.weights)[0]
        m = self._by_head(np.broadcast_to(self.mask, self.weights.shape))[0]
        parts = [f"<div><b>{html.escape(self.kind)}.steps</b>: {self.num_heads} head(s), "
                 f"scale = {self.scale:.4g}; shapes: "
                 + ", ".join(f"{n} {getattr(self, n).shape}" for n in self._fields) + "</div>"]
        L, S = w.shape[-2:]
        if L > 32 or S > 32:
            parts.append(f"<div>weights ({L}×{S}) too large to tabulate</div>")
            return "".join(parts)
        qnames = [html.escape(str(x)) for x in (self.query_labels or [f"q{i}" for i in range(L)])]
        knames = [html.escape(str(x)) for x in (self.key_labels or [f"k{j}" for j in range(S)])]
        for h in range(w.shape[0]):
            rows = []
            for i in range(L):
                cells = []
                for j in range(S):
                    x = float(w[h, i, j])
                    if not m[h, i, j]:
                        cells.append('<td style="background:#ddd;color:#999">–</td>')
                    else:
                        a = 0.15 + 0.85 * x if np.isfinite(x) else 0
                        fg = "#fff" if x > 0.5 else "#000"
                        cells.append(f'<td style="background:rgba(31,119,180,{a:.2f});'
                                     f'color:{fg}">{x:.2f}</td>')
                rows.append(f"<tr><th>{qnames[i]}</th>{''.join(cells)}</tr>")
            head = "".join(f"<th>{name}</th>" for name in knames)
            parts.append(f'<table style="display:inline-table;margin:4px;font-size:80%">'
                         f"<caption>head {h}: 注意力分布 weights</caption>"
                         f"<tr><th></th>{head}</tr>{''.join(rows)}</table>")
        return "".join(parts)


def compute_steps(kind, xq, xk, xv, head_weights, attn_mask, key_lengths, is_causal,
                  query_labels=None, key_labels=None):
    """The steps for inputs (..., L, E) and per-head weights (see MultiHeadAttention.head_weights),
    or head_weights None for plain attention on the inputs themselves (one head). For kind
    "Attention" (one head) the arrays have no head axis."""
    L, S = xq.shape[-2], xk.shape[-2]
    for name, labels, n in (("query_labels", query_labels, L), ("key_labels", key_labels, S)):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{kind}.steps: {name} has {len(labels)} labels for {n} positions")
    if head_weights is None:
        q, k, v = xq[..., None, :, :], xk[..., None, :, :], xv[..., None, :, :]
        H = 1
    else:
        wq, wk, wv, wo, bq, bk, bv, bo = head_weights
        H = wq.shape[0]
        # step 0: each head's own projections of the inputs
        q = _cattn.matmul(xq[..., None, :, :], wq)
        k = _cattn.matmul(xk[..., None, :, :], wk)
        v = _cattn.matmul(xv[..., None, :, :], wv)
        if bq is not None:
            q, k, v = q + bq[:, None, :], k + bk[:, None, :], v + bv[:, None, :]
        if k.shape[-3] != H:  # grouped-query: each query head sees its group's key/value head
            k, v = (np.repeat(x, H // x.shape[-3], axis=-3) for x in (k, v))
    d = q.shape[-1]
    if d == 0:
        raise ValueError(f"{kind}.steps: the per-head size d is 0, so 1/sqrt(d) is undefined")
    scale = as_scale(f"{kind}.steps", None, d)
    # step 1: attention scores, then the scaling by sqrt(d)
    scores = _cattn.matmul(q, np.swapaxes(k, -1, -2))
    scaled = scale * scores
    batch = np.broadcast_shapes(xq.shape[:-2], xk.shape[:-2], xv.shape[:-2])
    _, m = _mha_mask(kind, attn_mask, key_lengths, is_causal, xq.ndim, H, L, S, batch, dense=True)
    if m is None:
        allowed = np.ones((1, 1, 1), bool)
    elif m.dtype == bool:
        allowed = m
    else:
        scaled = scaled + m
        allowed = m > -np.inf
    shape = np.broadcast_shapes(scaled.shape, allowed.shape)
    scaled = np.broadcast_to(scaled, shape)
    allowed = np.broadcast_to(allowed, shape).copy()
    # step 2: the attention distribution, softmax over the keys a query may attend
    weights = _cattn.softmax(np.where(allowed, scaled, -np.inf))
    # step 3: the attention output, the weighted sum of the values
    head_outputs = _cattn.matmul(weights, v)
    # step 4: concatenate the heads and (with parameters) multiply by W_o
    concat = np.swapaxes(head_outputs, -3, -2)
    concat = concat.reshape(concat.shape[:-2] + (-1,))
    if head_weights is None:
        output = concat
    else:
        output = _cattn.matmul(concat, wo.reshape(-1, wo.shape[-1]))
        if bo is not None:
            output = output + bo
    per_head = dict(q=q, k=k, v=v, scores=scores, scaled_scores=scaled, mask=allowed,
                    weights=weights, head_outputs=head_outputs)
    single = kind == "Attention"
    if single:  # one head: no head axis
        per_head = {n: a[..., 0, :, :] for n, a in per_head.items()}
    return AttentionSteps(**per_head, concat=concat, output=output, scale=scale, num_heads=H,
                          kind=kind, query_labels=query_labels, key_labels=key_labels,
                          single=single)
