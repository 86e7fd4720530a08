"""plot_attention and steps().plot(): panels, labels, masked cells, the missing-matplotlib error."""
import builtins
import sys

import numpy as np
import pytest

import cattn

plt = pytest.importorskip("matplotlib.pyplot")


def test_single_heatmap_with_labels_and_values():
    w = cattn.softmax(np.array([[2.0, 1.0, -np.inf], [0.0, 0.0, 0.0]]))
    ax = cattn.plot_attention(w, ["a", "b"], ["x", "y", "z"], title="t")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert ax.get_title() == "t"
    texts = [t.get_text() for t in ax.texts]
    # a weight of exactly 0 is a weight, not a masked cell: no mask, nothing hatched
    assert "0.73" in texts and "0.00" in texts and len(texts) == 6
    assert len(ax.patches) == 0
    mask = np.array([[True, True, False], [True, True, True]])
    ax = cattn.plot_attention(w, ["a", "b"], ["x", "y", "z"], mask=mask, fontsize=20)
    assert len(ax.patches) == 1 and len(ax.texts) == 5  # the masked cell: hatched, no value
    assert ax.get_xticklabels()[0].get_fontsize() == 20
    plt.close("all")


def test_heads_share_one_scale_and_one_colour_bar():
    w = cattn.softmax(np.random.default_rng(0).standard_normal((3, 4, 5)))
    mask = np.ones((4, 5), bool)
    mask[0, 1] = False
    fig = cattn.plot_attention(w, mask=mask)
    titled = [a for a in fig.axes if a.get_title().startswith("head")]
    assert [a.get_title() for a in titled] == ["head 0", "head 1", "head 2"]
    assert all(len(a.patches) == 1 for a in titled)
    assert len(fig.axes) == 3 + 1  # 3 heads and one colour bar
    assert {a.images[0].get_clim() for a in titled} == {(0.0, float(w.max()))}
    plt.close("all")


def test_chinese_labels_render_or_say_what_to_install(monkeypatch):
    import warnings
    from cattn import plot

    family = plot.use_cjk_font(warn=False)
    if family is not None:  # a CJK font is installed: no glyph is missing
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ax = cattn.plot_attention(np.eye(3), ["我", "爱", "你"], ["我", "爱", "你"],
                                      title="注意力分布")
            ax.figure.canvas.draw()
    monkeypatch.setattr(plot, "_cjk_state", {"done": False, "family": None})
    monkeypatch.setattr(plot, "_CJK_FAMILIES", ("No Such CJK Font",))
    monkeypatch.setattr(plot, "_font_files", lambda fm: [])
    monkeypatch.setattr(plot, "_bundled_font_file", lambda: None)
    with pytest.warns(UserWarning, match=r"pip install \"cattn\[plot\]\"") as record:
        assert plot.use_cjk_font() is None
    assert "notojp-matplotlib" in str(record[0].message)
    plt.close("all")


def _render(text, family):
    """The pixels of `text` drawn in `family` (Agg, no screen), one grey channel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 0.8), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.02, 0.25, text, family=family, fontsize=24)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., 0].copy()


def test_chinese_renders_with_no_system_font(monkeypatch):
    """A fresh machine (CI's fresh venv has no system CJK font): the font the plot extra brings
    from PyPI is found with no system package, and 注意力分布 is drawn as glyphs, not as the
    missing-glyph box. Boxes are all alike; five different characters are five different
    pictures, each unlike the box the font draws for a code point it lacks."""
    import warnings
    from cattn import plot

    monkeypatch.setattr(plot, "_cjk_state", {"done": False, "family": None})
    monkeypatch.setattr(plot, "_CJK_FAMILIES", ("No Such CJK Font",))  # no system font
    monkeypatch.setattr(plot, "_font_files", lambda fm: [])
    assert plot._bundled_font_file() is not None, "the test extra installs notojp-matplotlib"
    family = plot.use_cjk_font()
    assert family == "Noto Sans CJK JP"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing" for a box
        glyphs = [_render(ch, family) for ch in "注意力分布"]
        whole = _render("注意力分布", family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box = _render("\ue000", family)  # a private-use code point: the font's missing box
        boxes = _render("\ue000" * 5, family)
    assert all((g < 128).sum() > 30 for g in glyphs)  # ink
    assert all(not np.array_equal(g, box) for g in glyphs)
    assert len({g.tobytes() for g in glyphs}) == 5
    assert not np.array_equal(whole, boxes)
    # and DejaVu Sans alone (matplotlib's default) would have drawn boxes: the check can fail
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _render("注意力分布", "DejaVu Sans")
    assert any("missing" in str(w.message) for w in caught)


def test_steps_plot():
    mha = cattn.MultiHeadAttention(8, 2, seed=0)
    fig = mha.steps(np.ones((3, 8)), is_causal=True).plot()
    assert sum(len(a.patches) for a in fig.axes) == 2 * 3  # 3 masked cells per head
    ax = cattn.Attention().steps(np.eye(3)).plot(query_labels=list("abc"), key_labels=list("abc"))
    assert ax.get_xlabel() == "key"
    plt.close("all")


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"plot_attention: weights must be \(L, S\) or \(H, L, S\)"):
        cattn.plot_attention(np.ones(3))
    with pytest.raises(ValueError, match="query_labels has 1 labels for 2 positions"):
        cattn.plot_attention(np.ones((2, 2)), ["a"])


def test_missing_matplotlib_says_what_to_install(monkeypatch):
    real = builtins.__import__

    def no_mpl(name, *a, **kw):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    monkeypatch.delitem(sys.modules, "matplotlib.pyplot", raising=False)
    with pytest.raises(ImportError, match=r'pip install "cattn\[plot\]"'):
        cattn.plot_attention(np.ones((2, 2)))


def test_plot_draws_a_structured_mask():
    import cattn

    m = cattn.sliding_window(6, 6, 2)
    w = cattn.scaled_dot_product_attention(np.eye(6), np.eye(6), np.eye(6), m,
                                           return_weights=True)[1]
    ax = cattn.plot_attention(w, mask=m)
    assert ax is not None
    plt.close("all")
