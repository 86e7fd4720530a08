"""Half precision read as half (issue 26, item 1, the softmax family): float16 and ml_dtypes'
bfloat16 rows reach the softmax, log_softmax and backward kernels as they are -- converted to
float as each row is loaded, computed in float32, rounded once as it is stored, output in the
input's dtype -- with no float32 copy of the array. (The conversions themselves are checked
exhaustively in C: tests/c/kernels_check.c.)"""
import tracemalloc

import numpy as np
import pytest

import cattn
from cattn import _cattn

ml_dtypes = pytest.importorskip("ml_dtypes")
HALVES = [np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)]
TOL = {"float16": 2e-3, "bfloat16": 1.6e-2}  # a few units in the last place of each
R = np.random.default_rng(26)
FORWARD = [("softmax", cattn.softmax, _cattn.softmax_ref),
           ("log_softmax", cattn.log_softmax, _cattn.log_softmax_ref)]
BACKWARD = [("softmax_backward", cattn.softmax_backward, _cattn.softmax_backward_ref),
            ("log_softmax_backward", cattn.log_softmax_backward,
             _cattn.log_softmax_backward_ref)]


def rows(dt, shape=(6, 333), scale=4.0):
    x = (R.standard_normal(shape) * scale).astype(dt)
    x[0, :5] = [0, -0.0, 1e-7, -np.inf if dt == np.float16 else -3e38, 5]  # subnormal, -inf/huge
    return x


