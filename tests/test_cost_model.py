"""The cost model (csrc/runtime/cost.c): every per-shape choice is padded work / measured rate.

Rates are injected (_cattn.set_gemm_rate) to stand for CPUs this machine is not: a Zen 4, where a
512-bit FMA does the work of two 256-bit ones (the AVX-512 tile as fast as the AVX2 tile), and a
Zen 5 or an Intel server core, where it does the work of one (twice as fast).  The old rule --
the AVX2 tile for every product it pads less, whatever the CPU -- fails the Zen 5 cases."""
import math

import numpy as np
import pytest

import cattn
from cattn import _cattn

from conftest import AVAILABLE

LEVELS = list(_cattn.gemm_rates())
wide = pytest.mark.skipif("avx512" not in AVAILABLE,
                          reason="needs the avx512 level (native, or emulated: scripts/emulate.sh)")


@pytest.fixture
def inject():
    """inject(level, float32_rate, float64_rate); every rate is measured afresh afterwards."""
    def set_(level, f32, f64=None):
        _cattn.set_gemm_rate(level, False, f32)
        _cattn.set_gemm_rate(level, True, f32 / 2 if f64 is None else f64)
    yield set_
    for level in LEVELS:
        _cattn.set_gemm_rate(level, False, 0)
        _cattn.set_gemm_rate(level, True, 0)


def test_rates_are_measured_once_positive_and_finite():
    first = _cattn.gemm_rates()
    assert set(first) == set(_cattn.get_config()["levels"])
    for level, r in first.items():
        for dt, rate in r.items():  # float32, float64 (and "float32 16x16": a level's other tiles)
            assert math.isfinite(rate) and rate > 0, (level, dt, r)
    assert _cattn.gemm_rates() == first  # measured once per process: later choices agree


def test_an_injected_rate_is_used_and_zero_measures_again(inject):
    level = LEVELS[-1]
    inject(level, 123.0, 45.0)
    r = _cattn.gemm_rates()[level]
    assert (r["float32"], r["float64"]) == (123.0, 45.0)
    assert all(v == (123.0 if k.startswith("float32") else 45.0) for k, v in r.items()
               if not k.startswith("bfloat16"))  # (the pair tile has its own: test_half.py)
    _cattn.set_gemm_rate(level, False, 0)
    assert _cattn.gemm_rates()[level]["float32"] != 123.0
    with pytest.raises(ValueError, match="rate must be >= 0"):
        _cattn.set_gemm_rate(level, False, -1.0)
    with pytest.raises(ValueError, match="unknown level"):
        _cattn.set_gemm_rate("sse9", False, 1.0)


def test_the_tiles_a_choice_compares_are_measured_together(inject):
    """The first choice measures every tile and dtype of the best level's chain (AVX-512's two
    tiles and bfloat16 pair tile, AVX2's tile) in one pass, in turns: rates measured one after
    the other let a slow spell of the machine make one tile look slower than the others (a run
    in 3 took AVX2's tile for every float16 projection).  Other levels, no choice's rivals, stay
    unmeasured; SIMDe's AVX-512 is modelled, never measured."""
    for level in LEVELS:
        for dt in (0, 1, 2):
            if dt < 2 or any(k.startswith("bfloat16") for k in _cattn.gemm_rates(False)[level]):
                _cattn.set_gemm_rate(level, dt, 0)
    assert all(v == 0 for r in _cattn.gemm_rates(False).values() for v in r.values())
    best = _cattn.get_config()["best"]
    _cattn.gemm_choice(64, 64, 64, 0, best)  # one float32 choice
    known = _cattn.gemm_rates(False)
    chain = {"avx512": ["avx512", "avx2"]}.get(best, [best])  # the best level's tiles
    if _cattn.get_config()["avx512_emulated"]:
        chain = [lv for lv in chain if lv != "avx512"]
    for level, r in known.items():
        for what, rate in r.items():
            assert (rate > 0) == (level in chain), (level, what, known)


@wide
@pytest.mark.parametrize("dt", [False, True], ids=["float32", "float64"])
def test_zen5_like_cpu_takes_the_wide_tile_where_it_pads_a_little_more(inject, dt):
    inject("avx2", 50.0)
    inject("avx512", 100.0)  # a 512-bit FMA does the work of one 256-bit FMA: twice the rate
    for n in (256, 1000, 1024, 2048):  # the AVX2 tile pads less: the old rule took it
        assert _cattn.gemm_choice(n, n, n, dt, "avx512").startswith("avx512 "), n
    assert _cattn.gemm_choice(96, 512, 64, dt, "avx512") == ("avx512 12x16" if dt else "avx512 12x32")
    # one vector wide: the 16-row tile (16x16 is one tile; 24x32 in the wide one)
    assert _cattn.gemm_choice(16, 16, 64, dt, "avx512") == ("avx512 16x8" if dt else "avx512 16x16")
    # a few rows: AVX2's 6-row tile, even at half the rate (6x8 there; 12x16 or 16x8 here)
    assert _cattn.gemm_choice(6, 8, 64, dt, "avx512") == ("avx2 6x8" if dt else "avx2 6x16")


