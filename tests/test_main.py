"""python -m cattn and the configuration functions."""
import os
import subprocess
import sys

import numpy as np
import pytest

import cattn
from cattn.lessons import walkthrough as demo
from cattn import _cattn


def test_demo_runs_and_checks_itself():
    r = subprocess.run([sys.executable, "-m", "cattn"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for text in ("注意力得分", "注意力分布", "注意力输出", "-> OK", "code path"):
        assert text in r.stdout


def test_train_prints_progress_translations_and_an_alignment():
    r = subprocess.run([sys.executable, "-m", "cattn", "--train", "2"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr  # (tqdm writes its bar to stderr)
    for text in ("training (additive attention)", "exact match on 500 held-out dates",
                 "tuesday 9 may 2018  ->", "alignment (注意力分布)"):
        assert text in out
    assert any(ch in out for ch in "░▒▓█")
    assert "not checked, stopped after" in out  # two seconds: the claims are only reported
    r = subprocess.run([sys.executable, "-m", "cattn", "--train", "soon"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "SECONDS must be a number" in r.stderr


@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="500 training steps under AddressSanitizer take minutes: the "
                           "unsanitized run (CI step 1) checks the claims, and the sanitizers "
                           "see the same kernels in every other test")
def test_train_reaches_the_lessons_claims():
    """The whole recipe (500 steps), on the default code path (tests/test_notebooks.py runs the
    same recipe in notebook 06 on every level): its claims are checked and hold."""
    r = subprocess.run([sys.executable, "-m", "cattn", "--train"], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "500 steps;" in r.stdout and "claims" in r.stdout and "-> OK" in r.stdout


def test_demo_example_matches_the_notes():
    q, k, _ = demo.example()
    np.testing.assert_allclose(q[0] @ k.T, [112.0, 96.0], 1e-12)
    w = cattn.softmax(q @ k.T / 8.0)
    np.testing.assert_allclose(w[0], [0.8808, 0.1192], atol=1e-4)


def test_show_config(capsys):
    cattn.show_config()
    out = capsys.readouterr().out
    assert cattn.__version__ in out and _cattn.get_config()["level"] in out
    # a SIMDe test build (scripts/emulate.sh avx512|neon) says so; a normal build never does
    c = _cattn.get_config()
    assert ("emulation" in out) == (c["avx512_emulated"] or c["neon_emulated"])
    assert ", ".join(c["levels"]) in out and c["levels"][0] == "ref" and c["best"] in c["levels"]


def test_set_level_errors():
    with pytest.raises(ValueError, match="unknown level 'sse9'"):
        cattn.set_level("sse9")


@pytest.mark.parametrize("arch,expect", [("ref", "ref"), ("bogus", None)])
def test_cattn_arch_environment(arch, expect):
    env = dict(os.environ, CATTN_ARCH=arch)
    code = "import cattn; from cattn import _cattn; print(_cattn.get_config()['level'])"
    r = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    if expect:
        assert r.stdout.strip() == expect
    else:  # an unknown name warns and keeps the best level
        assert "CATTN_ARCH='bogus'" in r.stderr
        assert r.stdout.strip() == _cattn.get_config()["best"]


def test_demo_steps_prints_every_step():
    r = subprocess.run([sys.executable, "-m", "cattn", "--steps"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    for text in ("Q (queries", "K (keys", "V (values", "scores = Q K^T", "scaled_scores",
                 "mask (True = may attend)", "softmax", "output = weights V", "OK"):
        assert text in r.stdout
    assert "[[0.881 0.119]" in r.stdout


def test_demo_heads_prints_text_heatmaps():
    r = subprocess.run([sys.executable, "-m", "cattn", "--heads"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(" head ") == 8  # 4 heads, self- and cross-attention
    assert "l'Afrique" in r.stdout and "September" in r.stdout and "parameters: 1088" in r.stdout
    assert any(ch in r.stdout for ch in "▒▓█")
    assert "steps().output equals the fused forward pass: OK" in r.stdout


def test_demo_rejects_unknown_options():
    r = subprocess.run([sys.executable, "-m", "cattn", "--nope"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "unknown option '--nope'" in r.stderr


def test_a_closed_pipe_ends_quietly():
    """python -m cattn -h | head -1: no BrokenPipeError traceback when the reader stops."""
    r = subprocess.run(f"'{sys.executable}' -m cattn -h | head -1; "
                       f"'{sys.executable}' -m cattn | head -1",
                       shell=True, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    assert r.stderr == "", r.stderr
    assert r.stdout.count("\n") == 2
