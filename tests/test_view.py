"""cattn.view in a real browser (issue 25 item 2): headless Chromium loads the exported page,
hovers tokens, picks heads and a layer, and reads back what is drawn -- each line's and cell's
weight is the array's, masked cells are drawn as masked. Skips, with the reason, where no
browser is installed (Debian: apt install chromium chromium-driver; PyPI: selenium); CI installs
one. The checks on the HTML itself run everywhere."""
import os
import sys

import numpy as np
import pytest

import cattn

R = np.random.default_rng(25)
Q = ["我", "爱", "你", "们"]
K = ["I", "love", "you", "all", "!"]


def weights(shape, mask=None):
    x = R.standard_normal(shape)
    if mask is not None:
        x = np.where(mask, x, -np.inf)
    return cattn.softmax(x)


def test_the_page_is_self_contained_and_checked():
    w = weights((2, 4, 5))
    page = cattn.view(w, Q, K).html
    assert "<script>" in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "src=" not in page and "我" in page  # no fetch, labels as text
    a, b = cattn.view(w).html, cattn.view(w).html
    assert a.split('"', 2)[1] != b.split('"', 2)[1]  # two views, two ids
    with pytest.raises(ValueError, match=r"view: weights must be \(L, S\)"):
        cattn.view(np.ones(3))
    with pytest.raises(ValueError, match="query_labels has 3 labels for 4 positions"):
        cattn.view(w, Q[:3])
    with pytest.raises(ValueError, match="mask of shape"):
        cattn.view(w, mask=np.ones((3, 3), bool))
    with pytest.raises(TypeError, match="mask must be boolean"):
        cattn.view(w, mask=np.ones((4, 5)))
    with pytest.raises(ValueError, match="heads"):
        cattn.view(w, heads=[2])
    with pytest.raises(TypeError, match="real numbers"):
        cattn.view(w.astype(complex))
    with pytest.raises(ValueError, match="too many for one page"):
        cattn.view(np.broadcast_to(np.float32(0.5), (2, 8, 512, 512)))


