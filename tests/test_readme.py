"""The README's and the site's examples run as written: every ```python block of README.md and of
each page of docs/ (in order, one namespace per page, as a reader runs them), with checks that
they do what their text says. The docstrings' examples run in test_docs.py and under pytest's
--doctest-modules; the lessons are executed by test_notebooks.py and by the site's build."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
README = os.path.join(ROOT, "README.md")
DOCS = os.path.join(ROOT, "docs")
PAGES = sorted(f for f in os.listdir(DOCS) if f.endswith(".md"))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", read(path), flags=re.S)


def run_page(path):
    ns = {}
    for i, block in enumerate(python_blocks(path)):
        exec(compile(block, f"{os.path.relpath(path, ROOT)} (python block {i + 1})", "exec"), ns)
    return ns


def test_readme_quick_start_runs():
    ns = run_page(README)
    assert ns["out"].shape == (2, 8, 128, 64)
    assert ns["w"].shape == (2, 8, 128, 256)
    assert ns["c"].shape == (2, 8, 128, 256)


def test_readme_is_one_screen_or_two_and_points_into_the_site():
    text = read(README)
    assert len(text.splitlines()) <= 150
    for page in PAGES:
        if page != "index.md":
            assert f"(docs/{page})" in text, page
    assert "(docs/api.rst)" in text


def test_readme_picture_is_what_python_m_cattn_heads_draws():
    block = re.search(r"```\n( head 2\n.*?)```", read(README), flags=re.S).group(1)
    out = subprocess.run([sys.executable, "-m", "cattn", "--heads"], capture_output=True,
                         text=True, check=True).stdout
    assert block.rstrip("\n") in out


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(os.path.join(DOCS, p))])
def test_every_page_example_runs(page):
    run_page(os.path.join(DOCS, page))


def test_gradients_example_lowers_the_loss():
    ns = run_page(os.path.join(DOCS, "gradients.md"))
    y2 = ns["mha"](ns["x"], is_causal=True)
    assert 0.5 * ((y2 - ns["target"]) ** 2).mean() < ns["loss"]
    assert ns["dmask"] is None and ns["dq"].shape == (2, 5, 4)


def test_train_a_model_example_learns():
    ns = run_page(os.path.join(DOCS, "training.md"))
    assert float(ns["loss"]) < 0.5  # from log(10) = 2.3
    assert float(ns["loss16"]) < 0.5 and str(ns["out16"].weight.dtype) == "bfloat16"  # in half


def test_multi_head_example_shapes():
    ns = run_page(os.path.join(DOCS, "multi_head.md"))
    assert ns["y"].shape == (2, 10, 512) and ns["w"].shape == (2, 10, 12)
    assert np.isfinite(ns["s"].output).all()
