"""benchmarks/ab_builds.py, the in-process comparison of two builds, on this build against itself;
benchmarks/row_kernels.py, decoding's row kernels alone."""
import ctypes
import os
import sys

import numpy as np
import pytest

from cattn import _cattn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import ab_builds  # noqa: E402
import row_kernels  # noqa: E402


def test_a_build_against_itself(capsys):
    ab_builds.main([_cattn.__file__, _cattn.__file__, "--seconds", "0",
                    "matmul:16", "batch:3,5,7,4", "softmax:3,40:float64", "attention:1,2,24,8"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "ms" in line]
    assert len(rows) == 4
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[4] == "yes"          # the same bits: it is the same code
        assert float(cells[3]) > 0        # a speed ratio
        assert int(cells[5]) >= 6         # at least six turns


@pytest.mark.parametrize("case, message", [("matmul:4,4", "one size"), ("gemm:4", "unknown kernel"),
                                           ("matmul:4:int8", "not float32"), ("matmul", "KERNEL:SHAPE"),
                                           ("batch:2,3", "four sizes")])
def test_bad_cases_are_refused_with_the_reason(case, message):
    with pytest.raises(SystemExit, match=message):
        ab_builds.main([_cattn.__file__, _cattn.__file__, "--seconds", "0", case])


def test_disagreeing_builds_are_refused(monkeypatch):
    real, made = ab_builds.case_call, []

    def skewed(module, kernel, shape, dtype):  # the second call made, the new build's, is off by 1
        f = real(module, kernel, shape, dtype)
        made.append(f)
        return (lambda: np.asarray(f()) + 1) if len(made) == 2 else f

    monkeypatch.setattr(ab_builds, "case_call", skewed)
    with pytest.raises(SystemExit, match="disagree"):
        ab_builds.main([_cattn.__file__, _cattn.__file__, "--seconds", "0", "matmul:8"])


@pytest.mark.skipif(sys.platform == "win32", reason="a .pyd exports no kernel symbols to ctypes")
def test_row_kernels_times_every_level_here(capsys):
    so = ctypes.CDLL(_cattn.__file__)  # ref and the levels here with row kernels of their own
    levels = [lv for lv in _cattn.gemm_rates() if hasattr(so, f"cattn_sdot_rows_{lv}")]
    assert levels[0] == "ref"
    row_kernels.main(["--so", _cattn.__file__, "--levels", ",".join(levels), "--keys", "37",
                      "--repeats", "1"])
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if "ns/key" in line]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (level, kind, name) for level in levels for kind in "shb" for name in ("dot", "axpy")]
    assert all(float(r[3]) > 0 for r in rows)


def test_call_by_call_alternates_the_callables():
    """common.call_by_call: one call of each in turn (so that a drifting machine slows all
    alike), at least five rounds, each one's median time."""
    import common

    order = []
    funcs = {w: (lambda w=w: order.append(w)) for w in ("float32", "float16", "bfloat16")}
    t = common.call_by_call(funcs, 0.0)
    assert set(t) == set(funcs) and all(v >= 0 for v in t.values())
    rounds = [tuple(order[i:i + 3]) for i in range(0, len(order), 3)]
    assert len(rounds) >= 6  # a first call each, then at least five timed rounds
    assert all(r == ("float32", "float16", "bfloat16") for r in rounds)


def test_bench_half_decode_runs_quick():
    """benchmarks/bench_half.py --quick --only decode: the decode rows, each half dtype with its
    ratio to float32 and the goal (the script checks the half results against float32's)."""
    import subprocess

    script = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "bench_half.py")
    out = subprocess.run([sys.executable, script, "--quick", "--only", "decode", "--budget", "0.05"],
                         capture_output=True, text=True, check=True).stdout
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in out.splitlines()
            if line.startswith("| decode")]
    assert [r[1] for r in rows][:2] == ["float32", "float16"]
    for r in rows[1:]:
        if not r[1].startswith("torch"):
            assert float(r[3]) > 0 and r[5] == "half >= 1.8x float32"
