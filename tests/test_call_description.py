"""One description of an attention call (issue 23): the limits operand laid out once (in C, read
by name in Python), causality as row limits in every kernel, multi-head calls that skip what
key_lengths and is_causal exclude instead of masking it, and checks made before the loops run."""
import os

import numpy as np
import pytest

import cattn
from cattn import _cattn
from cattn.functional import _limits, _mha_mask

ROOT = os.path.join(os.path.dirname(__file__), "..")
R = np.random.default_rng(23)


def read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


def test_the_limits_layout_is_written_once_in_c_and_read_by_name():
    assert _cattn.LIMITS == ("lo", "hi", "kv_len", "q_len", "per", "seed", "stream")
    lim = _limits((2, 3), kv_len=np.array([[1, 2, 3], [4, 5, 6]]), q_len=7, per=5, lo=-1)
    assert lim.shape == (2, 3, len(_cattn.LIMITS)) and lim.dtype == np.int64
    col = {n: lim[..., i] for i, n in enumerate(_cattn.LIMITS)}
    assert (col["kv_len"] == [[1, 2, 3], [4, 5, 6]]).all() and (col["q_len"] == 7).all()
    assert (col["lo"] == -1).all() and (col["hi"] == 0).all() and (col["seed"] == 0).all()
    with pytest.raises(AssertionError):
        _limits((2,), key_len=3)  # a misspelt field is never silently zero
    # the glue reads the fields by these names, in this order
    h = read("csrc", "glue", "loops.h")
    assert "LIM_LO, LIM_HI, LIM_KV_LEN, LIM_Q_LEN, LIM_PER, LIM_SEED, LIM_STREAM" in h
    assert '{"lo", "hi", "kv_len", "q_len", "per", "seed", "stream"}' in h


def test_causal_is_one_encoding_row_limits(level):
    # the kernels know no causal mask kind: the glue turns causal into limits (call_of)
    for d in ("kernels", "isa", "runtime"):
        for root, _, files in os.walk(os.path.join(ROOT, "csrc", d)):
            for f in files:
                assert "CATTN_MASK_CAUSAL" not in read(root, f), f
    assert "CATTN_MASK_CAUSAL" not in read("csrc", "cattn.h")
    q, k, v = (R.standard_normal((2, 7, 4)) for _ in range(3))
    tri = np.tri(7, dtype=bool)
    for f, g in ((_cattn.causal_attention, _cattn.masked_attention),
                 (_cattn.causal_attention_ref, _cattn.masked_attention_ref)):
        np.testing.assert_allclose(f(q, k, v, 0.5), g(q, k, v, tri, 0.5), atol=1e-13)


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multi_head_lengths_and_causal_skip_what_they_exclude(dtype, is_causal, level):
    """key_lengths and is_causal without a mask array go to the kernels as limits, so keys past a
    sequence's length are never read: NaN there leaves the output finite. (A dense mask reads
    them, and 0 · NaN is NaN, which is what PyTorch gives too.)"""
    H, E, d, S, L = 2, 16, 8, 300, 5
    wq, wk, wv = (R.standard_normal((H, E, d)).astype(dtype) for _ in range(3))
    wo = R.standard_normal((H, d, E)).astype(dtype)
    kl = np.array([37, 300, 128])
    x = R.standard_normal((3, S, E)).astype(dtype)
    q = R.standard_normal((3, L, E)).astype(dtype)
    clean = x.copy()
    for b, n in enumerate(kl):
        x[b, n:] = np.nan
    kind, lim = _mha_mask("f", None, kl, is_causal, 3, H, L, S, (3,))
    assert kind == "lim" and lim.shape == (3, len(_cattn.LIMITS))
    o = cattn.multi_head_attention(q, x, x, wq, wk, wv, wo, key_lengths=kl, is_causal=is_causal)
    assert np.isfinite(o).all()
    dense = (np.arange(S) < kl[:, None, None]) & (np.tri(L, S, dtype=bool) if is_causal else True)
    ref = cattn.multi_head_attention(q, clean, clean, wq, wk, wv, wo, attn_mask=dense[:, None])
    tol = 2e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(o, ref, rtol=tol, atol=tol)
    # the gradients skip them too (cattn.vjp runs the same limits through the backward)
    out, pull = cattn.vjp(cattn.multi_head_attention, q, x, x, wq, wk, wv, wo, key_lengths=kl,
                          is_causal=is_causal)
    g = pull(np.ones_like(out))
    assert np.isfinite(g[0]).all() and np.isfinite(g[3]).all() and np.isfinite(g[6]).all()