def traced(f, *args, **kwargs):
    """(f(*args, **kwargs), the peak of the memory NumPy's allocator traced during the call)."""
    tracemalloc.start()
    try:
        r = f(*args, **kwargs)
        return r, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def same_bits(a, b):
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a.view(np.uint16), b.view(np.uint16))


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("name,fast,ref", FORWARD, ids=[f[0] for f in FORWARD])
def test_forward_reads_half_and_rounds_once(level, dt, name, fast, ref):
    x = rows(dt)
    for f in (fast, ref):
        y = f(x)
        assert y.dtype == dt
        # the float32 kernel on the converted rows, rounded once: the same bits
        same_bits(y, f(x.astype(np.float32)).astype(dt))
    # and within a few half ulps of float64 from the rounded inputs
    x64 = x.astype(np.float64)
    m = x64.max(-1, keepdims=True)
    lse = m + np.log(np.exp(x64 - m).sum(-1, keepdims=True))
    want = np.exp(x64 - lse) if name == "softmax" else x64 - lse
    got = fast(x).astype(np.float64)
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=TOL[dt.name], atol=TOL[dt.name] * 1e-3)


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("name,fast,ref", BACKWARD, ids=[b[0] for b in BACKWARD])
def test_backward_reads_half(level, dt, name, fast, ref):
    fwd = cattn.softmax if name == "softmax_backward" else cattn.log_softmax
    y = fwd(rows(dt))
    g = R.standard_normal(y.shape).astype(dt)
    for f in (fast, ref):
        dx = f(y, g)
        assert dx.dtype == dt
        same_bits(dx, f(y.astype(np.float32), g.astype(np.float32)).astype(dt))


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_layouts_axis_out_and_long_rows(dt):
    x = rows(dt, (5, 9000))  # rows past the per-thread buffer of 4096
    same_bits(cattn.softmax(x), cattn.softmax(x.astype(np.float32)).astype(dt))
    strided = x[:, ::3]
    same_bits(cattn.softmax(strided), cattn.softmax(strided.copy()))
    same_bits(cattn.softmax(x[:, :40], axis=0), cattn.softmax(x[:, :40].T.copy()).T)
    out = np.empty_like(x)
    assert cattn.log_softmax(x, out=out) is out
    same_bits(out, cattn.log_softmax(x))
    # beside float32: float16 computes in float32, as before; the raw gufuncs read bfloat16
    # only when every operand is bfloat16 (cattn's functions convert the others)
    if dt == np.float16:
        mixed = cattn.softmax_backward(x.astype(np.float32)[:, :7], x[:, :7])
        assert mixed.dtype == np.float32
    else:
        with pytest.raises(TypeError, match="second operand has dtype bfloat16"):
            cattn.softmax_backward(x.astype(np.float32)[:, :7], x[:, :7])


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_no_float32_copy_of_the_operands(dt):
    """NumPy's allocations are traced: a float32 copy of the 8 MiB half array would be 16 MiB."""
    x = rows(dt, (512, 8192))
    out = np.empty_like(x)
    cattn.softmax(x, out=out)  # warm up: the loops and the threads' buffers exist
    tracemalloc.start()
    try:
        cattn.softmax(x, out=out)
        cattn.softmax_backward(out, x, out=out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes traced"
    y = cattn.softmax(x)
    assert y.dtype == dt and y.nbytes == x.nbytes


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_vjp_in_half(dt):
    x = rows(dt, (3, 11), 1.0)
    for f in (cattn.softmax, cattn.log_softmax):
        y, pullback = cattn.vjp(f, x)
        (dx,) = pullback(np.ones_like(y))
        assert y.dtype == dt and dx.dtype == dt
        y32, pull32 = cattn.vjp(f, x.astype(np.float32))
        same_bits(y, y32.astype(dt))
        np.testing.assert_allclose(dx.astype(np.float64),
                                   pull32(np.ones_like(y32))[0].astype(np.float64),
                                   rtol=TOL[dt.name], atol=TOL[dt.name])


def test_bfloat16_registration():
    _cattn.register_bfloat16(np.dtype(ml_dtypes.bfloat16))  # again: nothing changes
    with pytest.raises(TypeError, match="register_bfloat16"):
        _cattn.register_bfloat16(np.dtype(np.float32))
    with pytest.raises(ValueError, match="another bfloat16"):
        _cattn.register_bfloat16(np.dtype(np.float16))


# ---- matmul (item 1: GEMM reads half, converting while it packs) ------------------------------

SHAPES = [(3, 5, 7), (16, 64, 16), (64, 64, 64), (100, 70, 300), (257, 600, 530)]


def pair_tile(dt, m, n, k):
    """True when this bfloat16 product takes the level's bfloat16 pair tile (AVX512-BF16): its
    sums add two products a step, so they are not the float32 GEMM's bits."""
    small = m * k + k * n + m * n <= 16384  # half_gemm.c's HG_SMALL: converted in a buffer
    return (dt.name == "bfloat16" and not small
            and _cattn.gemm_choice(m, n, k, 2).endswith("bfloat16 pairs"))


def pair_bound(a, b, c):
    """|c - a·b| allowed for the pair tile, from float64 sums of the bfloat16 inputs: one
    bfloat16 rounding of c, plus a float32 rounding per product (each pair is two adds)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want = a64 @ b64
    size = np.abs(a64) @ np.abs(b64)
    return want, 2.0 ** -8 * np.abs(want) + a.shape[-1] * 2.0 ** -23 * size + 1e-30


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("m,n,k", SHAPES, ids=str)
def test_matmul_reads_half_and_rounds_once(level, dt, m, n, k):
    """The float32 GEMM's sums on the converted operands (the same tile, the same blocks of k),
    rounded once; any layout of b (kᵀ of a row-major k: columns contiguous) gives the same bits;
    within a few half ulps of float64 from the rounded inputs; the _ref twin likewise."""
    a = R.standard_normal((m, k)).astype(dt)
    b = R.standard_normal((k, n)).astype(dt)
    c = cattn.matmul(a, b)
    assert c.dtype == dt
    if not pair_tile(dt, m, n, k):  # (the pair tile: test_bfloat16_pair_tile)
        same_bits(c, cattn.matmul(a.astype(np.float32), b.astype(np.float32)).astype(dt))
    same_bits(cattn.matmul(a, np.asfortranarray(b)), c)
    same_bits(cattn.matmul(np.repeat(a, 2, axis=1)[:, ::2], b[:, ::-1])[:, ::-1], c)  # strided
    want = a.astype(np.float64) @ b.astype(np.float64)
    size = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))  # the error's scale
    for got in (c, _cattn.matmul_ref(a, b)):
        assert got.dtype == dt
        err = np.abs(got.astype(np.float64) - want)
        assert (err <= 2 * TOL[dt.name] * size + 1e-6).all()


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_vjp_of_matmul_and_sdpa_in_half(dt):
    """cattn.vjp on half operands: the output and every gradient in the operands' dtype (float16
    and bfloat16 alike), computed in float32: within half ulps of the float64 gradients from the
    rounded inputs, a broadcast batch summed in float32."""
    a = R.standard_normal((3, 6, 20)).astype(dt)
    b = R.standard_normal((20, 5)).astype(dt)  # broadcast over a's batch: its gradient a sum
    y, pull = cattn.vjp(cattn.matmul, a, b)
    g = R.standard_normal(y.shape).astype(dt)
    da, db = pull(g)
    assert y.dtype == da.dtype == db.dtype == dt
    a64, b64, g64 = (x.astype(np.float64) for x in (a, b, g))
    np.testing.assert_allclose(da.astype(np.float64), g64 @ b64.T, rtol=TOL[dt.name],
                               atol=2 * TOL[dt.name])
    np.testing.assert_allclose(db.astype(np.float64), (np.swapaxes(a64, 1, 2) @ g64).sum(0),
                               rtol=TOL[dt.name], atol=4 * TOL[dt.name])
    q = R.standard_normal((2, 4, 9, 8)).astype(dt)
    for kw in ({}, {"is_causal": True}, {"attn_mask": R.random((9, 9)) > 0.2}):
        o, pull = cattn.vjp(cattn.scaled_dot_product_attention, q, q, q, **kw)
        grads = pull(np.ones_like(o))
        assert o.dtype == dt and all(x.dtype == dt for x in grads)
        o64, pull64 = cattn.vjp(cattn.scaled_dot_product_attention, q.astype(np.float64),
                                q.astype(np.float64), q.astype(np.float64), **kw)
        for got, want in zip(grads, pull64(np.ones_like(o64))):
            np.testing.assert_allclose(got.astype(np.float64), want, rtol=4 * TOL[dt.name],
                                       atol=4 * TOL[dt.name])


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_matmul_batch_vector_and_out(dt):
    a = R.standard_normal((4, 3, 6, 20)).astype(dt)
    b = R.standard_normal((3, 20, 5)).astype(dt)
    c = cattn.matmul(a, b)
    same_bits(c, cattn.matmul(a.astype(np.float32), b.astype(np.float32)).astype(dt))
    out = np.empty(c.shape, dt)
    assert cattn.matmul(a, b, out=out) is out
    same_bits(out, c)
    v = R.standard_normal(20).astype(dt)
    same_bits(cattn.matmul(a, v), cattn.matmul(a.astype(np.float32),
                                               v.astype(np.float32)).astype(dt))
    assert cattn.matmul(np.ones((2, 0), dt), np.ones((0, 3), dt)).tolist() == [[0] * 3] * 2
    # out= one of the inputs: computed into scratch first, as the float loops do
    sq = R.standard_normal((600, 600)).astype(dt)  # two blocks of b: a read after c is written
    want = cattn.matmul(sq, sq)
    assert cattn.matmul(sq, sq, out=sq) is sq
    same_bits(sq, want)


PAIR_SHAPES = [(12, 32, 2), (13, 33, 3), (97, 65, 33), (100, 70, 300), (50, 600, 1031),
               (300, 1100, 513)]  # tile edges, odd k, k past a block of 512, n past 512


@pytest.mark.parametrize("m,n,k", PAIR_SHAPES, ids=str)
def test_bfloat16_pair_tile(level, m, n, k):
    """Where the level has a bfloat16 pair tile (AVX512-BF16, or SIMDe's in an emulated build),
    bfloat16 products take it; within a float32 rounding per product of float64 from the same
    bfloat16 inputs, rounded once; every layout of a and b gives the same bits. Elsewhere the
    convert-on-pack path, the float32 GEMM's bits."""
    bf16 = np.dtype(ml_dtypes.bfloat16)
    a = (R.standard_normal((m, k)) * 3).astype(bf16)
    b = R.standard_normal((k, n)).astype(bf16)
    c = cattn.matmul(a, b)
    has = any(key.startswith("bfloat16 ") for key in _cattn.gemm_rates()[level])
    assert pair_tile(bf16, m, n, k) == (has and m * k + k * n + m * n > 16384)
    if not pair_tile(bf16, m, n, k):
        same_bits(c, cattn.matmul(a.astype(np.float32), b.astype(np.float32)).astype(bf16))
    want, bound = pair_bound(a, b, c)
    err = np.abs(c.astype(np.float64) - want)
    assert (err <= bound).all(), (err / bound).max()
    same_bits(cattn.matmul(np.asfortranarray(a), np.asfortranarray(b)), c)
    same_bits(cattn.matmul(b.T, a.T).T, c)  # kᵀ-like b: its columns contiguous
    out = np.zeros((m + 2, 2 * n), bf16)[1:-1, ::2]
    assert cattn.matmul(a, b, out=out) is out
    same_bits(out, c)


def test_bfloat16_pair_tile_is_chosen_by_its_measured_rate():
    """The cost model (cost.c) takes the pair tile when its measured rate beats the float32 tile;
    an injected slow rate sends bfloat16 back to converting, with the float32 GEMM's bits."""
    levels = [lv for lv, r in _cattn.gemm_rates().items()
              if any(key.startswith("bfloat16 ") for key in r)]
    if not levels:
        pytest.skip("no bfloat16 pair tile on this CPU and build (AVX512-BF16)")
    bf16 = np.dtype(ml_dtypes.bfloat16)
    a = R.standard_normal((200, 300)).astype(bf16)
    b = R.standard_normal((300, 100)).astype(bf16)
    for lv in levels:
        before = _cattn.get_config()["level"]
        cattn.set_level(lv)
        try:
            _cattn.set_gemm_rate(lv, 2, 1e-3)  # a pair tile slower than anything
            assert not _cattn.gemm_choice(200, 100, 300, 2).endswith("pairs")
            same_bits(cattn.matmul(a, b),
                      cattn.matmul(a.astype(np.float32), b.astype(np.float32)).astype(bf16))
            _cattn.set_gemm_rate(lv, 2, 1e6)  # and one faster than anything
            assert _cattn.gemm_choice(200, 100, 300, 2).endswith("bfloat16 pairs")
        finally:
            _cattn.set_gemm_rate(lv, 2, 0)  # measured again
            cattn.set_level(before)
    with pytest.raises(ValueError, match="dtype must be 0, 1 or 2"):
        _cattn.set_gemm_rate(levels[0], 3, 1.0)


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_matmul_makes_no_float32_copy(dt):
    """A float32 copy of a and b (2 x 1024 x 1024) would be 8 MiB through NumPy's allocator."""
    a = R.standard_normal((1024, 1024)).astype(dt)
    out = np.empty_like(a)
    cattn.matmul(a, a, out=out)
    tracemalloc.start()
    try:
        cattn.matmul(a, a, out=out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes traced"


# ---- attention (item 1: SDPA reads half; item 3: a KV cache in half) -------------------------

ATT_SHAPES = [(2, 1, 37, 16, 8), (2, 4, 700, 64, 64), (2, 5, 3, 4, 4), (2, 100, 130, 32, 48),
              (1, 300, 257, 64, 64), (1, 3, 0, 8, 8)]


def attention64(q, k, v, scale, causal=False):
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    s = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        s = np.where(np.tri(*s.shape[-2:], dtype=bool), s, -np.inf)
    if s.shape[-1] == 0:
        return np.zeros(q.shape[:-1] + v.shape[-1:])
    w = np.exp(s - s.max(-1, keepdims=True))
    return (w / w.sum(-1, keepdims=True)) @ v


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("shape", ATT_SHAPES, ids=str)
@pytest.mark.parametrize("name", ["attention", "causal_attention"])
def test_attention_reads_half(level, dt, shape, name):
    """Output in the inputs' dtype, within half ulps of float64 from the rounded inputs, on the
    fast path and the oracle; past the decoding rows (L > 8, packed panels) the same bits as the
    float32 kernel on the converted inputs, rounded."""
    B, L, S, E, Ev = shape
    q = R.standard_normal((B, L, E)).astype(dt)
    k = R.standard_normal((B, S, E)).astype(dt)
    v = R.standard_normal((B, S, Ev)).astype(dt)
    want = attention64(q, k, v, 0.3, name == "causal_attention")
    for f in (getattr(_cattn, name), getattr(_cattn, name + "_ref")):
        o = f(q, k, v, 0.3)
        assert o.dtype == dt and o.shape == (B, L, Ev)
        np.testing.assert_allclose(o.astype(np.float64), want, rtol=TOL[dt.name],
                                   atol=2 * TOL[dt.name])
    if L > 8 and not attention_pairs(dt, S, E):  # (the pair tile: test_bfloat16_attention_...)
        f = getattr(_cattn, name)
        same_bits(f(q, k, v, 0.3), f(*(x.astype(np.float32) for x in (q, k, v)), 0.3).astype(dt))


def attention_pairs(dt, S, E):
    """True when bfloat16 attention past the decoding rows takes the level's pair tile
    (attention.inc asks the cost model for a block of 72 rows)."""
    return dt.name == "bfloat16" and _cattn.gemm_choice(72, S, E, 2).endswith("bfloat16 pairs")


@pytest.mark.parametrize("S,E,Ev", [(130, 32, 48), (257, 7, 5), (1000, 64, 64), (61, 128, 33)],
                         ids=str)
@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"key_lengths": "odd"},
                                {"attn_mask": "window"}, {"softcap": 5.0}],
                         ids=["plain", "causal", "odd lengths", "window", "soft cap"])
