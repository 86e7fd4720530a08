"""The README's Python examples run as written."""
import os
import re

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


def python_blocks(start, end):
    """The ```python blocks of the README between the headings `start` and `end`."""
    text = open(README, encoding="utf-8").read()
    return re.findall(r"```python\n(.*?)```", text[text.index(start):text.index(end)], flags=re.S)


def test_quick_start_runs():
    text = open(README, encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "no python block in the README"
    namespace = {}
    exec(compile(blocks[0], "README quick start", "exec"), namespace)
    assert namespace["out"].shape == (2, 8, 128, 64)
    assert namespace["w"].shape == (2, 8, 128, 256)
    assert namespace["c"].shape == (2, 8, 128, 256)


def test_gradients_example_runs_and_lowers_the_loss():
    blocks = python_blocks("## Gradients", "## API")
    ns = {}
    exec(compile(blocks[0], "README gradients", "exec"), ns)
    y2 = ns["mha"](ns["x"], is_causal=True)
    assert 0.5 * ((y2 - ns["target"]) ** 2).mean() < ns["loss"]
    import numpy as np
    ns["q"], ns["k"], ns["v"] = (ns["rng"].standard_normal((2, 5, 4)) for _ in range(3))
    ns["mask"] = np.tri(5, dtype=bool)
    exec(compile(blocks[1], "README vjp", "exec"), ns)
    assert ns["dmask"] is None and ns["dq"].shape == (2, 5, 4)


def test_train_a_model_example_learns():
    ns = {}
    exec(compile(python_blocks("## Train a model", "## Multi-head attention")[0],
                 "README train a model", "exec"), ns)
    assert float(ns["loss"]) < 0.5  # from log(10) = 2.3


def test_modern_attention_example_runs():
    blocks = python_blocks("## Modern attention", "## Gradients")
    assert len(blocks) == 1
    exec(compile(blocks[0], "README.md (Modern attention)", "exec"), {})
