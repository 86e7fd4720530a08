"""plot_attention: heatmaps of attention weights (matplotlib, imported only when called), and
use_cjk_font: Chinese (and Japanese, Korean) labels that render.

matplotlib's default font, DejaVu Sans, has no CJK glyphs: "注意力" comes out as empty boxes with
a "Glyph missing" warning per character. use_cjk_font() finds a CJK font and puts it after the
families of matplotlib's ``font.family``, so Latin text keeps its look and CJK characters are
drawn from the fallback (matplotlib >= 3.6 falls back glyph by glyph).
plot_attention calls it; call it yourself before your own figures with Chinese titles.

Where it looks, in order: a CJK font installed on the machine (Noto Sans CJK SC first; macOS and
Windows come with one), then the font ``pip install "cattn[plot]"`` brings from PyPI with no
system package: Noto Sans CJK (the ``notojp-matplotlib`` package, 14 MB: one OFL-licensed font
file, used here without importing the package, which would change matplotlib's settings). That
font covers every CJK character; where Chinese and Japanese write one character differently it
draws the Japanese form, a detail a learner rarely notices, and a system Noto Sans CJK SC
(``apt install fonts-noto-cjk``) takes precedence when present."""
import os
import warnings

import numpy as np

__all__ = ["plot_attention", "use_cjk_font"]

# Installed CJK fonts, by preference: Noto / Source Han, WenQuanYi, then the systems' own.
_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
                 "Source Han Sans CN", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                 "Droid Sans Fallback", "PingFang SC", "Hiragino Sans GB", "Heiti SC",
                 "STHeiti", "Microsoft YaHei", "SimHei", "Arial Unicode MS")
# The font the plot extra installs from PyPI: (package, file in it).
_BUNDLED_FONT = ("notojp_matplotlib", os.path.join("fonts", "NotoSansCJKjp-Regular.otf"))
_cjk_state = {"done": False, "family": None}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "plot_attention needs matplotlib, an optional extra of cattn: "
            "pip install \"cattn[plot]\"  (or: pip install matplotlib)"
        ) from None
    return plt


def _bundled_font_file():
    """The path of the CJK font the plot extra installs, or None when it is not installed. The
    package is found, not imported (its import would set matplotlib's font.family)."""
    import importlib.util

    package, name = _BUNDLED_FONT
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def _font_files(font_manager):
    """The font files in the system's font folders, by walking them (matplotlib's
    findSystemFonts would also run fc-list, a subprocess)."""
    dirs = list(font_manager.X11FontDirectories) + list(font_manager.OSXFontDirectories)
    if os.name == "nt":
        dirs.append(font_manager.win32FontDirectory())
    dirs.append(os.path.join(os.path.expanduser("~"), ".local", "share", "fonts"))
    files = []
    for d in dirs:
        if os.path.isdir(d):
            files += font_manager.list_fonts(d, ["ttf", "otf", "ttc"])
    return files


def use_cjk_font(warn=True):
    """Put an installed CJK font after matplotlib's font families (``font.family``), so that Chinese
    labels render; returns its family name, or None (with a warning naming the font package to
    install, once) when there is none. Idempotent.

    >>> import cattn
    >>> family = cattn.use_cjk_font(warn=False)   # e.g. 'Noto Sans CJK SC', or None
    """
    if _cjk_state["done"]:
        return _cjk_state["family"]
    _pyplot()
    import matplotlib
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    family = next((f for f in _CJK_FAMILIES if f in installed), None)
    if family is None:  # installed after matplotlib built its font cache: look at the files
        hints = ("cjk", "wqy", "droidsansfallback", "sourcehan", "msyh", "simhei", "pingfang")
        for path in _font_files(font_manager):
            if any(h in path.lower().replace("-", "").replace("_", "") for h in hints):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        installed = {f.name for f in font_manager.fontManager.ttflist}
        family = next((f for f in _CJK_FAMILIES if f in installed), None)
    if family is None:  # none on the machine: the one the plot extra brings from PyPI
        path = _bundled_font_file()
        if path is not None:
            try:
                font_manager.fontManager.addfont(path)
                family = font_manager.FontProperties(fname=path).get_name()
            except (OSError, RuntimeError, ValueError):
                family = None
    _cjk_state.update(done=True, family=family)
    if family is None:
        if warn:
            warnings.warn("cattn.plot: no CJK font is installed, so Chinese labels will show as "
                          "boxes; pip install \"cattn[plot]\" (it brings Noto Sans CJK from PyPI: "
                          "pip install notojp-matplotlib) and restart the kernel", stacklevel=2)
        return None
    rc = matplotlib.rcParams  # after the user's families: matplotlib falls back glyph by glyph
    rc["font.family"] = [f for f in rc["font.family"] if f != family] + [family]
    rc["axes.unicode_minus"] = False  # CJK fonts often lack U+2212
    return family


