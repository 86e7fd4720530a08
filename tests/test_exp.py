"""The dispatch table's exp (vectorised on AVX2): accuracy in ulp and the special values."""
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