def test_the_loops_never_raise():
    """A loop takes what it is given within the call's shapes, as the kernels take every limit
    (row_rules.h clamps them): rows per sequence outside [0, l] are l, and a mask array's rows
    are the rows per sequence. Layouts a kernel needs (mha's saved arrays, C-contiguous) are made
    in scratch. So the loops have no error but out of memory and Ctrl-C."""
    q, k, v = (R.standard_normal((4, 3)) for _ in range(3))
    z = np.float64(0)
    lim = _limits((), lo=-8, hi=8, kv_len=4, q_len=4)
    want = cattn.attention(q, k, v, 1.0)
    for per in (0, 4, 5, -1, 2**40):
        got = _cattn._sdpa(q, k, v, 1.0, z, z, _limits((), lo=-8, hi=8, kv_len=4, q_len=4,
                                                      per=per))[0]
        np.testing.assert_allclose(got, want, atol=1e-13)
    # a (3, s) mask repeats over the rows: its rows are the rows per sequence, whatever per says
    mask = R.random((3, 4)) < 0.7
    mask[:, 0] = True
    rows = np.concatenate([mask, mask[:1]])
    want = cattn.masked_attention(q, k, v, rows, 1.0)
    for per in (0, 3, 4, 7):
        got = _cattn._sdpa_mask(q, k, v, mask, 1.0, z, z,
                                _limits((), lo=-8, hi=8, kv_len=4, q_len=3, per=per))[0]
        np.testing.assert_allclose(got, want, atol=1e-13)
    # mha: saved forward arrays in any layout, out= or input
    H, E, d = 2, 3, 2
    x = R.standard_normal((4, E))
    ws = [R.standard_normal(s) for s in ((H, E, d),) * 3 + ((H, d, E),)]
    bs = [np.zeros((H, d)), np.zeros((H, d)), np.zeros((H, d)), np.zeros(E)]
    r = _cattn._mha_forward(x, x, x, *ws, *bs, 1.0, lim)
    outs = [np.empty_like(r[0])] + [np.asfortranarray(np.empty_like(a)) for a in r[1:]]
    _cattn._mha_forward(x, x, x, *ws, *bs, 1.0, lim, out=tuple(outs))
    for a, b in zip(r, outs):
        np.testing.assert_array_equal(a, b)
    dout = R.standard_normal((4, E))
    g = _cattn._mha_backward(x, x, x, *ws, *r[1:], dout, 1.0, lim)
    g2 = _cattn._mha_backward(x, x, x, *ws, *outs[1:], dout, 1.0, lim)
    for a, b in zip(g, g2):
        np.testing.assert_array_equal(a, b)
    src = read("csrc", "glue", "loops.c") + read("csrc", "glue", "loops.inc")
    assert "loop_error" not in src and "failed = 2" not in src and "failed = 3" not in src


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_additive_lengths_and_causal_skip_what_they_exclude(dtype, is_causal, level):
    """Additive attention too: its score kernel (forward and backward) takes the limits, so the
    keys past a length are never read (NaN there leaves the output and d_query finite)."""
    Dq, Dk, hid, S, L = 6, 5, 7, 300, 9
    Wq, Wk, wv = (R.standard_normal(s).astype(dtype) for s in ((hid, Dq), (hid, Dk), (1, hid)))
    kl = np.array([40, 300, 129])
    q = R.standard_normal((3, L, Dq)).astype(dtype)
    k = R.standard_normal((3, S, Dk)).astype(dtype)
    v = R.standard_normal((3, S, 4)).astype(dtype)
    clean = k.copy()
    for b, n in enumerate(kl):
        k[b, n:] = np.nan
    out, w = cattn.additive_attention(q, k, v, Wq, Wk, wv, key_lengths=kl, is_causal=is_causal,
                                      return_weights=True)
    assert np.isfinite(out).all() and np.isfinite(w).all()
    dense = (np.arange(S) < kl[:, None, None]) & (np.tri(L, S, dtype=bool) if is_causal else True)
    ref_out, ref_w = cattn.additive_attention(q, clean, v, Wq, Wk, wv, dense, return_weights=True)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(w, ref_w, rtol=tol, atol=tol)
    np.testing.assert_allclose(out, ref_out, rtol=tol, atol=tol)
    y, pull = cattn.vjp(cattn.additive_attention, q, k, v, Wq, Wk, wv, key_lengths=kl,
                        is_causal=is_causal)
    dq, dk, dv, dWq, _, dwv = pull(np.ones_like(y))
    assert np.isfinite(dq).all() and np.isfinite(dv).all() and np.isfinite(dWq).all()
    yr, pr = cattn.vjp(cattn.additive_attention, q, clean, v, Wq, Wk, wv, dense)
    for a, b in zip((dq, dv, dWq, dwv), (lambda g: (g[0], g[2], g[3], g[5]))(pr(np.ones_like(yr)))):
        np.testing.assert_allclose(a, b, rtol=50 * tol, atol=50 * tol)
    # the reference twins agree with the fast kernels, limits included
    lim = _limits((3,), lo=-(1 << 62), hi=0 if is_causal else 1 << 62, kv_len=kl, q_len=L)
    qp, kp = q @ Wq.T, clean @ Wk.T
    np.testing.assert_allclose(_cattn._additive_scores(qp, kp, wv[0], lim),
                               _cattn._additive_scores_ref(qp, kp, wv[0], lim), rtol=tol,
                               atol=tol)


