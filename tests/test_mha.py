"""The multi-head gufunc and cattn.multi_head_attention against the float64 reference."""
import numpy as np
import pytest

import cattn
import reference as ref
from cattn import _cattn
from conftest import layouts, tol

pytestmark = pytest.mark.usefixtures("level")


def weights(H, Eq, Ek, Ev, d, dv, Eo, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    r = lambda *s: (rng.standard_normal(s) / np.sqrt(s[-2] if len(s) > 1 else 1)).astype(dtype)  # noqa: E731
    return (r(H, Eq, d), r(H, Ek, d), r(H, Ev, dv), r(H, dv, Eo), r(H, d), r(H, d), r(H, dv),
            r(Eo))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("H,L,S,Eq,Ek,Ev,d,dv,Eo", [
    (1, 1, 1, 1, 1, 1, 1, 1, 1), (2, 5, 7, 8, 6, 10, 4, 3, 9), (4, 70, 90, 32, 32, 32, 8, 8, 32),
    (3, 0, 4, 6, 6, 6, 2, 2, 6), (2, 4, 0, 6, 6, 6, 2, 2, 6), (8, 17, 13, 64, 64, 64, 8, 8, 64),
])
@pytest.mark.parametrize("masked", ["none", "bool", "float"])
def test_fast_and_ref_match_reference(dtype, H, L, S, Eq, Ek, Ev, d, dv, Eo, masked):
    rng = np.random.default_rng(L + S)
    xq = rng.standard_normal((2, L, Eq)).astype(dtype)
    xk = rng.standard_normal((2, S, Ek)).astype(dtype)
    xv = rng.standard_normal((2, S, Ev)).astype(dtype)
    W = weights(H, Eq, Ek, Ev, d, dv, Eo, dtype)
    if masked == "bool":
        mask = rng.random((2, H, L, S)) < 0.7
    elif masked == "float":
        mask = rng.standard_normal((2, H, L, S)).astype(dtype)
    else:
        mask = np.ones((2, H, L, S), bool)
    scale = dtype(0.3)
    want, w_want = ref.mha(xq, xk, xv, *W, mask=mask, scale=0.3)
    for f in (_cattn.multi_head_attention, _cattn.multi_head_attention_ref):
        got = f(xq, xk, xv, *W, mask, scale)
        assert got.dtype == dtype and got.shape == (2, L, Eo)
        np.testing.assert_allclose(got, want, *tol(dtype))
    for f in (_cattn.multi_head_attention_weights, _cattn.multi_head_attention_weights_ref):
        got, w = f(xq, xk, xv, *W, mask, scale)
        np.testing.assert_allclose(got, want, *tol(dtype))
        np.testing.assert_allclose(w, w_want, *tol(dtype))


def test_function_defaults_and_weights():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5, 8))
    W = weights(2, 8, 8, 8, 4, 4, 8)
    want, w_want = ref.mha(x, x, x, *W)
    out, w = cattn.multi_head_attention(x, x, x, *W, need_weights=True)
    np.testing.assert_allclose(out, want, 1e-12)
    np.testing.assert_allclose(w, w_want.mean(-3), 1e-12)
    _, wh = cattn.multi_head_attention(x, x, x, *W, need_weights=True, average_attn_weights=False)
    np.testing.assert_allclose(wh, w_want, 1e-12)
    np.testing.assert_allclose(cattn.multi_head_attention(x, x, x, *W[:4]),
                               ref.mha(x, x, x, *W[:4])[0], 1e-12)


def test_key_lengths_and_causal():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 6, 8))
    W = weights(2, 8, 8, 8, 4, 4, 8)
    kl = np.array([6, 2, 0])
    allowed = np.arange(6) < kl[:, None, None, None]
    out = cattn.multi_head_attention(x, x, x, *W, key_lengths=kl)
    np.testing.assert_allclose(out, ref.mha(x, x, x, *W, mask=allowed)[0], 1e-12)
    # no key at all for the last sequence: every head outputs zeros, only the output bias is left
    np.testing.assert_allclose(out[2], np.broadcast_to(W[7], (6, 8)), 1e-12)
    assert not np.any(np.isnan(out))
    out = cattn.multi_head_attention(x, x, x, *W, is_causal=True, key_lengths=kl)
    np.testing.assert_allclose(out, ref.mha(x, x, x, *W, mask=allowed & np.tri(6, dtype=bool))[0],
                               1e-12)


@pytest.mark.parametrize("which", ["xq", "wq", "wo", "mask"])
def test_layouts_match_contiguous(which):
    rng = np.random.default_rng(3)
    args = dict(xq=rng.standard_normal((2, 5, 8)), wq=weights(2, 8, 8, 8, 4, 4, 8)[0],
                wo=weights(2, 8, 8, 8, 4, 4, 8)[3], mask=rng.random((2, 5, 5)) < 0.8)
    W = list(weights(2, 8, 8, 8, 4, 4, 8))

    def run(a):
        W2 = list(W)
        W2[0], W2[3] = a["wq"], a["wo"]
        return cattn.multi_head_attention(a["xq"], args["xq"], args["xq"], *W2,
                                          attn_mask=a["mask"][:, None])
    want = run(args)
    for name, x in layouts(args[which]).items():
        np.testing.assert_allclose(run(dict(args, **{which: x})), want, 1e-12, err_msg=name)


def test_out_overlapping_an_input():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 8))
    W = weights(2, 8, 8, 8, 4, 4, 8)
    want = cattn.multi_head_attention(x, x, x, *W)
    x2 = x.copy()
    cattn.multi_head_attention(x2, x2, x2, *W, out=x2)
    np.testing.assert_allclose(x2, want, 1e-12)


@pytest.mark.parametrize("bad,err,msg", [
    (dict(query=np.ones((5, 7))), ValueError, r"query has 7 features but q_weight"),
    (dict(key=np.ones((6, 7))), ValueError, r"k_weight \(2, 8, 4\) should be"),
    (dict(value=np.ones((5, 8))), ValueError, r"key has 6 positions but value has 5"),
    (dict(attn_mask=np.ones((5, 5), bool)), ValueError, r"attn_mask of shape \(5, 5\)"),
    (dict(attn_mask=np.ones((3, 5, 6), bool)), ValueError, r"attn_mask of shape \(3, 5, 6\) has 3 heads but num_heads is 2"),
    (dict(attn_mask=np.ones((5, 6), int)), TypeError, r"attn_mask has dtype int64"),
    (dict(key_lengths=np.array(7)), ValueError, r"key_lengths must be in \[0, 6\]"),
    (dict(key_lengths=np.array(-1)), ValueError, r"key_lengths must be in \[0, 6\]"),
    (dict(key_lengths=np.array(2.0)), TypeError, r"key_lengths must be integers"),
    (dict(key_lengths=np.array([1, 2, 3])), ValueError, r"key_lengths of shape \(3,\) does not"),
    (dict(query=np.ones((5, 8), complex)), TypeError, r"query has dtype complex128"),
])
def test_bad_input(bad, err, msg):
    rng = np.random.default_rng(5)
    args = dict(query=rng.standard_normal((5, 8)), key=rng.standard_normal((6, 8)),
                value=rng.standard_normal((6, 8)))
    kw = {k: v for k, v in bad.items() if k not in args}
    args.update({k: v for k, v in bad.items() if k in args})
    with pytest.raises(err, match="^multi_head_attention: " + msg):
        cattn.multi_head_attention(args["query"], args["key"], args["value"],
                                   *weights(2, 8, 8, 8, 4, 4, 8), **kw)