def skip(reason):
    """Skip where there is no browser -- except where CI asks for the test to run."""
    if os.environ.get("CATTN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CATTN_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _browser():
    """docs/_browser.py's headless Chromium (the site's screenshots use the same), or a skip."""
    import importlib.util

    if importlib.util.find_spec("selenium") is None:
        skip("no selenium (pip install selenium)")
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs"))
    try:
        from _browser import browser
    finally:
        sys.path.pop(0)
    b = browser()
    if b is None:
        skip("no headless Chromium (Debian: apt install chromium chromium-driver)")
    return b


@pytest.fixture(scope="module")
def browser():
    b = _browser()
    yield b
    b.quit()


def open_view(browser, tmp_path, v, name="view.html"):
    from selenium.webdriver.common.by import By

    path = tmp_path / name
    v.save(path)
    browser.get("file://" + os.fspath(path))
    return browser.find_element(By.CSS_SELECTOR, ".cattn-view")


def hover(browser, element):
    from selenium.webdriver import ActionChains

    ActionChains(browser).move_to_element(element).perform()


def drawn_lines(root):
    from selenium.webdriver.common.by import By

    return [(int(e.get_attribute("data-head")), int(e.get_attribute("data-query")),
             int(e.get_attribute("data-key")), float(e.get_attribute("data-weight")),
             float(e.get_attribute("stroke-opacity")))
            for e in root.find_elements(By.CSS_SELECTOR, "g.weights line")]


def test_hover_draws_the_weights_and_the_mask(browser, tmp_path):
    from selenium.webdriver.common.by import By

    causal = np.tri(4, 5, dtype=bool)
    w = weights((3, 4, 5), causal)
    vmax = w[np.broadcast_to(causal, w.shape)].max()
    root = open_view(browser, tmp_path, cattn.view(w, Q, K, mask=causal))
    # 1. hover a query: a line per head to each key it may attend, its weight the array's
    for i in range(4):
        hover(browser, root.find_elements(By.CSS_SELECTOR, "g.tok.q")[i])
        got = sorted(drawn_lines(root))
        want = sorted((h, i, j, w[h, i, j], w[h, i, j] / vmax)
                      for h in range(3) for j in range(5) if causal[i, j])
        assert [g[:3] for g in got] == [x[:3] for x in want]  # no line for a masked key
        np.testing.assert_allclose([g[3] for g in got], [x[3] for x in want], rtol=1e-12)
        np.testing.assert_allclose([g[4] for g in got], [x[4] for x in want], rtol=1e-6)
    # 2. hover a key: the reverse, every query that may attend it
    hover(browser, root.find_elements(By.CSS_SELECTOR, "g.tok.k")[1])
    got = drawn_lines(root)
    assert sorted((h, i) for h, i, j, _, _ in got) == \
        sorted((h, i) for h in range(3) for i in range(4) if causal[i, 1])
    assert all(j == 1 for _, _, j, _, _ in got)
    # 3. the grids: one per head, on one scale; masked cells drawn as masked, not as 0
    cells = root.find_elements(By.CSS_SELECTOR, "table.grid[data-head='2'] td")
    assert len(cells) == 4 * 5
    for c in cells:
        i, j = int(c.get_attribute("data-query")), int(c.get_attribute("data-key"))
        if causal[i, j]:
            assert float(c.get_attribute("data-weight")) == pytest.approx(w[2, i, j], rel=1e-12)
        else:
            assert c.get_attribute("class") == "masked" and c.get_attribute("data-weight") is None
            assert "gradient" in c.value_of_css_property("background-image")
    # 4. Chinese labels are text on the page
    labels = [e.text for e in root.find_elements(By.CSS_SELECTOR, "g.tok.q text")]
    assert labels == Q


def test_picking_heads_and_a_layer(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    w = weights((2, 3, 4, 5))  # two layers, three heads
    root = open_view(browser, tmp_path, cattn.view(w, Q, K, heads=[0, 2]))
    grids = lambda: [int(t.get_attribute("data-head"))
                     for t in root.find_elements(By.CSS_SELECTOR, "table.grid")]
    assert grids() == [0, 2]  # the heads ticked at first
    root.find_element(By.CSS_SELECTOR, "input.head[data-head='0']").click()  # untick head 0
    root.find_element(By.CSS_SELECTOR, "input.head[data-head='1']").click()  # tick head 1
    assert grids() == [1, 2]
    hover(browser, root.find_elements(By.CSS_SELECTOR, "g.tok.q")[3])
    got = drawn_lines(root)
    assert sorted({h for h, *_ in got}) == [1, 2]
    assert all(w[0, h, i, j] == pytest.approx(x, rel=1e-12) for h, i, j, x, _ in got)
    Select(root.find_element(By.CSS_SELECTOR, "select.layer")).select_by_value("1")
    hover(browser, root.find_elements(By.CSS_SELECTOR, "g.tok.k")[0])
    hover(browser, root.find_elements(By.CSS_SELECTOR, "g.tok.q")[2])
    got = drawn_lines(root)
    assert len(got) == 2 * 5
    assert all(w[1, h, i, j] == pytest.approx(x, rel=1e-12) for h, i, j, x, _ in got)
    # tap holds a token's lines after the pointer leaves; a second tap releases them
    tok = root.find_elements(By.CSS_SELECTOR, "g.tok.q")[0]
    tok.click()
    hover(browser, root.find_element(By.CSS_SELECTOR, ".title"))
    assert {i for _, i, *_ in drawn_lines(root)} == {0}
    tok.click()
    assert drawn_lines(root) == []


def test_the_steps_views(browser, tmp_path):
    """steps().view() of MultiHeadAttention and AdditiveAttention: their weights and masks."""
    from selenium.webdriver.common.by import By

    mha = cattn.MultiHeadAttention(8, 2, seed=0)
    x = R.standard_normal((4, 8))
    s = mha.steps(x, is_causal=True, query_labels=Q, key_labels=Q)
    root = open_view(browser, tmp_path, s.view(), "mha.html")
    hover(browser, root.find_elements(By.CSS_SELECTOR, "g.tok.q")[1])
    got = drawn_lines(root)
    assert sorted((h, j) for h, _, j, _, _ in got) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(s.weights[h, 1, j] == pytest.approx(v, rel=1e-6) for h, _, j, v, _ in got)
    add = cattn.AdditiveAttention(8, 8, 6, seed=0)
    a = add.steps(x, x, x, key_lengths=3)
    root = open_view(browser, tmp_path, a.view(Q, Q), "additive.html")
    assert len(root.find_elements(By.CSS_SELECTOR, "td.masked")) == 4  # the 4th key, each row
    hover(browser, root.find_elements(By.CSS_SELECTOR, "g.tok.q")[0])
    assert sorted(j for _, _, j, _, _ in drawn_lines(root)) == [0, 1, 2]
