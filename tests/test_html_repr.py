"""Jupyter shows cattn's objects as a learner expects (issue 25 item 4): a layer's parameters as a
table (name, shape, count, dtype), a structured mask as a grid with its (L, S) and rule, a KV
cache as how full it is per batch item. Read back with the standard library's HTML parser."""
from html.parser import HTMLParser

import numpy as np
import pytest

import cattn


class Cells(HTMLParser):
    """The text of every table cell, row by row, and every cell's style."""

    def __init__(self, text):
        super().__init__()
        self.rows, self.styles, self.text, self._cell = [], [], [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = ""
            self.styles.append(dict(attrs).get("style", ""))

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell += data


LAYERS = [
    cattn.MultiHeadAttention(16, 4, seed=0),
    cattn.MultiHeadAttention(16, 4, num_kv_heads=2, bias=False, seed=0, dtype=np.float64),
    cattn.Attention(8, seed=0),
    cattn.AdditiveAttention(6, 5, 7, seed=0),
    cattn.nn.Linear(3, 4, seed=0),
    cattn.nn.LayerNorm(5),
    cattn.nn.Embedding(10, 4, seed=0),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda m: type(m).__name__)
def test_a_layer_shows_its_parameters(layer):
    page = Cells(layer._repr_html_())
    assert repr(layer) in "".join(page.text)
    header, *rows = page.rows
    assert header == ["parameter", "shape", "count", "dtype"]
    params = layer.state_dict()
    assert [r[0] for r in rows] == list(params)
    for name, shape, count, dtype in rows:
        a = params[name]
        assert shape == "×".join(map(str, a.shape))
        assert int(count.replace(",", "")) == a.size and dtype == a.dtype.name
    assert f"{layer.num_parameters:,} parameters" in "".join(page.text)


def test_a_layer_without_parameters():
    page = Cells(cattn.Attention()._repr_html_())
    assert "no parameters" in "".join(page.text) and page.rows == []


@pytest.mark.parametrize("mask", [cattn.sliding_window(5, 7, 1, 2), cattn.causal_upper_left(4, 4),
                                  cattn.causal_lower_right(3, 6)], ids=repr)
def test_a_structured_mask_is_drawn(mask):
    page = Cells(mask._repr_html_())
    want = np.asarray(mask)
    drawn = np.array(["#3b6fb6" in s for s in page.styles]).reshape(want.shape)
    np.testing.assert_array_equal(drawn, want)
    text = "".join(page.text)
    assert repr(mask) in text and f"(L, S) = {mask.shape}" in text and mask.name in text


def test_a_large_mask_shows_its_corner():
    page = Cells(cattn.causal_upper_left(100, 200)._repr_html_())
    assert len(page.rows) == 32 and all(len(r) == 32 for r in page.rows)
    assert "top-left 32 × 32 of 100 × 200" in "".join(page.text)


def test_a_cache_shows_how_full_it_is():
    mha = cattn.MultiHeadAttention(16, 4, num_kv_heads=2, seed=0)
    cache = mha.new_cache((2, 3), max_len=8)
    mha(np.ones((2, 3, 3, 16), np.float32), cache=cache)
    text = "".join(Cells(cache._repr_html_()).text)
    assert text.count("3 / 8") == 6 and "item (1, 2)" in text and repr(cache) in text
    big = mha.new_cache((20,), max_len=4)
    assert "and 4 more items" in "".join(Cells(big._repr_html_()).text)


def test_text_is_escaped():
    from cattn import _html

    assert "<b>" not in _html.box("<b>x</b>", _html.note("a & b"))
    assert "&lt;b&gt;" in _html.box("<b>x</b>") and "a &amp; b" in _html.note("a & b")