def _panel(ax, w, allowed, qlabels, klabels, title, annotate, vmax, fontsize):
    L, S = w.shape
    plt = _pyplot()
    shown = w if allowed is None else np.ma.masked_where(~allowed, w)
    cmap = plt.get_cmap("Blues").with_extremes(bad="#d9d9d9")  # masked: grey, hatched below
    im = ax.imshow(shown, cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto", interpolation="nearest")
    if allowed is not None:
        for i, j in zip(*np.nonzero(~allowed)):
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///",
                                       edgecolor="#888888", linewidth=0))
    long_labels = klabels is not None and max((len(str(k)) for k in klabels), default=0) > 1
    ax.set_xticks(range(S), klabels if klabels is not None else range(S),
                  rotation=45 if long_labels else 0, ha="right" if long_labels else "center",
                  fontsize=fontsize)
    ax.set_yticks(range(L), qlabels if qlabels is not None else range(L), fontsize=fontsize)
    ax.set_xlabel("key", fontsize=fontsize)
    ax.set_ylabel("query", fontsize=fontsize)
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
    if annotate:
        for i in range(L):
            for j in range(S):
                if allowed is None or allowed[i, j]:
                    ax.text(j, i, f"{w[i, j]:.2f}", ha="center", va="center",
                            fontsize=fontsize - 1,
                            color="white" if w[i, j] > 0.5 * vmax else "black")
    return im


def plot_attention(weights, query_labels=None, key_labels=None, *, mask=None, ax=None,
                   title=None, annotate=None, fontsize=11, cell=0.5):
    """Heatmap of attention weights, tokens on the axes.

    weights (L, S) draws one heatmap and returns its matplotlib Axes; (H, L, S) draws one panel
    per head, on one colour scale with one colour bar, and returns the Figure. Cells that
    ``mask`` (True = may attend, broadcastable to the weights) removed are grey and hatched; a
    weight that is merely 0 (a softmax that underflowed) is drawn as 0. Values are written in
    the cells when the map is small (L·S <= 100) unless ``annotate`` says otherwise.
    ``fontsize`` (points) and ``cell`` (inches per cell) size the figure: raise them to project
    it in a classroom. Chinese labels render when a CJK font is installed (use_cjk_font).
    Needs matplotlib (``pip install "cattn[plot]"``).

    >>> import numpy as np, cattn
    >>> w = cattn.softmax(np.array([[2.0, 1.0, -np.inf], [0.0, 0.0, 0.0]]))
    >>> ax = cattn.plot_attention(w, ["Jane", "visits"], ["Jane", "visite", "l'Afrique"])
    >>> ax.get_xlabel()
    'key'
    """
    plt = _pyplot()
    texts = [str(x) for x in list(query_labels or []) + list(key_labels or []) + [title or ""]]
    if any(ord(ch) >= 0x2E80 for s in texts for ch in s):
        use_cjk_font()
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim not in (2, 3):
        raise ValueError(f"plot_attention: weights must be (L, S) or (H, L, S), got shape {w.shape}")
    allowed = None if mask is None else np.broadcast_to(np.asarray(mask, bool), w.shape)
    L, S = w.shape[-2:]
    for name, labels_, n in (("query_labels", query_labels, L), ("key_labels", key_labels, S)):
        if labels_ is not None and len(labels_) != n:
            raise ValueError(f"plot_attention: {name} has {len(labels_)} labels for {n} positions")
    if annotate is None:
        annotate = L * S <= 100
    vmax = max(1e-12, float(np.nanmax(w)) if w.size else 1.0)
    panel_w, panel_h = max(4.0, 1.5 + cell * S), max(3.0, 1.2 + cell * L)
    if w.ndim == 2:
        if ax is None:
            _, ax = plt.subplots(figsize=(panel_w + 1.0, panel_h), layout="constrained")
        im = _panel(ax, w, allowed, query_labels, key_labels, title, annotate, vmax, fontsize)
        cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        cb.ax.tick_params(labelsize=fontsize - 1)
        return ax
    H = w.shape[0]
    cols = min(H, 4)
    rows = (H + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * panel_w + 1.0, rows * panel_h),
                             squeeze=False, layout="constrained")
    im = None
    for h in range(rows * cols):
        a = axes[h // cols][h % cols]
        if h >= H:
            a.axis("off")
            continue
        im = _panel(a, w[h], None if allowed is None else allowed[h], query_labels, key_labels,
                    f"head {h}", annotate, vmax, fontsize)
    cb = fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.03, pad=0.02)
    cb.set_label("attention weight", fontsize=fontsize)
    cb.ax.tick_params(labelsize=fontsize - 1)
    if title:
        fig.suptitle(title, fontsize=fontsize + 2)
    return fig
