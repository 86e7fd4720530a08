"""Array-likes in, and the gufuncs on Dask arrays chunked along batch dims."""
import numpy as np
import pytest

import cattn


def test_lists_and_tuples():
    out = cattn.scaled_dot_product_attention([[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]],
                                             ((1.0, 2.0), (3.0, 4.0)))
    assert out.shape == (1, 2)
    assert cattn.matmul([[1, 2]], [[3], [4]])[0, 0] == 11.0
    m = cattn.MultiHeadAttention(4, 2, seed=0)
    assert m([[0.0, 1.0, 2.0, 3.0]]).shape == (1, 4)


def test_torch_tensors():
    torch = pytest.importorskip("torch")
    q = torch.randn(2, 3, 8, dtype=torch.float64)
    out = cattn.scaled_dot_product_attention(q, q, q)
    want = torch.nn.functional.scaled_dot_product_attention(q, q, q).numpy()
    np.testing.assert_allclose(out, want, 1e-12)


def test_dask_arrays_chunked_along_batch():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((6, 4, 10, 8)) for _ in range(3))
    dq, dk, dv = (da.from_array(a, chunks=(2, 2, 10, 8)) for a in (q, k, v))
    lazy = cattn.attention(dq, dk, dv, 0.25)
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(), cattn.attention(q, k, v, 0.25), 1e-14)
    np.testing.assert_allclose(cattn.softmax(dq).compute(), cattn.softmax(q), 1e-14)
    mask = da.from_array(rng.random((6, 4, 10, 10)) < 0.8, chunks=(2, 2, 10, 10))
    np.testing.assert_allclose(cattn.masked_attention(dq, dk, dv, mask, 0.25).compute(),
                               cattn.masked_attention(q, k, v, mask.compute(), 0.25), 1e-14)
    # the fused multi-head gufunc, batch (6) chunked, weights per head
    W = [rng.standard_normal(s) for s in [(2, 8, 4)] * 3 + [(2, 4, 8), (2, 4), (2, 4), (2, 4), (8,)]]
    x = q[:, 0]
    dx = da.from_array(x, chunks=(2, 10, 8))
    ones = np.ones((2, 10, 10), bool)
    got = cattn.multi_head_attention_ufunc(dx, dx, dx, *W, ones, 0.5).compute()
    np.testing.assert_allclose(got, cattn.multi_head_attention_ufunc(x, x, x, *W, ones, 0.5), 1e-13)


def test_dask_and_optional_core_dims():
    """Dask's gufunc support does not parse optional core dims ("n?"), so cattn.matmul, whose
    signature is np.matmul's, cannot run through Dask; the attention gufuncs above can. When
    Dask learns "?" this test fails and the note in docs/multi_head.md can go."""
    da = pytest.importorskip("dask.array")
    a = da.ones((4, 3, 3), chunks=(2, 3, 3))
    with pytest.raises(ValueError, match="Not a valid gufunc signature"):
        cattn.matmul(a, a)
    # the documented way meanwhile (docs/multi_head.md): cattn.matmul on each batch chunk
    x = np.random.default_rng(0).standard_normal((4, 3, 5))
    y = np.random.default_rng(1).standard_normal((4, 5, 2))
    dx, dy = da.from_array(x, chunks=(2, 3, 5)), da.from_array(y, chunks=(2, 5, 2))
    got = da.map_blocks(cattn.matmul, dx, dy, dtype=x.dtype, chunks=((2, 2), (3,), (2,)))
    np.testing.assert_allclose(got.compute(), x @ y, 1e-14)
