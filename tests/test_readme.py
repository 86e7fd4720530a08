"""The README's Python examples run as written."""
import os
import re

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


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
    text = open(README, encoding="utf-8").read()
    section = text[text.index("## Gradients"):text.index("## API")]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
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
    text = open(README, encoding="utf-8").read()
    section = text[text.index("## Train a model"):text.index("## Multi-head attention")]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    ns = {}
    exec(compile(blocks[0], "README train a model", "exec"), ns)
    assert float(ns["loss"]) < 0.5  # from log(10) = 2.3
