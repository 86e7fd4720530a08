"""scaled_dot_product_attention's modern features -- structured masks, grouped-query heads,
sequence lengths, soft-capping, dropout -- forward and backward, on every dispatch level, against
float64 NumPy formulas (and PyTorch / JAX in test_sdpa_parity.py)."""
import numpy as np
import pytest

import cattn
from conftest import tol

SDPA = cattn.scaled_dot_product_attention


def ref(q, k, v, allowed, scale, cap=None, z=None, dout=None):
    """float64 attention over the allowed (query, key) pairs, soft cap, dropout factors z:
    (out, weights) and, given dout, (dq, dk, dv). Rows with no allowed key give zeros."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    x = scale * q @ np.swapaxes(k, -1, -2)
    th = np.tanh(x / cap) if cap else np.zeros_like(x)
    s = np.where(allowed, cap * th if cap else x, -np.inf)
    m = s.max(-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(m), m, 0))
    tot = e.sum(-1, keepdims=True)
    p = np.where(tot > 0, e / np.where(tot > 0, tot, 1), 0)
    z = np.ones_like(p) if z is None else z
    out = (p * z) @ v
    if dout is None:
        return out, p * z
    dp = dout @ np.swapaxes(v, -1, -2) * z
    ds = p * (dp - (dout * out).sum(-1, keepdims=True)) * (1 - th * th)
    return (out, p * z), (scale * ds @ k, scale * np.swapaxes(ds, -1, -2) @ q,
                          np.swapaxes(p * z, -1, -2) @ dout)


def data(rng, dtype, B=2, Hq=4, Hk=4, L=37, S=45, E=8, Ev=5):
    q = rng.standard_normal((B, Hq, L, E)).astype(dtype)
    k = rng.standard_normal((B, Hk, S, E)).astype(dtype)
    v = rng.standard_normal((B, Hk, S, Ev)).astype(dtype)
    return q, k, v


def close(got, want, dtype):
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(got, want, rtol=10 * rtol, atol=10 * atol)


# (L, S): tiny (the plain loop), one block of rows, several blocks and key tiles
SIZES = [(5, 7), (37, 45), (150, 230), (230, 150)]


def masks(L, S):
    return [cattn.causal_upper_left(L, S), cattn.causal_lower_right(L, S),
            cattn.sliding_window(L, S, 9, 2), cattn.sliding_window(L, S, 0), None]


@pytest.mark.parametrize("L,S", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_structured_masks_forward_backward(level, L, S, dtype):
    rng = np.random.default_rng(L * S)
    q, k, v = data(rng, dtype, B=1, Hq=2, Hk=2, L=L, S=S)
    dout = rng.standard_normal((1, 2, L, 5))
    for m in masks(L, S):
        allowed = np.ones((L, S), bool) if m is None else np.asarray(m)
        (ro, rw), rg = ref(q, k, v, allowed, 0.35, dout=dout)
        o, w = SDPA(q, k, v, m, scale=0.35, return_weights=True)
        assert o.dtype == dtype and w.dtype == dtype
        close(o, ro, dtype)
        close(w, rw, dtype)
        y, back = cattn.vjp(SDPA, q, k, v, attn_mask=m, scale=0.35)
        close(y, ro, dtype)
        for got, want in zip(back(dout.astype(dtype)), rg):
            close(got, want, dtype)


def test_structured_mask_is_the_same_as_its_boolean_array(level):
    rng = np.random.default_rng(1)
    q, k, v = data(rng, np.float64, L=150, S=230)
    for m in masks(150, 230)[:4]:
        np.testing.assert_allclose(SDPA(q, k, v, m), SDPA(q, k, v, np.asarray(m)), atol=1e-13)


def test_structured_masks_as_arrays():
    assert np.asarray(cattn.causal_upper_left(3, 3)).tolist() == np.tri(3, dtype=bool).tolist()
    lr = np.asarray(cattn.causal_lower_right(2, 4))
    assert lr.tolist() == [[True, True, True, False], [True, True, True, True]]
    w = np.asarray(cattn.sliding_window(4, 5, 1, 1))
    assert w.dtype == bool and w.shape == (4, 5)
    assert w.sum(1).tolist() == [2, 3, 3, 3]
    assert np.asarray(cattn.causal_lower_right(1, 6)).all()  # one new token sees every key
    assert not np.asarray(cattn.causal_lower_right(3, 1))[:2].any()  # L > S: rows with no key
    combined = np.asarray(cattn.sliding_window(4, 4, 1)) & np.array([1, 1, 1, 0], bool)
    assert combined.dtype == bool
    assert repr(cattn.sliding_window(4, 4, 1)) == "cattn.sliding_window(4, 4, 1, 0)"


def test_structured_mask_of_another_size_raises_even_where_an_array_would_broadcast():
    q = np.zeros((4, 8))
    with pytest.raises(ValueError, match=r"causal_lower_right\(1, 4\).*\(1, 4\).*\(4, 4\)"):
        SDPA(q, q, q, cattn.causal_lower_right(1, 4))
    with pytest.raises(ValueError, match=r"sliding_window"):
        SDPA(q, q, q, cattn.sliding_window(4, 5, 2))
    with pytest.raises(TypeError, match="left must be an integer"):
        cattn.sliding_window(4, 4, 1.5)
    with pytest.raises(ValueError, match="left must be >= 0"):
        cattn.sliding_window(4, 4, -1)


@pytest.mark.parametrize("L,S", [(1, 300), (4, 45), (150, 230)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grouped_query_heads(level, L, S, dtype):
    """Query head h uses key/value head h // (Hq // Hkv), with and without masks and lengths
    (folded into rows, or broadcast when lengths differ inside a group)."""
    rng = np.random.default_rng(L)
    q, k, v = data(rng, dtype, Hq=6, Hk=2, L=L, S=S)
    kk, vv = np.repeat(k, 3, axis=1), np.repeat(v, 3, axis=1)
    dout = rng.standard_normal((2, 6, L, 5))
    kl_same = np.array([[S // 2], [S]])
    kl_diff = np.arange(1, 13).reshape(2, 6) * S // 12
    for m, kl in [(None, None), (cattn.causal_lower_right(L, S), None), (None, kl_same),
                  (None, kl_diff), (cattn.sliding_window(L, S, 20), kl_same)]:
        allowed = np.ones((L, S), bool) if m is None else np.asarray(m)
        if kl is not None:
            allowed = allowed & (np.arange(S) < np.broadcast_to(kl, (2, 6))[..., None, None])
        (ro, rw), rg = ref(q, kk, vv, allowed, 0.3, dout=dout)
        o, w = SDPA(q, k, v, m, scale=0.3, enable_gqa=True, key_lengths=kl, return_weights=True)
        close(o, ro, dtype)
        close(w, rw, dtype)
        y, back = cattn.vjp(SDPA, q, k, v, attn_mask=m, scale=0.3, enable_gqa=True, key_lengths=kl)
        dq, dk, dv = back(dout.astype(dtype))
        assert dk.shape == k.shape and dv.shape == v.shape
        close(dq, rg[0], dtype)
        close(dk, rg[1].reshape(2, 2, 3, S, 8).sum(2), dtype)
        close(dv, rg[2].reshape(2, 2, 3, S, 5).sum(2), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_decoding_rows(level, dtype):
    """A few query rows (one new token per query head of a group) go through the row kernels
    that read each key and value once: every vector width and tail of E and Ev."""
    rng = np.random.default_rng(12)
    for E, Ev in [(70, 37), (128, 128), (3, 5)]:
        q, k, v = data(rng, dtype, B=1, Hq=8, Hk=2, L=1, S=333, E=E, Ev=Ev)
        kk, vv = np.repeat(k, 4, axis=1), np.repeat(v, 4, axis=1)
        (ro, _), rg = ref(q, kk, vv, np.ones((1, 333), bool), E ** -0.5,
                          dout=np.ones((1, 8, 1, Ev)))
        close(SDPA(q, k, v, enable_gqa=True), ro, dtype)
        close(SDPA(q, k, v, cattn.causal_lower_right(1, 333), enable_gqa=True), ro, dtype)


def test_grouped_query_heads_with_a_per_head_mask(level):
    rng = np.random.default_rng(5)
    q, k, v = data(rng, np.float64, Hq=4, Hk=2, L=20, S=30)
    m = rng.random((2, 4, 20, 30)) < 0.7
    want = SDPA(q, np.repeat(k, 2, axis=1), np.repeat(v, 2, axis=1), m)
    np.testing.assert_allclose(SDPA(q, k, v, m, enable_gqa=True), want, atol=1e-13)
    mf = np.where(m, 0.0, -1e9)
    y, back = cattn.vjp(SDPA, q, k, v, mf, enable_gqa=True)
    g = back(np.ones_like(y))
    assert g[3].shape == mf.shape and np.isfinite(g[3]).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lengths(level, dtype):
    """Keys past the key length are ignored; query rows past the query length give zeros (and
    get no gradient)."""
    rng = np.random.default_rng(2)
    q, k, v = data(rng, dtype, B=3, Hq=2, Hk=2, L=130, S=200)
    kl, ql = np.array([[0], [70], [200]]), np.array([[130], [9], [0]])
    allowed = (np.arange(200) < kl[..., None, None]) & (np.arange(130)[:, None] < ql[..., None, None])
    dout = rng.standard_normal((3, 2, 130, 5))
    for causal in (False, True):
        a = allowed & np.tri(130, 200, dtype=bool) if causal else allowed
        (ro, rw), rg = ref(q, k, v, a, 0.3, dout=dout)
        o, w = SDPA(q, k, v, is_causal=causal, scale=0.3, key_lengths=kl, query_lengths=ql,
                    return_weights=True)
        close(o, ro, dtype)
        close(w, rw, dtype)
        y, back = cattn.vjp(SDPA, q, k, v, is_causal=causal, scale=0.3, key_lengths=kl,
                            query_lengths=ql)
        for got, want in zip(back(dout.astype(dtype)), rg):
            close(got, want, dtype)
    assert not o[2].any() and not o[1, :, 9:].any()


def test_lengths_broadcast_by_numpy_rules():
    rng = np.random.default_rng(3)
    q = rng.standard_normal((3, 10, 4))  # (B, L, E): lengths (B,)
    o = SDPA(q, q, q, key_lengths=np.array([1, 5, 10]))
    np.testing.assert_allclose(o[0], np.broadcast_to(q[0, :1], (10, 4)))
    q4 = rng.standard_normal((2, 3, 10, 4))  # (B, H, L, E): (B, 1) or (B, H)
    a = SDPA(q4, q4, q4, key_lengths=np.array([[4], [7]]))
    b = SDPA(q4, q4, q4, key_lengths=np.array([[4, 4, 4], [7, 7, 7]]))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"key_lengths of shape \(2,\) does not broadcast to the "
                                         r"batch shape \(2, 3\)"):
        SDPA(q4, q4, q4, key_lengths=np.array([4, 7]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softcap(level, dtype):
    rng = np.random.default_rng(4)
    q, k, v = data(rng, dtype, L=100, S=130)
    q = q * 4
    dout = rng.standard_normal((2, 4, 100, 5))
    for m in (None, cattn.causal_lower_right(100, 130)):
        allowed = np.ones((100, 130), bool) if m is None else np.asarray(m)
        (ro, rw), rg = ref(q, k, v, allowed, 0.5, cap=3.0, dout=dout)
        o = SDPA(q, k, v, m, scale=0.5, softcap=3.0)
        close(o, ro, dtype)
        y, back = cattn.vjp(SDPA, q, k, v, attn_mask=m, scale=0.5, softcap=3.0)
        for got, want in zip(back(dout.astype(dtype)), rg):
            close(got, want, dtype)


def test_softcap_inf_is_no_capping(level):
    """softcap=np.inf is the limit of c·tanh(s/c) as c grows: the uncapped scores (issue 24: it
    returned all NaN, inf·tanh(s/inf) = inf·0), in SDPA, its gradients and the layers."""
    rng = np.random.default_rng(5)
    q, k, v = data(rng, np.float64, L=9, S=11)
    np.testing.assert_array_equal(SDPA(q, k, v, softcap=np.inf), SDPA(q, k, v))
    _, back = cattn.vjp(SDPA, q, k, v, softcap=np.inf)
    _, back0 = cattn.vjp(SDPA, q, k, v)
    g = rng.standard_normal((2, 4, 9, 5))
    for got, want in zip(back(g), back0(g)):
        np.testing.assert_array_equal(got, want)
    mha = cattn.MultiHeadAttention(8, 2, num_kv_heads=1, dtype=np.float64, seed=0)
    x = rng.standard_normal((3, 6, 8))
    np.testing.assert_allclose(mha(x, softcap=np.inf), mha(x), rtol=1e-12, atol=1e-12)
    for bad in (0.0, -1.0, np.nan, -np.inf):
        with pytest.raises(ValueError, match="softcap must be > 0"):
            SDPA(q, k, v, softcap=bad)


def _kept(w):
    return w != 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_forward_backward(level, dtype):
    """The returned weights are the dropped ones (scaled by 1/(1-p)); the output is their
    weighted sum; the backward uses the same mask."""
    rng = np.random.default_rng(6)
    q, k, v = data(rng, dtype, L=120, S=140)
    dout = rng.standard_normal((2, 4, 120, 5))
    m = cattn.sliding_window(120, 140, 50, 10)
    o, w = SDPA(q, k, v, m, dropout_p=0.25, seed=11, return_weights=True)
    z = np.where(_kept(w), 1 / 0.75, 0.0)
    (ro, rw), rg = ref(q, k, v, np.asarray(m), 8 ** -0.5, z=z, dout=dout)
    close(w, rw, dtype)
    close(o, ro, dtype)
    y, back = cattn.vjp(SDPA, q, k, v, attn_mask=m, dropout_p=0.25, seed=11)
    np.testing.assert_array_equal(y, o)
    for got, want in zip(back(dout.astype(dtype)), rg):
        close(got, want, dtype)


def test_dropout_statistics_and_reproducibility():
    rng = np.random.default_rng(7)
    q, k, v = data(rng, np.float32, B=2, Hq=4, Hk=4, L=200, S=300)
    o1, w1 = SDPA(q, k, v, dropout_p=0.3, seed=5, return_weights=True)
    o2, w2 = SDPA(q, k, v, dropout_p=0.3, seed=5, return_weights=True)
    np.testing.assert_array_equal(w1, w2)
    dropped = (w1 == 0).mean()
    assert abs(dropped - 0.3) < 0.005  # 480,000 draws: 0.3 ± 0.0007 (1 sigma)
    per_head = (w1 == 0).mean(axis=(-1, -2))
    assert np.ptp(per_head) < 0.01  # every head draws its own mask ...
    assert (w1[0, 0] == 0).mean() > 0 and ((w1[0, 0] == 0) != (w1[0, 1] == 0)).mean() > 0.3
    _, w3 = SDPA(q, k, v, dropout_p=0.3, seed=6, return_weights=True)
    assert ((w3 == 0) != (w1 == 0)).mean() > 0.3  # ... and each seed its own
    kept = w1 * 0.7
    np.testing.assert_allclose(kept.sum(-1).mean(), 0.7 * 1.0, rtol=0.01)  # E[sum] = 1
    np.random.seed(3)
    a = SDPA(q, k, v, dropout_p=0.5)
    np.random.seed(3)
    np.testing.assert_array_equal(SDPA(q, k, v, dropout_p=0.5), a)  # seed=None: NumPy's global


def test_dropout_same_for_any_thread_count_and_level():
    rng = np.random.default_rng(8)
    q, k, v = data(rng, np.float64, L=300, S=310)
    before = cattn.get_num_threads()
    try:
        res = []
        for n in (1, 2, 3):
            cattn.set_num_threads(n)
            res.append(SDPA(q, k, v, dropout_p=0.2, seed=9, return_weights=True)[1] == 0)
        for r in res[1:]:
            np.testing.assert_array_equal(r, res[0])
    finally:
        cattn.set_num_threads(before)
    from conftest import AVAILABLE
    level_before = cattn._cattn.get_config()["level"]
    try:
        for lv in AVAILABLE:
            cattn.set_level(lv)
            np.testing.assert_array_equal(
                SDPA(q, k, v, dropout_p=0.2, seed=9, return_weights=True)[1] == 0, res[0])
    finally:
        cattn.set_level(level_before)


def test_gradcheck_of_the_features():
    rng = np.random.default_rng(9)
    q, k, v = (rng.standard_normal(s) for s in [(1, 4, 6, 3), (1, 2, 7, 3), (1, 2, 7, 2)])
    for kw in [dict(attn_mask=cattn.causal_lower_right(6, 7)),
               dict(attn_mask=cattn.sliding_window(6, 7, 2, 1), softcap=1.5),
               dict(enable_gqa=True, key_lengths=np.array([[3]]), query_lengths=np.array([[5]])),
               dict(enable_gqa=True, dropout_p=0.3, seed=4)]:
        kk, vv = (k, v) if kw.get("enable_gqa") else (np.repeat(k, 2, 1), np.repeat(v, 2, 1))
        assert cattn.gradcheck(SDPA, q, kk, vv, **kw)


def test_bad_input():
    q = np.zeros((2, 4, 5, 8))
    kv = np.zeros((2, 3, 5, 8))
    with pytest.raises(ValueError, match=r"query's 4 heads are not a multiple of the key's and "
                                         r"value's 3 \(query \(2, 4, 5, 8\), key \(2, 3, 5, 8\)\)"):
        SDPA(q, kv, kv, enable_gqa=True)
    with pytest.raises(ValueError, match="enable_gqa needs a head axis"):
        SDPA(q[0, 0], q[0, 0], q[0, 0], enable_gqa=True)
    with pytest.raises(ValueError, match=r"key_lengths must be in \[0, 5\], got values from -1"):
        SDPA(q, q, q, key_lengths=np.array([[-1], [2]]))
    with pytest.raises(ValueError, match=r"query_lengths must be in \[0, 5\].* to 6"):
        SDPA(q, q, q, query_lengths=np.array([[6], [2]]))
    with pytest.raises(TypeError, match="key_lengths must be integers, got dtype float64"):
        SDPA(q, q, q, key_lengths=np.array([[1.0], [2.0]]))
    for p in (1.0, -0.1, 2):
        with pytest.raises(ValueError, match=r"dropout_p must be in \[0, 1\)"):
            SDPA(q, q, q, dropout_p=p)
    with pytest.raises(TypeError, match="dropout_p must be a real number"):
        SDPA(q, q, q, dropout_p="0.1")
    for c in (0, -1.0):
        with pytest.raises(ValueError, match="softcap must be > 0"):
            SDPA(q, q, q, softcap=c)
    with pytest.raises(TypeError, match="seed must be an integer"):
        SDPA(q, q, q, dropout_p=0.1, seed=1.5)


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_half_precision_in_gives_half_out(half):
    """float16 (and ml_dtypes' bfloat16, JAX's) in, the same out -- computed in float32 -- as
    PyTorch and JAX return them; the gradients too."""
    if half == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes")
        dt, tol_ = np.dtype(ml_dtypes.bfloat16), 3e-2
    else:
        dt, tol_ = np.dtype(np.float16), 3e-3
    rng = np.random.default_rng(13)
    q, k, v = data(rng, np.float64, B=1, Hq=4, Hk=2, L=20, S=30)
    qh, kh, vh = (x.astype(dt) for x in (q, k, v))
    m = cattn.causal_lower_right(20, 30)
    o, w = SDPA(qh, kh, vh, m, enable_gqa=True, return_weights=True)
    assert o.dtype == dt and w.dtype == dt
    kk, vv = (np.repeat(x.astype(dt).astype(np.float64), 2, axis=1) for x in (k, v))
    (ro, _), rg = ref(qh.astype(np.float64), kk, vv, np.asarray(m), 8 ** -0.5,
                      dout=np.ones((1, 4, 20, 5)))
    np.testing.assert_allclose(o.astype(np.float64), ro, atol=tol_, rtol=tol_)
    y, back = cattn.vjp(SDPA, qh, kh, vh, attn_mask=m, enable_gqa=True)
    assert y.dtype == dt
    dq, dk, dv = back(np.ones(y.shape, dt))
    assert dq.dtype == dk.dtype == dv.dtype == dt
    np.testing.assert_allclose(dq.astype(np.float64), rg[0], atol=5 * tol_, rtol=5 * tol_)
    assert SDPA(qh.astype(np.float32), kh, vh, m, enable_gqa=True).dtype == np.float32
