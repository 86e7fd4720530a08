"""The type stubs of the C extension and py.typed: mypy checks a user's code against them, and
a wrong use is caught (so the check can fail)."""
import os

import pytest

api = pytest.importorskip("mypy.api")
HERE = os.path.dirname(__file__)
# the stubs do not depend on the build: the sanitized and emulated builds' runs skip mypy
pytestmark = pytest.mark.skipif(
    "libasan" in os.environ.get("LD_PRELOAD", "") or bool(os.environ.get("CATTN_EMULATE_AVX512")),
    reason="the stubs were checked against the regular build")


def mypy(*args):
    out, err, rc = api.run(["--no-incremental", "--cache-dir", os.devnull,
                            "--ignore-missing-imports", *args])
    return rc, out + err


def test_stubs_and_user_code_type_check():
    import cattn

    pkg = os.path.dirname(cattn.__file__)
    assert os.path.exists(os.path.join(pkg, "py.typed"))
    assert os.path.exists(os.path.join(pkg, "_cattn.pyi"))
    rc, out = mypy(os.path.join(HERE, "typing_example.py"))
    assert rc == 0, out


def test_a_wrong_use_is_caught(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from cattn import _cattn\nn: str = _cattn.get_num_threads()\n"
                   "_cattn.set_num_threads('two')\n")
    rc, out = mypy(str(bad))
    assert rc == 1 and "bad.py:2: error" in out and "bad.py:3: error" in out, out


def test_the_stub_lists_every_ufunc():
    import re

    import numpy as np

    import cattn
    from cattn import _cattn

    stub = open(os.path.join(os.path.dirname(cattn.__file__), "_cattn.pyi"), encoding="utf-8").read()
    listed = set(re.findall(r"^(\w+): np.ufunc", stub, flags=re.M))
    present = {n for n in dir(_cattn) if isinstance(getattr(_cattn, n), np.ufunc)}
    assert listed == present, (present - listed, listed - present)