def test_bfloat16_attention_on_the_pair_tile(level, S, E, Ev, kw):
    """bfloat16 SDPA: where the level has the pair tile both products take it (q·kᵀ as pairs
    along E, the weights rounded to bfloat16 pairs along the keys, as PyTorch's bfloat16 flash
    attention does); key ranges that start or end at an odd key (lengths, windows, the causal
    diagonal) pair them with a zero weight. Within a bfloat16 rounding of the output plus one
    of the weights (2^-8 of max |v|) of float64 from the same bfloat16 inputs, on every level."""
    bf16 = np.dtype(ml_dtypes.bfloat16)
    L = S if kw.get("is_causal") or "attn_mask" in kw else 100
    q = R.standard_normal((2, 2, L, E)).astype(bf16)
    k = R.standard_normal((2, 2, S, E)).astype(bf16)
    v = R.standard_normal((2, 2, S, Ev)).astype(bf16)
    if kw.get("key_lengths") == "odd":
        kw = {"key_lengths": np.array([[S // 2 | 1, 1], [S, S // 3 | 1]])}
    if kw.get("attn_mask") == "window":
        kw = {"attn_mask": cattn.sliding_window(L, S, 37)}
    has = any(key.startswith("bfloat16 ") for key in _cattn.gemm_rates()[level])
    assert attention_pairs(bf16, S, E) == has  # the pair tile, wherever the level has one
    o = cattn.scaled_dot_product_attention(q, k, v, **kw)
    assert o.dtype == bf16
    want = cattn.scaled_dot_product_attention(*(x.astype(np.float64) for x in (q, k, v)), **kw)
    err = np.abs(o.astype(np.float64) - want)
    vmax = np.abs(v.astype(np.float64)).max()
    assert (err <= 2.0 ** -8 * (np.abs(want) + vmax)).all(), err.max()


def test_bfloat16_attention_pair_tile_is_chosen_by_its_measured_rate():
    """An injected slow pair tile sends bfloat16 attention back to converting while packing,
    with the float32 kernel's bits; a fast one takes it."""
    levels = [lv for lv, r in _cattn.gemm_rates().items()
              if any(key.startswith("bfloat16 ") for key in r)]
    if not levels:
        pytest.skip("no bfloat16 pair tile on this CPU and build (AVX512-BF16)")
    bf16 = np.dtype(ml_dtypes.bfloat16)
    q, k, v = (R.standard_normal((2, 300, 64)).astype(bf16) for _ in range(3))
    for lv in levels:
        before = _cattn.get_config()["level"]
        cattn.set_level(lv)
        try:
            _cattn.set_gemm_rate(lv, 2, 1e6)
            assert attention_pairs(bf16, 300, 64)
            paired = _cattn.attention(q, k, v, 0.125)
            _cattn.set_gemm_rate(lv, 2, 1e-3)
            assert not attention_pairs(bf16, 300, 64)
            converted = _cattn.attention(q, k, v, 0.125)
            same_bits(converted, _cattn.attention(*(x.astype(np.float32) for x in (q, k, v)),
                                                  0.125).astype(bf16))
            assert not np.array_equal(paired.view(np.uint16), converted.view(np.uint16))
        finally:
            _cattn.set_gemm_rate(lv, 2, 0)
            cattn.set_level(before)


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_sdpa_functions_read_half(dt):
    """The functions hand half q, k, v to _sdpa as they are (grouped-query decoding folded, lse
    float32); with weights too (_sdpa_w: the weights half as well)."""
    q = R.standard_normal((2, 8, 3, 32)).astype(dt)
    k = R.standard_normal((2, 2, 300, 32)).astype(dt)
    v = R.standard_normal((2, 2, 300, 16)).astype(dt)
    f32 = [x.astype(np.float32) for x in (q, k, v)]
    for kw in ({}, {"is_causal": True}, {"key_lengths": np.array([[100], [300]])},
               {"attn_mask": cattn.sliding_window(3, 300, 50)}):
        o = cattn.scaled_dot_product_attention(q, k, v, enable_gqa=True, **kw)
        assert o.dtype == dt
        o32 = cattn.scaled_dot_product_attention(*f32, enable_gqa=True, **kw)
        np.testing.assert_allclose(o.astype(np.float32), o32, rtol=TOL[dt.name],
                                   atol=TOL[dt.name])
    o, w = cattn.scaled_dot_product_attention(q, k, v, enable_gqa=True, return_weights=True)
    assert o.dtype == dt and w.dtype == dt
    o = cattn.scaled_dot_product_attention(q, k, v, enable_gqa=True,
                                           attn_mask=np.ones((3, 300), bool))
    assert o.dtype == dt
    out = np.empty(o.shape, dt)
    assert cattn.scaled_dot_product_attention(q, k, v, enable_gqa=True, out=out) is out


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_sdpa_makes_no_float32_copy(dt):
    """Traced by NumPy's allocator: the half output and the float32 lse, nothing the size of a
    float32 copy of q, k or v (each 4 MiB as float32); with a mask array, that mask made
    additive float32 as well (1 MiB here), still no copy of q, k or v."""
    q = R.standard_normal((4, 8, 512, 64)).astype(dt)
    mask = R.random((512, 512)) > 0.5
    for kw, extra in (({"is_causal": True}, 0), ({"attn_mask": mask}, 4 * mask.size),
                      ({"attn_mask": mask.astype(dt)}, 4 * mask.size)):
        cattn.scaled_dot_product_attention(q, q, q, **kw)
        tracemalloc.start()
        try:
            o = cattn.scaled_dot_product_attention(q, q, q, **kw)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert o.dtype == dt
        assert peak < o.nbytes + extra + (1 << 18), f"{kw}: {peak} bytes traced"


BWD_SHAPES = [(2, 5, 3, 4, 4), (1, 3, 0, 8, 8), (2, 200, 96, 64, 64), (1, 130, 257, 32, 48)]
BWD_CALLS = [{}, {"is_causal": True}, {"attn_mask": "additive"}, {"softcap": 4.0},
             {"dropout_p": 0.2, "seed": 5}, {"key_lengths": "odd"}]


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("shape", BWD_SHAPES, ids=str)
@pytest.mark.parametrize("kw", BWD_CALLS, ids=lambda kw: "-".join(kw) or "plain")
def test_sdpa_backward_reads_half(level, dt, shape, kw):
    """The backward gufuncs' half loops (q, k, v, o, dout and dq, dk, dv half; lse, the additive
    mask and dmask float32), fast and oracle: the same bits as the float32 kernel on the
    converted operands, each gradient rounded once -- the tiny call (the oracle), no key at all,
    and the blocked kernel over several query and key blocks, a strided key among them."""
    from cattn.functional import sdpa_plan
    B, L, S, E, Ev = shape
    q = R.standard_normal((B, L, E)).astype(dt)
    k = R.standard_normal((B, E, S)).astype(dt).swapaxes(-1, -2)  # columns contiguous
    v = R.standard_normal((B, S, Ev)).astype(dt)
    kw = dict(kw)
    if kw.get("attn_mask") == "additive":
        kw["attn_mask"] = R.standard_normal((L, S)).astype(np.float32)
    if kw.get("key_lengths") == "odd":
        kw["key_lengths"] = np.arange(B) * 7 % (S + 1)
    plan = sdpa_plan("sdpa", q, k, v, dmask="attn_mask" in kw, half=True, **kw)
    o, lse = plan.forward(False)
    assert o.dtype == dt and lse.dtype == np.float32
    g = R.standard_normal(o.shape).astype(dt)
    masked = plan.mask is not None
    names = ["_sdpa_mask_backward_dmask" if masked else "_sdpa_backward"]
    for name in names + [n + "_ref" for n in names]:
        f = getattr(_cattn, name)
        got = f(*plan.args, o, lse, g, *plan.extras)
        f32 = [x.astype(np.float32) if x.dtype == dt else x for x in plan.args]
        want = f(*f32, o.astype(np.float32), lse, g.astype(np.float32), *plan.extras)
        for a, b in zip(got[:3], want[:3]):
            same_bits(a, b.astype(dt))
        if masked:  # dS, float32, as the float32 kernel's
            assert got[3].dtype == np.float32
            np.testing.assert_array_equal(got[3], want[3])


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_sdpa_backward_in_half_any_thread_count(dt):
    """The blocked half backward split over two threads (keys, then queries) gives the bits of
    one thread."""
    q = R.standard_normal((1, 2, 400, 64)).astype(dt)
    o, pull = cattn.vjp(cattn.scaled_dot_product_attention, q, q, q, is_causal=True)
    g = R.standard_normal(o.shape).astype(dt)
    n = cattn.get_num_threads()
    try:
        cattn.set_num_threads(1)
        one = pull(g)
        cattn.set_num_threads(2)
        two = pull(g)
    finally:
        cattn.set_num_threads(n)
    for a, b in zip(one, two):
        same_bits(a, b)


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_vjp_of_sdpa_makes_no_float32_copy(dt):
    """cattn.vjp of half SDPA, traced by NumPy's allocator: the forward holds the half output,
    the caller's copy of it and the float32 lse; the pullback the three half gradients --
    nothing the size of a float32 copy of q, k, v or the cotangent (each 4 MiB here)."""
    q = R.standard_normal((4, 8, 512, 64)).astype(dt)
    lse_bytes = 4 * q.size // q.shape[-1]
    for kw in ({}, {"is_causal": True}):
        o, pull = cattn.vjp(cattn.scaled_dot_product_attention, q, q, q, **kw)
        pull(o)
        (o, pull), peak = traced(cattn.vjp, cattn.scaled_dot_product_attention, q, q, q, **kw)
        assert o.dtype == dt
        assert peak < 2 * o.nbytes + lse_bytes + (1 << 18), f"{kw}: forward {peak} bytes traced"
        grads, peak = traced(pull, np.ones_like(o))
        assert all(x.dtype == dt for x in grads)
        assert peak < 3 * q.nbytes + (1 << 18), f"{kw}: pullback {peak} bytes traced"


def mha_half_operands(dt, side_by_side, L=6, S=6, E=16, H=2, d=8):
    """x, the four projections (side by side as a MultiHeadAttention keeps them, or one
    C-contiguous block per head) and the four biases, in dt."""
    def proj(a, b):
        if side_by_side:  # (a, H, b) viewed as (H, a, b)
            return (R.standard_normal((a, H, b)) / 3).astype(dt).transpose(1, 0, 2)
        return (R.standard_normal((H, a, b)) / 3).astype(dt)
    x = R.standard_normal((2, L, E)).astype(dt)
    kv = R.standard_normal((2, S, E)).astype(dt)
    w = [proj(E, d), proj(E, d), proj(E, d),
         (R.standard_normal((H, d, E)) / 3).astype(dt) if side_by_side else proj(d, E)]
    b = [R.standard_normal(s).astype(dt) for s in [(H, d)] * 3 + [(E,)]]
    return x, kv, w, b


MHA_VJP_CALLS = [{}, {"is_causal": True}, {"attn_mask": "bool"}, {"key_lengths": [3, 6]},
                 {"need_weights": True}]


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("side_by_side", [True, False], ids=["side by side", "per head"])
@pytest.mark.parametrize("kw", MHA_VJP_CALLS, ids=lambda kw: "-".join(kw) or "plain")
def test_vjp_of_multi_head_attention_in_half(level, dt, side_by_side, kw):
    """vjp(multi_head_attention) on half operands: the forward's half loop keeps float32 heads,
    the output (and the weights) has the bits multi_head_attention gives, and the backward's
    half loop returns every gradient in the operands' dtype within half ulps of float64's from
    the rounded inputs."""
    x, kv, w, b = mha_half_operands(dt, side_by_side)
    kw = dict(kw)
    if kw.get("attn_mask") == "bool":
        kw["attn_mask"] = R.random((6, 6)) > 0.3
        kw["attn_mask"][:, 0] = True
    y, pull = cattn.vjp(cattn.multi_head_attention, x, kv, kv, *w, *b, **kw)
    direct = cattn.multi_head_attention(x, kv, kv, *w, *b, **kw)
    for a, c in zip(*((y, direct) if isinstance(y, tuple) else ((y,), (direct,)))):
        assert a.dtype == dt
        same_bits(a, c)
    o = y[0] if isinstance(y, tuple) else y
    g = R.standard_normal(o.shape).astype(dt)
    grads = pull((g, None) if isinstance(y, tuple) else g)
    assert all(a.dtype == dt for a in grads)
    f64 = [a.astype(np.float64) for a in [x, kv, kv] + w + b]
    y64, pull64 = cattn.vjp(cattn.multi_head_attention, *f64, **kw)
    g64 = g.astype(np.float64)
    for i, (got, want) in enumerate(zip(grads, pull64((g64, None) if isinstance(y, tuple)
                                                          else g64))):
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=4 * TOL[dt.name],
                                   atol=8 * TOL[dt.name] * max(np.abs(want).max(), 1e-3),
                                   err_msg=f"gradient {i}")


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("side_by_side", [True, False], ids=["side by side", "per head"])
@pytest.mark.parametrize("H", [3, 1])
def test_multi_head_backward_reads_half(level, dt, side_by_side, H):
    """The multi-head backward gufunc's half loop against its oracle (float copies of every
    operand, the float reference backward, each gradient rounded once): the same gradients
    within a half ulp or two, the additive mask's gradient float32."""
    x, kv, w, b = mha_half_operands(dt, side_by_side, L=20, S=33, E=24, H=H, d=8)
    mask = R.standard_normal((H, 20, 33)).astype(np.float32)
    fwd = _cattn.multi_head_attention_forward(x, kv, kv, *w, *b, mask, 0.3)
    assert fwd[0].dtype == dt and all(a.dtype == np.float32 for a in fwd[1:])
    g = R.standard_normal(fwd[0].shape).astype(dt)
    got = _cattn.multi_head_attention_backward(x, kv, kv, *w, mask, *fwd[1:], g, 0.3)
    want = _cattn.multi_head_attention_backward_ref(x, kv, kv, *w, mask, *fwd[1:], g, 0.3)
    for i, (a, c) in enumerate(zip(got, want)):
        assert a.dtype == c.dtype == dt, i
        c64 = c.astype(np.float64)
        np.testing.assert_allclose(a.astype(np.float64), c64, rtol=2 * TOL[dt.name],
                                   atol=2 * TOL[dt.name] * max(np.abs(c64).max(), 1e-2),
                                   err_msg=str(i))  # (the key bias's: zero but for rounding)


@pytest.mark.parametrize("side_by_side", [True, False], ids=["side by side", "per head"])
def test_multi_head_backward_in_bfloat16_at_the_pair_tiles_size(level, side_by_side):
    """Products large enough for the bfloat16 pair tile (cattn_bgemm_pays, where the CPU has
    AVX512-BF16 or SIMDe emulates it): the backward rounds its float operands (the output
    projection's saved heads, the heads' gradients) to bfloat16 and multiplies pairs; the
    gradients stay within bfloat16's tolerance of float64 from the rounded inputs."""
    bf = np.dtype(ml_dtypes.bfloat16)
    x, kv, w, b = mha_half_operands(bf, side_by_side, L=128, S=128, E=256, H=4, d=64)
    y, pull = cattn.vjp(cattn.multi_head_attention, x, kv, kv, *w, *b, is_causal=True)
    g = R.standard_normal(y.shape).astype(bf)
    grads = pull(g)
    f64 = [a.astype(np.float64) for a in [x, kv, kv] + w + b]
    _, pull64 = cattn.vjp(cattn.multi_head_attention, *f64, is_causal=True)
    wants = pull64(g.astype(np.float64))
    scale = max(np.abs(w64).max() for w64 in wants)
    for i, (got, want) in enumerate(zip(grads, wants)):
        assert got.dtype == bf
        # (the key bias's gradient is zero but for rounding: measured against the others')
        err = np.abs(got.astype(np.float64) - want).max() / max(np.abs(want).max(), scale / 100)
        assert err < TOL["bfloat16"], (i, err)  # 2.6e-3 to 5e-3 with the pair tile here


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_vjp_of_multi_head_attention_makes_no_float32_copy(dt):
    """vjp(multi_head_attention) on half operands, traced by NumPy's allocator: the forward holds
    the half output, the caller's copy and the float32 heads it saves (q, k, v, o: 4 MiB each
    here, and the lse); the pullback the half gradients -- nothing the size of a float32 copy of
    x (4 MiB) besides."""
    E, H, L = 256, 4, 4096
    x = R.standard_normal((1, L, E)).astype(dt)
    w = [(R.standard_normal((E, H, E // H)) / 16).astype(dt).transpose(1, 0, 2)
         for _ in range(3)] + [(R.standard_normal((H, E // H, E)) / 16).astype(dt)]
    heads = 4 * 4 * L * E + 4 * H * L  # q, k, v, o and lse, float32
    y, pull = cattn.vjp(cattn.multi_head_attention, x, x, x, *w, is_causal=True)
    pull(y)
    (y, pull), peak = traced(cattn.vjp, cattn.multi_head_attention, x, x, x, *w,
                             is_causal=True)
    assert y.dtype == dt
    assert peak < y.nbytes + heads + (1 << 18), f"forward: {peak} bytes traced"
    grads, peak = traced(pull, y)
    grad_bytes = sum(a.nbytes for a in grads)
    assert peak < grad_bytes + (1 << 18), f"pullback: {peak} bytes traced"


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_sdpa_with_a_mask_array_reads_half(level, dt):
    """A mask array (boolean, or additive in any float dtype, broadcast over heads) with half
    q, k, v: the half loop of _sdpa_mask, the mask made additive float32; within half ulps of
    float64 from the rounded inputs, decoding rows and blocked ones. (The raw gufunc keeps its
    float32 loop for a boolean mask: its half loop's mask is additive.)"""
    for L, S in ((3, 700), (100, 257)):
        q = R.standard_normal((2, 3, L, 32)).astype(dt)
        k = R.standard_normal((2, 3, S, 32)).astype(dt)
        v = R.standard_normal((2, 3, S, 16)).astype(dt)
        for mask in (R.random((L, S)) > 0.3, R.standard_normal((3, L, S)).astype(dt)):
            o = cattn.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            assert o.dtype == dt
            m64 = mask if mask.dtype == bool else mask.astype(np.float64)
            want = cattn.scaled_dot_product_attention(*(x.astype(np.float64) for x in (q, k, v)),
                                                      attn_mask=m64)
            np.testing.assert_allclose(o.astype(np.float64), want, rtol=TOL[dt.name],
                                       atol=2 * TOL[dt.name])


@pytest.mark.parametrize("dt", [np.float16, "bfloat16"], ids=str)
def test_kv_cache_in_half(dt):
    """new_cache(..., dtype=) keeps keys and values in half; decoding from it matches the
    full causal call within half precision, the module's dtype out; grads stay float32."""
    mha = cattn.MultiHeadAttention(64, 8, num_kv_heads=2, seed=0)
    x = R.standard_normal((2, 20, 64)).astype(np.float32)
    cache = mha.new_cache((2,), 32, dtype=dt)
    assert cache.k.dtype.name == cache.v.dtype.name == ("bfloat16" if dt == "bfloat16" else
                                                         "float16")
    assert "float16" in repr(cache) or "bfloat16" in repr(cache)
    ys = [mha(x[:, :12], cache=cache)] + [mha(x[:, t:t + 1], cache=cache) for t in range(12, 20)]
    assert all(y.dtype == np.float32 for y in ys) and cache.length == 20
    full = mha(x, is_causal=True)
    tol = 4 * TOL[cache.k.dtype.name]
    np.testing.assert_allclose(np.concatenate(ys, 1), full, rtol=tol, atol=tol)
    y, pull = mha.vjp(x[:, :2], cache=mha.new_cache((2,), 4, dtype=dt))
    assert pull(np.ones_like(y))[0].dtype == np.float32
    assert all(g.dtype == np.float32 for g in mha.grads.values())
    with pytest.raises(TypeError, match="float16 or bfloat16"):
        mha.new_cache((2,), 4, dtype=np.int32)
    with pytest.raises(TypeError, match="float16 or bfloat16"):
        mha.new_cache((2,), 4, dtype=np.float64)


# ---- multi-head attention (item 1: the fused kernel reads half) -------------------------------

def mha_operands(dt, side_by_side, bias, L=40, S=70, E=32, H=4, d=8, dv=16):
    """x, w and b in dt; side_by_side: the heads' weights as PyTorch's in_proj (E, H·d) viewed
    per head (one GEMM for every head), else stacked (H, E, d) (one GEMM per head)."""
    xq = R.standard_normal((2, L, E)).astype(dt)
    xkv = R.standard_normal((2, S, E)).astype(dt)

    def w(rows, cols):
        if side_by_side:
            return (R.standard_normal((rows, H * cols)) * 0.3).astype(dt).reshape(
                rows, H, cols).transpose(1, 0, 2)
        return (R.standard_normal((H, rows, cols)) * 0.3).astype(dt)
    ws = [w(E, d), w(E, d), w(E, dv), (R.standard_normal((H, dv, E)) * 0.3).astype(dt)]
    bs = [(R.standard_normal(s) * 0.1).astype(dt) for s in ((H, d), (H, d), (H, dv), (E,))] \
        if bias else [None] * 4
    return xq, xkv, ws, bs


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("side_by_side", [True, False], ids=["in_proj", "stacked"])
@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"key_lengths": np.array([70, 9])}],
                         ids=["plain", "causal", "lengths"])
def test_multi_head_attention_reads_half(level, dt, side_by_side, kw):
    """cattn.multi_head_attention on half x, w and b: _mha's half loop (projections converted
    as the half GEMM packs them, float32 heads, the output summed in float32 and rounded once):
    the operands' dtype out, within half ulps of float64 from the rounded inputs, fast path and
    oracle alike; without biases too; out= given."""
    for bias in (True, False):
        xq, xkv, ws, bs = mha_operands(dt, side_by_side, bias)
        o = cattn.multi_head_attention(xq, xkv, xkv, *ws, *bs, **kw)
        assert o.dtype == dt and o.shape == xq.shape
        want = cattn.multi_head_attention(*(None if a is None else a.astype(np.float64)
                                            for a in (xq, xkv, xkv, *ws, *bs)), **kw)
        np.testing.assert_allclose(o.astype(np.float64), want, rtol=2 * TOL[dt.name],
                                   atol=2 * TOL[dt.name])
    # the oracle (float copies, the float reference kernel) on the same call
    args, kind, scale, lim = cattn.functional._mha_args(
        xq, xkv, xkv, *ws, *bs, None, kw.get("key_lengths"), kw.get("is_causal", False), None,
        half=True)
    ref = _cattn._mha_ref(*args, scale, *lim)
    assert ref.dtype == dt
    np.testing.assert_allclose(ref.astype(np.float64), want, rtol=2 * TOL[dt.name],
                               atol=2 * TOL[dt.name])
    out = np.empty_like(o)
    assert cattn.multi_head_attention(xq, xkv, xkv, *ws, *bs, out=out, **kw) is out
    same_bits(out, o)


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("average", [True, False], ids=["averaged", "per head"])
def test_multi_head_attention_masks_and_weights_in_half(level, dt, average):
    """A mask array (boolean, or additive in the operands' dtype) and the weights read and
    written as half too: multi_head_attention's and the weights gufuncs' half loops (the mask
    made additive float32, each weight rounded once, the average over heads in float32); the
    output matches the call without weights; within half ulps of float64, the oracle too."""
    xq, xkv, ws, bs = mha_operands(dt, True, True)
    for mask in (R.random((40, 70)) > 0.2, (R.standard_normal((1, 4, 40, 70)) * 2).astype(dt)):
        o = cattn.multi_head_attention(xq, xkv, xkv, *ws, *bs, attn_mask=mask)
        o2, w = cattn.multi_head_attention(xq, xkv, xkv, *ws, *bs, attn_mask=mask,
                                           return_weights=True, average_attn_weights=average)
        assert o.dtype == o2.dtype == w.dtype == dt
        assert w.shape == ((2, 40, 70) if average else (2, 4, 40, 70))
        same_bits(o2, o)
        m64 = mask if mask.dtype == bool else mask.astype(np.float64)
        o64, w64 = cattn.multi_head_attention(
            *(a.astype(np.float64) for a in (xq, xkv, xkv, *ws, *bs)), attn_mask=m64,
            return_weights=True, average_attn_weights=average)
        np.testing.assert_allclose(o.astype(np.float64), o64, rtol=2 * TOL[dt.name],
                                   atol=2 * TOL[dt.name])
        np.testing.assert_allclose(w.astype(np.float64), w64, rtol=2 * TOL[dt.name], atol=2e-3)
    args, kind, scale, lim = cattn.functional._mha_args(xq, xkv, xkv, *ws, *bs, mask, None,
                                                        False, None, half=True)
    ro, rw = _cattn.multi_head_attention_weights_ref(*args, scale)
    assert ro.dtype == rw.dtype == dt
    np.testing.assert_allclose(ro.astype(np.float64), o64, rtol=2 * TOL[dt.name],
                               atol=2 * TOL[dt.name])


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_multi_head_attention_makes_no_float32_copy(dt):
    """NumPy's allocations, traced: the half output alone (with a mask array, that mask made
    additive float32; with weights, the half weights) -- no float32 copy of x (4 MiB as float32
    here) or of the projections; the float32 heads are the kernel's own scratch."""
    xq, xkv, ws, bs = mha_operands(dt, True, True, L=1024, S=1024, E=512, H=8, d=64, dv=64)
    mask = np.tri(1024, dtype=bool)
    # (keywords, what may be traced beside the output: the additive float32 mask, the weights)
    for kw, extra in (({"is_causal": True}, 0), ({"attn_mask": mask}, 4 * mask.size),
                      ({"attn_mask": mask, "return_weights": True,
                        "average_attn_weights": False}, 4 * mask.size + 2 * 2 * 8 * mask.size)):
        cattn.multi_head_attention(xq, xkv, xkv, *ws, *bs, **kw)
        tracemalloc.start()
        try:
            r = cattn.multi_head_attention(xq, xkv, xkv, *ws, *bs, **kw)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        o = r[0] if isinstance(r, tuple) else r
        assert o.dtype == dt
        assert peak < o.nbytes + extra + (1 << 18), f"{kw.keys()}: {peak} bytes traced"


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("L", [1, 4, 5, 8])
@pytest.mark.parametrize("E,Ev", [(32, 32), (128, 128), (64, 48), (96, 160), (40, 72)], ids=str)
def test_decoding_rows_read_half(level, dt, L, E, Ev):
    """Decoding (up to 8 query rows) over half keys and values of every length: the level's half
    rows -- on AVX512-BF16, bfloat16 scores and weighted sums by vdpbf16ps (the weights rounded
    to bfloat16 in pairs, rows of 32 values at a time, the last keys and other widths through
    the avx512 rows) -- within half ulps of float64 from the rounded inputs."""
    for S in (1, 2, 3, 5, 1000, 1029, 2051):
        q = R.standard_normal((2, L, E)).astype(dt)
        k = R.standard_normal((2, S, E)).astype(dt)
        v = R.standard_normal((2, S, Ev)).astype(dt)
        for kw in ({}, {"attn_mask": cattn.sliding_window(L, S, S // 2 + 1)}):
            o = cattn.scaled_dot_product_attention(q, k, v, **kw)
            want = cattn.scaled_dot_product_attention(*(x.astype(np.float64) for x in (q, k, v)),
                                                      **kw)
            np.testing.assert_allclose(o.astype(np.float64), want, rtol=TOL[dt.name],
                                       atol=TOL[dt.name], err_msg=f"S={S} {kw}")


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"attn_mask": "bool"},
                                {"key_lengths": np.array([[5], [60]])}],
                         ids=["plain", "causal", "mask", "lengths"])
def test_sdpa_weights_in_half(level, dt, kw):
    """return_weights=True with half q, k, v: _sdpa_w's half loop writes each weight rounded
    once to the operands' dtype (zeros outside a row's keys), within half ulps of float64 from
    the rounded inputs, on the fast path and the oracle; the output matches the call without
    weights; no float32 copy of q, k or v (tracemalloc: the half output and weights, the float32
    lse)."""
    q = R.standard_normal((2, 3, 90, 32)).astype(dt)
    k = R.standard_normal((2, 3, 60, 32)).astype(dt)
    v = R.standard_normal((2, 3, 60, 16)).astype(dt)
    if kw.get("attn_mask") == "bool":
        kw = {"attn_mask": R.random((90, 60)) > 0.3}
    o, w = cattn.scaled_dot_product_attention(q, k, v, return_weights=True, **kw)
    assert o.dtype == w.dtype == dt and w.shape == (2, 3, 90, 60)
    same_bits(o, cattn.scaled_dot_product_attention(q, k, v, **kw))
    o64, w64 = cattn.scaled_dot_product_attention(*(x.astype(np.float64) for x in (q, k, v)),
                                                  return_weights=True, **kw)
    np.testing.assert_allclose(w.astype(np.float64), w64, rtol=TOL[dt.name], atol=1e-3)
    np.testing.assert_allclose(o.astype(np.float64), o64, rtol=TOL[dt.name],
                               atol=2 * TOL[dt.name])
    assert (w.astype(np.float64)[w64 == 0] == 0).all()
    # the oracle (float copies, the float reference kernel, rounded) on the same plan
    plan = cattn.functional.sdpa_plan("t", q, k, v, half=True, **kw)
    ref = _cattn._sdpa_mask_w_ref if plan.mask is not None else _cattn._sdpa_w_ref
    ow, ww, _ = ref(*plan.args, *plan.extras)
    assert ow.dtype == ww.dtype == dt
    np.testing.assert_allclose(plan.weights(ww).astype(np.float64), w64, rtol=TOL[dt.name],
                               atol=1e-3)
    np.testing.assert_allclose(plan.output(ow).astype(np.float64), o64, rtol=TOL[dt.name],
                               atol=2 * TOL[dt.name])
    tracemalloc.start()
    try:
        cattn.scaled_dot_product_attention(q, k, v, return_weights=True, **kw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    mask_bytes = 4 * 90 * 60 if "attn_mask" in kw else 0
    assert peak < o.nbytes + w.nbytes + mask_bytes + (1 << 16), f"{peak} bytes traced"


@pytest.mark.parametrize("order", ["cattn first", "ml_dtypes first", "by name"])
def test_bfloat16_loops_register_whenever_ml_dtypes_is_imported(order):
    """`import cattn` does not import ml_dtypes (0.6 s here, longer than cattn); its bfloat16
    loops are registered when ml_dtypes is imported, before or after cattn, or when a layer
    asks for "bfloat16" by name -- and the one-shot finder then leaves sys.meta_path."""
    import subprocess
    import sys
    first = {"cattn first": "import cattn; assert 'ml_dtypes' not in sys.modules; import ml_dtypes",
             "ml_dtypes first": "import ml_dtypes, cattn",
             "by name": "import cattn; cattn.MultiHeadAttention(8, 2, dtype='bfloat16'); "
                        "import ml_dtypes"}[order]
    code = (f"import sys; {first}; import numpy as np\n"
            "x = np.linspace(-3, 3, 10).astype(ml_dtypes.bfloat16).reshape(2, 5)\n"
            "y = cattn.softmax(x); assert y.dtype == ml_dtypes.bfloat16, y.dtype\n"
            "assert cattn.matmul(x, x.T).dtype == ml_dtypes.bfloat16\n"
            "assert not any(type(f).__name__ == '_RegisterOnImport' for f in sys.meta_path)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
