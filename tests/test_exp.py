"""The dispatch table's exp and row max (vectorised per level): accuracy in ulp, special values,
and the max that ignores NaN."""
import numpy as np
import pytest

from cattn import _cattn

pytestmark = pytest.mark.usefixtures("level")

# (dtype, lowest input that is not flushed to 0, highest finite, ulp bound, exact reference dtype)
CASES = [(np.float32, -87.33, 88.72, 2.0, np.float64),
         (np.float64, -708.39, 709.78, 2.0, np.longdouble)]


@pytest.mark.parametrize("dtype,lo,hi,bound,exact", CASES)
def test_ulp_error_is_bounded(dtype, lo, hi, bound, exact):
    x = np.linspace(lo, hi, 2_000_003).astype(dtype)
    y, total = _cattn.exp_sum(x, dtype(0))
    t = np.exp(x.astype(exact))
    ulp = np.abs((y.astype(exact) - t) / np.spacing(t.astype(dtype)).astype(exact))
    assert float(ulp.max()) <= bound
    assert total > 0  # (inf for float32: the range reaches exp(88.7))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shift_and_sum(dtype):
    x = np.random.default_rng(0).standard_normal(1001).astype(dtype) * 10
    y, total = _cattn.exp_sum(x, dtype(3))
    np.testing.assert_allclose(y, np.exp((x - dtype(3)).astype(np.float64)), 4e-7 if dtype == np.float32 else 1e-15)
    np.testing.assert_allclose(total, y.astype(np.float64).sum(), 1e-5 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values(dtype):
    x = np.array([-np.inf, np.nan, np.inf, -1e4, 1e4, 0.0, -0.0] + [0.0] * 9, dtype)
    y, _ = _cattn.exp_sum(x, dtype(0))
    assert y[0] == 0 and np.isnan(y[1]) and y[2] == np.inf and y[3] == 0 and y[4] == np.inf
    assert y[5] == 1 and y[6] == 1
    assert np.all(y[7:] == 1)  # lanes after a special value are unaffected


@pytest.mark.parametrize("dtype,big", [(np.float32, 88.5), (np.float64, 709.5)])
def test_both_paths_give_the_same_bits(dtype, big):
    """A vector with a lane past 88 (709) takes the wide path: its other lanes' bits are those of
    the short path that every softmax argument takes."""
    x = np.linspace(-90, 80, 4096).astype(dtype)
    short, _ = _cattn.exp_sum(x, dtype(0))
    mixed = x.copy()
    mixed[::16] = big  # one lane in every vector of 16, 8, 4 or 2
    wide, _ = _cattn.exp_sum(mixed, dtype(0))
    keep = np.ones(x.size, bool)
    keep[::16] = False
    np.testing.assert_array_equal(wide[keep], short[keep])
    assert np.all(np.isfinite(wide[::16])) and np.all(wide[::16] > 1e38 if dtype == np.float32 else wide[::16] > 1e307)


def nan_ignoring_max(x):
    """float64 reference: the max over the non-NaN entries, -inf when there are none."""
    x = np.asarray(x, np.float64)
    x = x[~np.isnan(x)]
    return x.max() if x.size else -np.inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 257, 1000])
def test_row_max_every_length_and_position(dtype, n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype)
    for f in (_cattn.row_max, _cattn.row_max_ref):
        assert f(x) == nan_ignoring_max(x)
        for pos in range(n):  # the max in every lane, main loop and tail alike
            y = x.copy()
            y[pos] = 10
            assert f(y) == 10, (f, pos)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_max_special_values(dtype):
    rng = np.random.default_rng(1)
    for n in (5, 40, 300):
        x = rng.standard_normal(n).astype(dtype)
        for pos in (0, 1, n // 2, n - 1):  # a NaN never wins, wherever it is
            y = x.copy()
            y[pos] = np.nan
            assert _cattn.row_max(y) == nan_ignoring_max(y) == _cattn.row_max_ref(y)
        assert _cattn.row_max(np.full(n, np.nan, dtype)) == -np.inf
        assert _cattn.row_max(np.full(n, -np.inf, dtype)) == -np.inf
        y = np.full(n, -np.inf, dtype)
        y[n // 3] = np.inf
        assert _cattn.row_max(y) == np.inf
        assert _cattn.row_max(-np.abs(x) - 1e30) == nan_ignoring_max(-np.abs(x) - 1e30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_max_keeps_the_max_across_nan(dtype):
    # the max in one lane and NaN in every later (or every earlier) entry, and a lone value among
    # NaN: a running max that let a NaN replace it in its lane would lose the max
    x = np.random.default_rng(3).standard_normal(200).astype(dtype)
    for pos in range(0, 200, 3):
        for nan_at in (slice(pos + 1, None), slice(None, pos)):
            y = x.copy()
            y[pos] = 10
            y[nan_at] = np.nan
            assert _cattn.row_max(y) == 10 == _cattn.row_max_ref(y), (pos, nan_at)
        y = np.full(200, np.nan, dtype)
        y[pos] = -5
        assert _cattn.row_max(y) == -5, pos


def test_row_max_strided_and_broadcast():
    x = np.random.default_rng(2).standard_normal((6, 700))
    np.testing.assert_array_equal(_cattn.row_max(x[:, ::3]), x[:, ::3].max(axis=1))
    np.testing.assert_array_equal(_cattn.row_max(x.T, axes=[0, ()]), x.max(axis=1))