def test_fewer_gufuncs_and_every_public_one_kept():
    """One private family per route (each taking the limits) beside the public names: 39
    gufuncs, each with its reference twin (48 before issue 23). A new variant needs a reason."""
    names = {n for n in dir(_cattn) if isinstance(getattr(_cattn, n), np.ufunc)}
    fast = {n for n in names if not n.endswith("_ref")}
    assert names == fast | {n + "_ref" for n in fast if n not in ("exp_sum", "row_max")} | \
        {"exp_sum_ref", "row_max_ref"}
    assert len(fast) <= 39, sorted(fast)
    assert not any("causal_mha" in n for n in fast)
    public = {getattr(cattn, n).__name__ for n in cattn.__all__
              if isinstance(getattr(cattn, n), np.ufunc)}
    assert public <= fast and len(public) >= 22


def test_the_default_scale_is_one_rule():
    """Without scale=, the Python side (as_scale) and the direct path (cattn_default_scale) give
    1/sqrt(E) to the last bit; E = 0 is refused by as_scale alone, with its message."""
    q, k, v = (R.standard_normal((2, 3, 5, 7)).astype(np.float32) for _ in range(3))
    sdpa = cattn.scaled_dot_product_attention
    explicit = 1 / np.sqrt(7)
    np.testing.assert_array_equal(sdpa(q, k, v), sdpa(q, k, v, scale=explicit))  # direct
    full = np.full((2, 3), 5)
    np.testing.assert_array_equal(sdpa(q, k, v, key_lengths=full),               # general
                                  sdpa(q, k, v, key_lengths=full, scale=explicit))
    assert not hasattr(_cattn, "default_scale")
    with pytest.raises(ValueError, match="the embedding size E is 0"):
        sdpa(q[..., :0], k[..., :0], v)