@wide
@pytest.mark.parametrize("dt", [False, True], ids=["float32", "float64"])
def test_zen4_like_cpu_takes_the_tile_that_pads_less(inject, dt):
    inject("avx2", 50.0)
    inject("avx512", 50.0)  # a 512-bit FMA does the work of two 256-bit ones
    wide, tall = ("avx512 12x16", "avx512 16x8") if dt else ("avx512 12x32", "avx512 16x16")
    narrow = "avx2 6x8" if dt else "avx2 6x16"
    assert _cattn.gemm_choice(6, 16, 64, dt, "avx512") == narrow
    assert _cattn.gemm_choice(16, 16, 64, dt, "avx512") == tall     # 16x16: no padding at all
    assert _cattn.gemm_choice(96, 512, 64, dt, "avx512") == wide    # all exact: a tie, the widest
    # 1000 rows: 1008 in the wide tile, 1002 in AVX2's, 1008 in the tall one
    assert _cattn.gemm_choice(1000, 1024, 64, dt, "avx512") == narrow
    # a measured 10 % edge for AVX-512 outweighs 1000's 0.6 % more padding
    inject("avx512", 55.0)
    assert _cattn.gemm_choice(1000, 1024, 64, dt, "avx512") == wide


@wide
@pytest.mark.parametrize("shape", [(16, 64, 16), (32, 100, 16), (15, 70, 13), (47, 130, 9)])
def test_the_tall_tile_is_right_and_gives_the_same_bits(inject, shape):
    """Products that take AVX-512's 16-row tile (one vector wide), batched and alone, with edges
    in both directions: right, and the same bits as AVX2's 6-row tile."""
    m, k, n = shape
    rng = np.random.default_rng(1)
    for dt in (np.float32, np.float64):
        a = rng.standard_normal((5, m, k)).astype(dt)
        b = rng.standard_normal((5, k, n)).astype(dt)
        got = {}
        for w in (10.0, 50.0):  # AVX-512 slow: AVX2's tile; as fast as AVX2: the tall one
            inject("avx2", 50.0)
            inject("avx512", w)
            got[_cattn.gemm_choice(m, n, k, dt == np.float64, "avx512")] = run_on("avx512", a, b)
        assert sorted(t.split()[0] for t in got) == ["avx2", "avx512"], got.keys()
        assert any(t.startswith("avx512 16x") for t in got) or dt == np.float64, got.keys()
        first, second = got.values()
        assert np.array_equal(first, second)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        np.testing.assert_allclose(first, ref, rtol=1e-4 if dt == np.float32 else 1e-12,
                                   atol=1e-3 if dt == np.float32 else 1e-12)


def run_on(level, a, b):
    cattn.set_level(level)
    try:
        return cattn.matmul(a, b)
    finally:
        cattn.set_level(_cattn.get_config()["best"])


@wide
def test_the_choice_changes_the_speed_never_the_bits(inject):
    rng = np.random.default_rng(0)
    for dt in (np.float32, np.float64):
        a = rng.standard_normal((256, 300)).astype(dt)
        b = rng.standard_normal((300, 256)).astype(dt)
        got = {}
        for w in (10.0, 1000.0):  # the wide tile slow (AVX2 picked), then fast (AVX-512 picked)
            inject("avx2", 100.0)
            inject("avx512", w)
            picked = _cattn.gemm_choice(256, 256, 300, dt == np.float64, "avx512").split()[0]
            assert picked == ("avx2" if w == 10.0 else "avx512")
            cattn.set_level("avx512")
            try:
                got[picked] = cattn.matmul(a, b)
            finally:
                cattn.set_level(_cattn.get_config()["best"])
        assert np.array_equal(got["avx2"], got["avx512"])
        ref = a.astype(np.float64) @ b.astype(np.float64)
        np.testing.assert_allclose(got["avx2"], ref, rtol=1e-4 if dt == np.float32 else 1e-12,
                                   atol=1e-3 if dt == np.float32 else 1e-12)


def test_a_level_without_a_narrow_tile_keeps_its_own(inject):
    for level in LEVELS:
        if level != "avx512":
            assert _cattn.gemm_choice(16, 16, 16, False, level).split()[0] == level
            assert _cattn.gemm_choice(1024, 1024, 1024, True, level).split()[0] == level


def test_a_second_thread_pays_by_time_not_by_flops(inject):
    """The same work takes two threads on a slow level and one on a fast one: a thread must get
    at least 10 us.  (The old rule counted flops: 1e6 flops took two threads at any speed.)"""
    level = _cattn.get_config()["level"]
    n = cattn.get_num_threads()
    cattn.set_num_threads(2)
    try:
        inject(level, 10.0)    # 20 flops per ns: 1e6 flops take 50 us
        assert _cattn.parallel_threads(100, 1e6) == 2
        inject(level, 1000.0)  # 2,000 flops per ns: 0.5 us
        assert _cattn.parallel_threads(100, 1e6) == 1
        assert _cattn.parallel_threads(100, 1e8) == 2
        assert _cattn.parallel_threads(1, 1e12) == 1  # never more threads than items
    finally:
        cattn.set_num_threads(n)


def test_show_config_prints_the_rates_and_the_choices(capsys):
    cattn.show_config()
    text = capsys.readouterr().out
    assert "GEMM rate" in text and "GEMM tile" in text and "  bfloat16  : " in text
    for level in LEVELS:
        assert f"  {level} " in text
