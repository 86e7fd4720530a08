"""cattn.matmul against np.matmul in float64 (and the reference kernel beside the fast one)."""
import numpy as np
import pytest

import cattn
import reference as ref
from cattn import _cattn
from conftest import layouts, prefetches, tol

pytestmark = pytest.mark.usefixtures("level")
KERNELS = {"fast": cattn.matmul, "ref": _cattn.matmul_ref}
SIZES = [0, 1, 3, 8, 17, 33]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,k,m", [(n, k, m) for n in SIZES for k in SIZES for m in (0, 1, 5, 8, 16, 19)])
def test_shapes(kernel, dtype, n, k, m):
    rng = np.random.default_rng(n * 1000 + k * 10 + m)
    a = rng.standard_normal((n, k)).astype(dtype)
    b = rng.standard_normal((k, m)).astype(dtype)
    got = KERNELS[kernel](a, b)
    assert got.dtype == dtype and got.shape == (n, m)
    np.testing.assert_allclose(got, ref.matmul(a, b), *tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,k,m", [(130, 300, 70), (97, 513, 260), (2, 2100, 3)])
def test_blocked_sizes(dtype, n, k, m):
    """Sizes that cross the cache blocks (k > 256, m > 96) and the microkernel edges."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal((n, k)).astype(dtype)
    b = rng.standard_normal((k, m)).astype(dtype)
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(cattn.matmul(a, b), ref.matmul(a, b), rtol * 10, atol * 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("n,k,m", [(97, 200, 130), (190, 128, 100), (64, 256, 150), (101, 77, 515)])
def test_one_k_block_reads_a_in_place(dtype, order, n, k, m):
    """One k block (k <= 256), b too large to pack on the stack, a at most two packed blocks:
    only b is packed and a is read in place (gemm.inc, gemm_serial), edge tiles included. Right,
    and the same bits as two threads, which pack a for a tall product (gemm_shared)."""
    rng = np.random.default_rng(n + k + m)
    a = np.asarray(rng.standard_normal((n, k)).astype(dtype), order=order)
    b = rng.standard_normal((k, m)).astype(dtype)
    before = cattn.get_num_threads()
    try:
        cattn.set_num_threads(1)
        one = cattn.matmul(a, b)
        cattn.set_num_threads(2)
        two = cattn.matmul(a, b)
    finally:
        cattn.set_num_threads(before)
    np.testing.assert_allclose(one, ref.matmul(a, b), *tol(dtype))
    np.testing.assert_array_equal(two, one)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,k,m", [(400, 300, 200), (130, 513, 97), (1100, 20, 1030), (31, 40, 25)])
def test_threads_sharing_packed_b(dtype, n, k, m):
    """With two or more threads, tall products (n >= m) pack b once for all threads (gemm.inc,
    gemm_shared): several k blocks (k > 256), n past one column block (1030 > 1024 doubles),
    edge tiles -- the same bits as one thread, and right."""
    rng = np.random.default_rng(11)
    a = rng.standard_normal((n, k)).astype(dtype)
    b = rng.standard_normal((k, m)).astype(dtype)
    before = cattn.get_num_threads()
    try:
        got = []
        for t in (1, 2, 3):
            cattn.set_num_threads(t)
            got.append(cattn.matmul(a, b))
    finally:
        cattn.set_num_threads(before)
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(got[0], ref.matmul(a, b), rtol * 10, atol * 10)
    for g in got[1:]:
        np.testing.assert_array_equal(g, got[0])


@pytest.mark.parametrize("sa,sb", [
    ((4,), (4,)), ((4,), (4, 3)), ((2, 4), (4,)), ((5, 2, 4), (4,)), ((4,), (5, 4, 3)),
    ((2, 1, 3, 4), (5, 4, 6)), ((1, 3, 4), (2, 1, 4, 2)), ((0, 3, 4), (4, 2)),
])
def test_promotion_and_broadcasting(sa, sb):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    got = cattn.matmul(a, b)
    want = np.matmul(a, b)
    assert np.shape(got) == want.shape
    np.testing.assert_allclose(got, want, 1e-12, 1e-12)


def test_is_a_real_gufunc():
    assert isinstance(cattn.matmul, np.ufunc)
    assert cattn.matmul.signature == "(n?,k),(k,m?)->(n?,m?)"
    assert sorted(cattn.matmul.types) == ["dd->d", "ee->e", "ff->f"]  # float16: read as half


def test_out_and_axes():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 5, 2))
    out = np.empty((3, 4, 2))
    r = cattn.matmul(a, b, out=out)
    assert r is out
    np.testing.assert_allclose(out, a @ b, 1e-12)
    # axes: operands stored with the core dims first
    at, bt = np.moveaxis(a, 0, -1).copy(), np.moveaxis(b, 0, -1).copy()
    got = cattn.matmul(at, bt, axes=[(0, 1), (0, 1), (1, 2)])
    np.testing.assert_allclose(got, np.matmul(at, bt, axes=[(0, 1), (0, 1), (1, 2)]), 1e-12)


@pytest.mark.parametrize("dt", [np.int8, np.int32, np.int64, np.uint16, bool])
def test_integers_compute_in_float64(dt):
    a = np.arange(12).reshape(3, 4).astype(dt)
    b = np.arange(8).reshape(4, 2).astype(dt)
    got = cattn.matmul(a, b)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, ref.matmul(a, b))


def test_mixed_float_dtypes_promote():
    a32, b64 = np.ones((2, 3), np.float32), np.ones((3, 2), np.float64)
    assert cattn.matmul(a32, b64).dtype == np.float64
    assert cattn.matmul(a32, a32.T).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("which", ["a", "b"])
def test_layouts_match_contiguous(dtype, which):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 13, 9)).astype(dtype)
    b = rng.standard_normal((2, 9, 11)).astype(dtype)
    want = cattn.matmul(a, b)
    for name, x in layouts(a if which == "a" else b).items():
        got = cattn.matmul(x, b) if which == "a" else cattn.matmul(a, x)
        np.testing.assert_allclose(got, want, *tol(dtype), err_msg=name)


def test_out_overlapping_input_equals_fresh_out():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((6, 6))
    b = rng.standard_normal((6, 6))
    want = cattn.matmul(a, b)
    a2 = a.copy()
    cattn.matmul(a2, b, out=a2)
    np.testing.assert_allclose(a2, want, 1e-12)
    b2 = b.copy()
    cattn.matmul(a, b2, out=b2[::-1, ::-1][::-1, ::-1])
    np.testing.assert_allclose(b2, want, 1e-12)


@pytest.mark.parametrize("a,b", [
    (np.ones((3, 4)), np.ones((3, 5))),
    (np.ones(3), np.ones(4)),
    (np.float64(2.0), np.ones(3)),
])
def test_core_dim_errors_name_the_function(a, b):
    with pytest.raises(ValueError):
        np.matmul(a, b)
    with pytest.raises(ValueError, match=r"^matmul: "):
        cattn.matmul(a, b)


def test_batch_dims_that_do_not_broadcast_give_the_shapes():
    """NumPy's own broadcasting check answers here (the ufunc is NumPy's): a ValueError that gives
    the shapes, as np.matmul's does."""
    a, b = np.ones((2, 3, 4)), np.ones((3, 4, 5))
    with pytest.raises(ValueError, match=r"\(2,3,4\).*\(3,4,5\)"):
        cattn.matmul(a, b)


@pytest.mark.parametrize("bad", [np.ones(3, complex), np.array(["a", "b", "c"]),
                                 np.array([1, None, 2], object)])
def test_raises_type_error_for_non_real(bad):
    with pytest.raises(TypeError, match=r"^matmul: .*dtype"):
        cattn.matmul(bad, np.ones(3))


def test_unsafe_out_dtype_is_type_error():
    with pytest.raises(TypeError):
        cattn.matmul(np.ones((2, 2)), np.ones((2, 2)), out=np.empty((2, 2), np.int64))


def test_batched_loop_prefetches_the_next_item_only_for_double():
    # loops.c's PREFETCH_ITEM of a's next item: float64 batches from memory wait on it without it
    # (compiled to nothing, the results would be the same); float32 batches ran slower with it
    assert prefetches("matmul_items_d") >= 1
    assert prefetches("matmul_items_f") == 0
