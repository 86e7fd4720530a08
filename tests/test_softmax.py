"""cattn.softmax / cattn.log_softmax against the float64 references, policy included."""
import numpy as np
import pytest

import cattn
import reference as ref
from cattn import _cattn
from conftest import layouts, prefetches, tol

pytestmark = pytest.mark.usefixtures("level")
FUNCS = {
    "softmax": (cattn.softmax, _cattn.softmax_ref, ref.softmax),
    "log_softmax": (cattn.log_softmax, _cattn.log_softmax_ref, ref.log_softmax),
}


@pytest.fixture(params=list(FUNCS))
def func(request):
    return FUNCS[request.param]


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 15, 16, 17, 31, 33, 100, 257, 1000])
def test_rows(func, which, dtype, n):
    x = (np.random.default_rng(n).standard_normal((3, n)) * 5).astype(dtype)
    got = func[which](x)
    assert got.dtype == dtype and got.shape == x.shape
    np.testing.assert_allclose(got, func[2](x), *tol(dtype))


def test_is_a_real_gufunc():
    for f in (cattn.softmax, cattn.log_softmax):
        assert isinstance(f, np.ufunc) and f.signature == "(n)->(n)"


@pytest.mark.parametrize("axis", [0, 1, -1, -2, 2])
def test_axis(func, axis):
    x = np.random.default_rng(0).standard_normal((4, 5, 6))
    np.testing.assert_allclose(func[0](x, axis=axis), func[2](x, axis=axis), 1e-12, 1e-12)


def test_default_axis_is_last():
    x = np.random.default_rng(0).standard_normal((4, 5))
    np.testing.assert_allclose(cattn.softmax(x).sum(-1), 1.0, 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_values_do_not_overflow(dtype):
    x = np.array([[1e4, 1e4 - 1, -1e4], [3e4, 3e4, 3e4]], dtype)
    y = cattn.softmax(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y, ref.softmax(x), 1e-6)
    np.testing.assert_allclose(cattn.log_softmax(x), ref.log_softmax(x), 1e-6)


@pytest.mark.parametrize("n", [3, 40])
def test_minus_inf_policy(n):
    x = np.zeros((3, n))
    x[0, 1] = -np.inf  # one -inf: weight 0
    x[1, :] = -np.inf  # all -inf: zeros / -inf, not NaN
    y = cattn.softmax(x)
    assert y[0, 1] == 0 and np.isclose(y[0].sum(), 1)
    np.testing.assert_array_equal(y[1], 0.0)
    ly = cattn.log_softmax(x)
    assert ly[0, 1] == -np.inf and np.all(np.isneginf(ly[1]))
    np.testing.assert_allclose(y, ref.softmax(x), 1e-12)


@pytest.mark.parametrize("n", [3, 40])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_propagates_to_its_row_only(func, n, dtype):
    x = np.zeros((3, n), dtype)
    x[1, 2] = np.nan
    x[2, :] = -np.inf
    x[2, 0] = np.nan  # NaN beside -inf is still NaN
    y = func[0](x)
    assert np.all(np.isnan(y[1])) and np.all(np.isnan(y[2]))
    assert not np.any(np.isnan(y[0]))


def test_out_and_in_place():
    x = np.random.default_rng(1).standard_normal((5, 9))
    want = cattn.softmax(x)
    out = np.empty_like(x)
    assert cattn.softmax(x, out=out) is out
    np.testing.assert_array_equal(out, want)
    x2 = x.copy()
    cattn.softmax(x2, out=x2)
    np.testing.assert_allclose(x2, want, 1e-15)
    x3 = x.copy()
    cattn.log_softmax(x3, out=x3)
    np.testing.assert_allclose(x3, cattn.log_softmax(x), 1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layouts_match_contiguous(func, dtype):
    x = np.random.default_rng(2).standard_normal((4, 37)).astype(dtype)
    want = func[0](x)
    for name, xv in layouts(x).items():
        np.testing.assert_allclose(func[0](xv), want, *tol(dtype), err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_output_is_streamed_with_the_same_bits(dtype):
    """An output of 32 MiB or more is written around the caches (non-temporal stores, rows of
    every alignment): the same bits as the same rows computed in smaller calls, and the
    reference's values; in place too."""
    n = 1025  # odd: the rows start at every alignment, so the stores' aligned start is exercised
    rows = (32 << 20) // (n * np.dtype(dtype).itemsize) + 3
    x = (np.random.default_rng(1).standard_normal((rows, n)) * 4).astype(dtype)
    x[5, :7] = -np.inf
    got = cattn.softmax(x)
    cached = np.concatenate([cattn.softmax(x[i:i + 1000]) for i in range(0, rows, 1000)])
    np.testing.assert_array_equal(got, cached)
    np.testing.assert_allclose(got[::97], ref.softmax(x[::97]), *tol(dtype))
    cattn.softmax(x, out=x)
    np.testing.assert_array_equal(x, cached)


def test_integers_compute_in_float64():
    assert cattn.softmax(np.arange(4)).dtype == np.float64


@pytest.mark.parametrize("bad", [np.ones(3, complex), np.array(["a"]), np.array([None], object)])
def test_bad_dtype_is_type_error(bad):
    with pytest.raises(TypeError, match=r"^softmax: input has dtype"):
        cattn.softmax(bad)


def test_zero_dim_is_value_error():
    with pytest.raises(ValueError, match="softmax"):
        cattn.softmax(np.float64(1.0))


@pytest.mark.parametrize("function", ["cattn_ssoftmax_rows", "cattn_dsoftmax_rows",
                                      "cattn_slog_softmax_rows", "cattn_dlog_softmax_rows"])
def test_row_drivers_keep_their_prefetch(function):
    # the rows ahead are prefetched (softmax.inc's PREFETCH_ROW); compiled to nothing, the
    # results would be the same, only slower on arrays larger than the caches
    assert prefetches(function) >= 1
