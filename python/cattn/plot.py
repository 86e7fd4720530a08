"""plot_attention: heatmaps of attention weights (matplotlib, imported only when called)."""
import numpy as np

__all__ = ["plot_attention"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "plot_attention needs matplotlib, an optional extra of cattn: "
            "pip install \"cattn[plot]\"  (or: pip install matplotlib)"
        ) from None
    return plt


def _panel(ax, w, allowed, qlabels, klabels, title, annotate):
    L, S = w.shape
    shown = np.ma.masked_where(~allowed, w)
    cmap = _pyplot().get_cmap("Blues").with_extremes(bad="#d9d9d9")  # masked: grey, hatched below
    im = ax.imshow(shown, cmap=cmap, vmin=0.0, vmax=max(1e-12, float(np.nanmax(w)) if w.size else 1.0),
                   aspect="auto", interpolation="nearest")
    for i, j in zip(*np.nonzero(~allowed)):
        ax.add_patch(_pyplot().Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///",
                                         edgecolor="#888888", linewidth=0))
    ax.set_xticks(range(S), klabels if klabels is not None else range(S), rotation=45,
                  ha="right", fontsize=8)
    ax.set_yticks(range(L), qlabels if qlabels is not None else range(L), fontsize=8)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    if title:
        ax.set_title(title, fontsize=10)
    if annotate:
        for i in range(L):
            for j in range(S):
                if allowed[i, j]:
                    ax.text(j, i, f"{w[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if w[i, j] > 0.5 * np.nanmax(w) else "black")
    return im


def plot_attention(weights, query_labels=None, key_labels=None, *, mask=None, ax=None,
                   title=None, annotate=None):
    """Heatmap of attention weights, tokens on the axes.

    weights (L, S) draws one heatmap and returns its matplotlib Axes; (H, L, S) draws one panel
    per head and returns the Figure. Masked cells -- where ``mask`` (True = may attend,
    broadcastable to the weights) is False, or, without a mask, where the weight is exactly 0 --
    are grey and hatched. Values are written in the cells when the map is small (L·S <= 100)
    unless ``annotate`` says otherwise. Needs matplotlib (``pip install "cattn[plot]"``).

    >>> import numpy as np, cattn
    >>> w = cattn.softmax(np.array([[2.0, 1.0, -np.inf], [0.0, 0.0, 0.0]]))
    >>> ax = cattn.plot_attention(w, ["Jane", "visits"], ["Jane", "visite", "l'Afrique"])
    >>> ax.get_xlabel()
    'key'
    """
    plt = _pyplot()
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim not in (2, 3):
        raise ValueError(f"plot_attention: weights must be (L, S) or (H, L, S), got shape {w.shape}")
    allowed = (w != 0) if mask is None else np.broadcast_to(np.asarray(mask, bool), w.shape)
    L, S = w.shape[-2:]
    for name, labels, n in (("query_labels", query_labels, L), ("key_labels", key_labels, S)):
        if labels is not None and len(labels) != n:
            raise ValueError(f"plot_attention: {name} has {len(labels)} labels for {n} positions")
    if annotate is None:
        annotate = L * S <= 100
    if w.ndim == 2:
        if ax is None:
            _, ax = plt.subplots(figsize=(1.0 + 0.55 * S, 0.8 + 0.45 * L))
        im = _panel(ax, w, allowed, query_labels, key_labels, title, annotate)
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        return ax
    H = w.shape[0]
    cols = min(H, 4)
    rows = (H + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * (1.2 + 0.5 * S), rows * (1.0 + 0.45 * L)),
                             squeeze=False)
    for h in range(rows * cols):
        a = axes[h // cols][h % cols]
        if h >= H:
            a.axis("off")
            continue
        _panel(a, w[h], allowed[h], query_labels, key_labels, f"head {h}", annotate)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
