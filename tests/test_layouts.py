"""Memory layouts and out=: every operation, in float32 and float64, gives bitwise the same
result for the strided views cattn's loops really receive -- C/F order, transposed, step-2,
negative-step rows and columns, strided batch items, zero-stride (broadcast_to) -- as for
contiguous copies; out= that overlaps an input equals a fresh out.  (Unaligned and byte-swapped
operands never reach cattn's loops: NumPy copies them first, so only their acceptance is tested.)"""
import numpy as np
import pytest

import cattn
from conftest import is_a_view_numpy_passes_as_is, layouts

pytestmark = pytest.mark.usefixtures("level")
R = np.random.default_rng(0)


def broadcast_row(a):
    """a with its first row repeated through a zero stride, and the same as a real copy."""
    z = np.broadcast_to(a[..., :1, :], a.shape)
    return z, np.ascontiguousarray(z)


OPS = {
    "matmul": (2, lambda a, b: cattn.matmul(a, b), [(7, 9), (9, 11)]),
    "softmax": (1, lambda x: cattn.softmax(x), [(5, 37)]),
    "softmax_axis0": (1, lambda x: cattn.softmax(x, axis=0), [(37, 5)]),
    "log_softmax": (1, lambda x: cattn.log_softmax(x), [(5, 37)]),
    "sdpa": (3, lambda q, k, v: cattn.scaled_dot_product_attention(q, k, v), [(2, 80, 16), (2, 70, 16), (2, 70, 12)]),
    "sdpa_causal": (3, lambda q, k, v: cattn.scaled_dot_product_attention(q, k, v, is_causal=True), [(2, 80, 16), (2, 90, 16), (2, 90, 12)]),
    "sdpa_mask": (4, lambda q, k, v, m: cattn.scaled_dot_product_attention(q, k, v, m), [(2, 9, 16), (2, 7, 16), (2, 7, 12), (2, 9, 7)]),
    "sdpa_weights": (3, lambda q, k, v: cattn.scaled_dot_product_attention(q, k, v, return_weights=True)[1], [(2, 9, 16), (2, 7, 16), (2, 7, 12)]),
    "mha": (3, lambda q, k, v: MHA(q, k, v), [(2, 9, 16), (2, 7, 16), (2, 7, 16)]),
}
MHA = cattn.MultiHeadAttention(16, 4, seed=0, dtype=np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", list(OPS))
def test_every_layout_is_bitwise_the_contiguous_result(op, dtype):
    n, f, shapes = OPS[op]
    args = [R.standard_normal(s).astype(dtype) for s in shapes]
    want = f(*args)
    for i in range(n):
        for name, x in layouts(args[i]).items():
            assert is_a_view_numpy_passes_as_is(x)
            got = f(*(args[:i] + [x] + args[i + 1:]))
            np.testing.assert_array_equal(got, want, err_msg=f"operand {i}, {name}")
        z, zc = broadcast_row(args[i])
        np.testing.assert_array_equal(f(*(args[:i] + [z] + args[i + 1:])),
                                      f(*(args[:i] + [zc] + args[i + 1:])),
                                      err_msg=f"operand {i}, zero stride")


@pytest.mark.parametrize("op", ["matmul", "softmax", "sdpa", "sdpa_mask", "mha"])
def test_byteswapped_and_unaligned_operands_are_accepted(op):
    """cattn's type resolution and its direct path accept what NumPy then copies for the loop."""
    n, f, shapes = OPS[op]
    args = [R.standard_normal(s) for s in shapes]
    want = f(*args)
    swapped = [a.astype(a.dtype.newbyteorder()) if a.dtype.kind == "f" else a for a in args]
    np.testing.assert_array_equal(f(*swapped), want)
    buf = np.zeros(args[0].nbytes + 1, np.uint8)
    un = buf[1:].view(args[0].dtype).reshape(args[0].shape)
    un[...] = args[0]
    assert not is_a_view_numpy_passes_as_is(un)
    np.testing.assert_array_equal(f(un, *args[1:]), want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mha_weight_layouts_agree_closely(dtype):
    """Per-head weights that do not sit side by side take the per-head path, which sums the
    heads' output projections in another order: equal to rounding, not bitwise."""
    x = R.standard_normal((2, 9, 16)).astype(dtype)
    W = [R.standard_normal(s).astype(dtype) for s in ((4, 16, 4), (4, 16, 4), (4, 16, 4), (4, 4, 16))]
    want = cattn.multi_head_attention(x, x, x, *W)
    for name, w in layouts(W[0]).items():
        got = cattn.multi_head_attention(x, x, x, w, *W[1:])
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-5 if dtype == np.float32 else 1e-12, err_msg=name)


OUT_OPS = {
    "matmul": (lambda a, b, out: cattn.matmul(a, b, out=out), [(6, 6), (6, 6)]),
    "softmax": (lambda x, out: cattn.softmax(x, out=out), [(6, 6)]),
    "sdpa": (lambda q, k, v, out: cattn.scaled_dot_product_attention(q, k, v, out=out), [(80, 8), (80, 8), (80, 8)]),
    "sdpa_causal": (lambda q, k, v, out: cattn.scaled_dot_product_attention(q, k, v, is_causal=True, out=out), [(80, 8), (80, 8), (80, 8)]),
    "attention_ufunc": (lambda q, k, v, out: cattn.attention(q, k, v, 0.3, out=out), [(6, 8), (6, 8), (6, 8)]),
}


@pytest.mark.parametrize("op", list(OUT_OPS))
def test_out_overlapping_each_input_equals_a_fresh_out(op):
    f, shapes = OUT_OPS[op]
    args = [R.standard_normal(s) for s in shapes]
    want = f(*args, None)
    for i in range(len(args)):
        copies = [a.copy() for a in args]
        r = f(*copies, copies[i])
        assert r is copies[i]
        np.testing.assert_array_equal(copies[i], want, err_msg=f"out is operand {i}")
        # a shifted view that overlaps without being the same array
        copies = [a.copy() for a in args]
        big = np.zeros((shapes[i][0] + 1, shapes[i][1]))
        big[1:] = copies[i]
        copies[i] = big[1:]
        f(*copies, big[:-1])
        np.testing.assert_array_equal(big[:-1], want, err_msg=f"out overlaps operand {i}")


@pytest.mark.parametrize("op", list(OUT_OPS))
def test_bad_outs(op):
    f, shapes = OUT_OPS[op]
    args = [R.standard_normal(s) for s in shapes]
    good = f(*args, None)
    with pytest.raises(ValueError, match="read-only"):
        f(*args, np.broadcast_to(np.zeros(good.shape[-1:]), good.shape))
    with pytest.raises(ValueError):
        f(*args, np.empty(good.shape[:-1] + (good.shape[-1] + 1,)))
    with pytest.raises(TypeError):
        f(*args, np.empty(good.shape, np.int32))
