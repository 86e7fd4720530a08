"""The dispatch table: a call reads the kernel table of its level once, so set_level while calls
run is safe -- every result is bitwise the result of one level, never a mix, and nothing
crashes (before the tables were immutable this crashed the interpreter within two seconds)."""
import threading
import time

import numpy as np
import pytest

import cattn
from cattn import _cattn
from conftest import AVAILABLE

R = np.random.default_rng(3)
Q = R.standard_normal((2, 150, 40)).astype(np.float32)
K = R.standard_normal((2, 170, 40)).astype(np.float32)
A = R.standard_normal((130, 90))
B = R.standard_normal((90, 110))
MHA = cattn.MultiHeadAttention(40, 4, seed=0)

CALLS = {
    "sdpa": lambda: cattn.scaled_dot_product_attention(Q, K, K),
    "sdpa_causal_weights": lambda: np.concatenate([
        a.ravel() for a in cattn.scaled_dot_product_attention(Q, K, K, is_causal=True,
                                                               return_weights=True)]),
    "mha_causal": lambda: MHA(Q, is_causal=True),
    "matmul": lambda: cattn.matmul(A, B),
    "softmax": lambda: cattn.softmax(A),
}


@pytest.mark.skipif(len(AVAILABLE) < 2, reason="one dispatch level here: nothing to flip")
def test_set_level_while_calls_run():
    before = _cattn.get_config()["level"]
    want = {}
    try:
        for level in AVAILABLE:
            cattn.set_level(level)
            want[level] = {name: f() for name, f in CALLS.items()}
        stop = time.monotonic() + 2.0
        errors, counts = [], {name: 0 for name in CALLS}

        def caller(name):
            f = CALLS[name]
            try:
                while time.monotonic() < stop:
                    got = f()
                    if not any(np.array_equal(got, want[lv][name]) for lv in AVAILABLE):
                        errors.append(f"{name}: a result that no single level gives")
                        return
                    counts[name] += 1
            except Exception as e:  # noqa: BLE001 -- reported below
                errors.append(f"{name}: {e!r}")

        def flipper():
            i = 0
            while time.monotonic() < stop:
                cattn.set_level(AVAILABLE[i % len(AVAILABLE)])
                i += 1

        threads = [threading.Thread(target=caller, args=(n,)) for n in CALLS]
        threads.append(threading.Thread(target=flipper))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert all(c > 0 for c in counts.values()), counts
    finally:
        cattn.set_level(before)


def test_the_levels_differ_so_the_test_above_can_fail():
    """The check above compares with each level's own bits: it only means something if the
    levels give different bits for some call."""
    if len(AVAILABLE) < 2:
        pytest.skip("one dispatch level here")
    before = _cattn.get_config()["level"]
    try:
        got = []
        for level in AVAILABLE[:2]:
            cattn.set_level(level)
            got.append(CALLS["sdpa"]())
        assert not np.array_equal(got[0], got[1])
    finally:
        cattn.set_level(before)
