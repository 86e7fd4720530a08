"""Scaled dot-product attention: the gufuncs and cattn.scaled_dot_product_attention against the
float64 reference, golden data from PyTorch, and the errors."""
import os

import numpy as np
import pytest

import cattn
import reference as ref
from cattn import _cattn
from conftest import layouts, tol

pytestmark = pytest.mark.usefixtures("level")
sdpa = cattn.scaled_dot_product_attention
DATA = os.path.join(os.path.dirname(__file__), "data")


def qkv(shape_q, S, Ev=None, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    *batch, L, E = shape_q
    Ev = E if Ev is None else Ev
    q = rng.standard_normal(shape_q).astype(dtype)
    k = rng.standard_normal((*batch, S, E)).astype(dtype)
    v = rng.standard_normal((*batch, S, Ev)).astype(dtype)
    return q, k, v


SHAPES = [(L, S, E, Ev) for L in (1, 3, 17, 70) for S in (1, 5, 16, 67, 130) for (E, Ev) in
          ((1, 1), (8, 8), (13, 5), (64, 64))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("L,S,E,Ev", SHAPES)
def test_fast_and_ref_match_reference(dtype, L, S, E, Ev):
    q, k, v = qkv((2, L, E), S, Ev, dtype, seed=L + S + E)
    want, _ = ref.sdpa(q, k, v)
    scale = dtype(1 / np.sqrt(E))
    for f in (_cattn.attention, _cattn.attention_ref):
        got = f(q, k, v, scale)
        assert got.dtype == dtype and got.shape == (2, L, Ev)
        np.testing.assert_allclose(got, want, *tol(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("L,S", [(1, 1), (5, 3), (3, 5), (70, 70), (130, 67), (67, 130)])
@pytest.mark.parametrize("kind", ["causal", "bool", "float"])
def test_masks_fast_and_ref(dtype, L, S, kind):
    q, k, v = qkv((2, L, 16), S, 8, dtype, seed=L * S)
    rng = np.random.default_rng(L + S)
    if kind == "causal":
        want, w_want = ref.sdpa(q, k, v, is_causal=True)
        got = [_cattn.causal_attention(q, k, v, dtype(0.25)),
               _cattn.causal_attention_ref(q, k, v, dtype(0.25))]
        got_w = sdpa(q, k, v, is_causal=True, return_weights=True)
    else:
        mask = rng.random((L, S)) < 0.7 if kind == "bool" else rng.standard_normal((L, S))
        mask = mask if kind == "bool" else mask.astype(dtype)
        want, w_want = ref.sdpa(q, k, v, mask)
        got = [_cattn.masked_attention(q, k, v, mask, dtype(0.25)),
               _cattn.masked_attention_ref(q, k, v, mask, dtype(0.25))]
        got_w = sdpa(q, k, v, mask, return_weights=True)
    for g in got:
        np.testing.assert_allclose(g, want, *tol(dtype))
    np.testing.assert_allclose(got_w[0], want, *tol(dtype))
    np.testing.assert_allclose(got_w[1], w_want, *tol(dtype))


def test_gufuncs_are_real():
    for f in (cattn.attention, cattn.causal_attention, cattn.masked_attention,
              cattn.attention_weights):
        assert isinstance(f, np.ufunc) and f.signature.startswith("(l,e),(s,e),(s,ev)")


def test_default_scale_and_explicit_scale():
    q, k, v = qkv((4, 8), 6)
    np.testing.assert_allclose(sdpa(q, k, v), ref.sdpa(q, k, v)[0], 1e-12)
    np.testing.assert_allclose(sdpa(q, k, v, scale=0.7), ref.sdpa(q, k, v, scale=0.7)[0], 1e-12)


def test_broadcast_batch_and_heads():
    rng = np.random.default_rng(5)
    q = rng.standard_normal((2, 3, 4, 8))
    k = rng.standard_normal((1, 3, 6, 8))
    v = rng.standard_normal((6, 5))
    mask = rng.random((2, 1, 4, 6)) < 0.8
    out, w = sdpa(q, k, v, mask, return_weights=True)
    want, w_want = ref.sdpa(q, k, np.broadcast_to(v, (1, 3, 6, 5)), mask)
    assert out.shape == (2, 3, 4, 5) and w.shape == (2, 3, 4, 6)
    np.testing.assert_allclose(out, want, 1e-12)
    np.testing.assert_allclose(w, w_want, 1e-12)


@pytest.mark.parametrize("mshape", [(), (6,), (1, 6), (4, 1), (1, 1), (3, 1, 6)])
def test_mask_broadcasts(mshape):
    q, k, v = qkv((3, 4, 8), 6)
    mask = np.random.default_rng(1).random(mshape) < 0.6
    want, _ = ref.sdpa(q, k, v, np.broadcast_to(mask, (3, 4, 6)))
    np.testing.assert_allclose(sdpa(q, k, v, mask), want, 1e-12)


@pytest.mark.parametrize("L,S", [(4, 4), (2, 5), (5, 2), (80, 80)])
def test_fully_masked_rows_give_zeros(L, S):
    q, k, v = qkv((L, 8), S)
    mask = np.ones((L, S), bool)
    mask[1] = False
    fmask = np.where(mask, 0.0, -np.inf)
    for m in (mask, fmask):
        out, w = sdpa(q, k, v, m, return_weights=True)
        np.testing.assert_array_equal(out[1], 0.0)
        np.testing.assert_array_equal(w[1], 0.0)
        assert not np.any(np.isnan(out))
        np.testing.assert_allclose(sdpa(q, k, v, m), out, 1e-12)


def test_zero_sizes():
    q, k, v = qkv((0, 8), 5)
    assert sdpa(q, k, v).shape == (0, 8)
    q, k, v = qkv((3, 8), 0, 4)
    out, w = sdpa(q, k, v, return_weights=True)
    np.testing.assert_array_equal(out, np.zeros((3, 4)))
    assert w.shape == (3, 0)
    q, k, v = qkv((3, 0), 5, 4)
    out = sdpa(q, k, v, scale=1.0)  # E = 0: every score is 0, uniform weights
    np.testing.assert_allclose(out, np.broadcast_to(v.mean(0), (3, 4)), 1e-12)
    assert sdpa(*qkv((2, 0, 4, 8), 5)).shape == (2, 0, 4, 8)


def test_nan_propagates_to_the_rows_it_touches():
    q, k, v = qkv((4, 8), 6)
    q[2, 0] = np.nan
    out = sdpa(q, k, v)
    assert np.all(np.isnan(out[2])) and not np.any(np.isnan(np.delete(out, 2, 0)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("which", ["q", "k", "v", "mask"])
@pytest.mark.parametrize("L", [5, 70])
def test_layouts_match_contiguous(dtype, which, L):
    q, k, v = qkv((2, L, 12), 9, 7, dtype)
    mask = np.random.default_rng(3).standard_normal((2, L, 9)).astype(dtype)
    args = dict(q=q, k=k, v=v, mask=mask)
    want = sdpa(q, k, v, mask)
    for name, x in layouts(args[which]).items():
        a = dict(args, **{which: x})
        got = sdpa(a["q"], a["k"], a["v"], a["mask"])
        np.testing.assert_allclose(got, want, *tol(dtype), err_msg=name)


def test_out_argument_and_overlap():
    q, k, v = qkv((5, 8), 5, 8)
    want = sdpa(q, k, v)
    out = np.empty((5, 8))
    assert sdpa(q, k, v, out=out) is out
    np.testing.assert_array_equal(out, want)
    q2 = q.copy()
    sdpa(q2, k, v, out=q2)  # out is the query itself
    np.testing.assert_allclose(q2, want, 1e-14)
    v2 = v.copy()
    sdpa(q, k, v2, is_causal=True, out=v2)
    np.testing.assert_allclose(v2, sdpa(q, k, v, is_causal=True), 1e-14)


def test_dtypes():
    q, k, v = qkv((3, 8), 4, dtype=np.float32)
    assert sdpa(q, k, v).dtype == np.float32
    assert sdpa(q, k, v.astype(np.float64)).dtype == np.float64
    assert sdpa(q.astype(int), k.astype(int), v.astype(int)).dtype == np.float64
    out, w = sdpa(q, k, v, np.ones((3, 4)), return_weights=True)  # float64 mask, float32 inputs
    assert out.dtype == w.dtype == np.float32


# ---- golden data from PyTorch (scripts/make_golden.py writes tests/data/sdpa_golden.npz) ---------

def golden_cases():
    with np.load(os.path.join(DATA, "sdpa_golden.npz")) as z:
        data = {name: z[name] for name in z.files}
    names = sorted({n.split("/")[0] for n in data})
    return [(n, {key.split("/")[1]: data[key] for key in data if key.split("/")[0] == n})
            for n in names]


@pytest.mark.parametrize("name,case", golden_cases(), ids=lambda x: x if isinstance(x, str) else "")
def test_golden_pytorch(name, case):
    kw = {}
    if "mask" in case:
        kw["attn_mask"] = case["mask"]
    if case["is_causal"]:
        kw["is_causal"] = True
    if not np.isnan(case["scale"]):
        kw["scale"] = float(case["scale"])
    got = sdpa(case["q"], case["k"], case["v"], **kw)
    assert got.dtype == case["out"].dtype
    rtol, atol = (2e-5, 2e-5) if got.dtype == np.float32 else (1e-11, 1e-11)
    np.testing.assert_allclose(got, case["out"], rtol, atol)


# ---- bad input ---------------------------------------------------------------------------------

def test_core_dim_mismatches_name_the_shapes():
    q, k, v = qkv((4, 8), 6)
    with pytest.raises(ValueError, match=r"^scaled_dot_product_attention: query has embedding "
                                         r"size 8 but key has 7 \(query \(4, 8\), key \(6, 7\)\)"):
        sdpa(q, k[:, :7], v)
    with pytest.raises(ValueError, match=r"^scaled_dot_product_attention: key has 6 positions "
                                         r"but value has 5"):
        sdpa(q, k, v[:5])
    with pytest.raises(ValueError, match=r"^attention: "):  # the bare gufunc: NumPy's check
        cattn.attention(q, k, v[:5], 1.0)


def test_batch_dims_that_do_not_broadcast():
    q, k, v = qkv((2, 4, 8), 6)
    with pytest.raises(ValueError, match=r"^scaled_dot_product_attention: batch dimensions do "
                                         r"not broadcast: query \(2,\), key \(3,\)"):
        sdpa(q, np.concatenate([k, k[:1]]), np.concatenate([v, v[:1]]))


@pytest.mark.parametrize("mask,err,msg", [
    (np.ones((4, 5), bool), ValueError, r"attn_mask of shape \(4, 5\) does not broadcast to "
                                        r"\(\.\.\., L, S\) = \(\.\.\., 4, 6\)"),
    (np.ones((3, 6), bool), ValueError, r"attn_mask of shape \(3, 6\)"),
    (np.ones((5, 4, 6), bool), ValueError, r"batch dimensions do not broadcast.*attn_mask \(5,\)"),
    (np.ones((4, 6), np.int64), TypeError, r"attn_mask has dtype int64"),
    (np.ones((4, 6), np.uint8), TypeError, r"attn_mask has dtype uint8"),
    (np.ones((4, 6), complex), TypeError, r"attn_mask has dtype complex128"),
    (np.ones((4, 6), object), TypeError, r"attn_mask has dtype object"),
])
def test_bad_masks(mask, err, msg):
    q, k, v = qkv((2, 4, 8), 6)
    with pytest.raises(err, match="^scaled_dot_product_attention: " + msg):
        sdpa(q, k, v, mask)


@pytest.mark.parametrize("which", ["query", "key", "value"])
@pytest.mark.parametrize("bad", [complex, object, str])
def test_bad_operand_dtypes(which, bad):
    args = dict(zip(["query", "key", "value"], qkv((4, 8), 6)))
    args[which] = args[which].astype(bad)
    with pytest.raises(TypeError, match=f"^scaled_dot_product_attention: {which} has dtype"):
        sdpa(**args)


def test_bad_operand_for_bare_gufunc_is_type_error():
    q, k, v = qkv((4, 8), 6)
    with pytest.raises(TypeError, match=r"^attention: first operand has dtype complex128"):
        cattn.attention(q.astype(complex), k, v, 1.0)


@pytest.mark.parametrize("which", ["query", "key", "value"])
def test_operand_rank_too_low(which):
    args = dict(zip(["query", "key", "value"], qkv((4, 8), 6)))
    args[which] = args[which][0]
    with pytest.raises(ValueError, match=f"^scaled_dot_product_attention: {which} must have at "
                                         f"least 2 dimensions"):
        sdpa(**args)


def test_zero_embedding_needs_explicit_scale():
    q, k, v = qkv((3, 0), 5, 4)
    with pytest.raises(ValueError, match=r"^scaled_dot_product_attention: the embedding size E "
                                         r"is 0"):
        sdpa(q, k, v)


def test_causal_with_mask_applies_both():
    """JAX's rule (PyTorch refuses the pair): query i attends key j when the mask allows it and
    j <= i."""
    q, k, v = qkv((3, 8), 5)
    m = np.ones((3, 5), bool)
    m[:, 0] = False
    np.testing.assert_allclose(sdpa(q, k, v, m, is_causal=True),
                               sdpa(q, k, v, m & np.tri(3, 5, dtype=bool)), atol=1e-12)


@pytest.mark.parametrize("scale", ["a", 1j, [1.0, 2.0], True])
def test_bad_scale(scale):
    q, k, v = qkv((3, 8), 5)
    with pytest.raises(TypeError, match=r"^scaled_dot_product_attention: scale must be a real"):
        sdpa(q, k, v, scale=scale)


# ---- the direct path (C, no ufunc machinery) for the common call ----------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape_q,S", [((4, 16), 4), ((2, 3, 70, 16), 90), ((0, 5, 8), 3),
                                       ((3, 0, 8), 4), ((2, 5, 8), 0)])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("scale", [None, 0.3, 2])
@pytest.mark.parametrize("weights", [False, True])
def test_direct_path_matches_the_reference(dtype, shape_q, S, causal, scale, weights):
    """The direct path (C, no ufunc machinery) takes these calls and gets them right: output and
    weights against the float64 reference, in the input's dtype and shape."""
    q, k, v = qkv(shape_q, S, 6, dtype)
    got = _cattn.sdpa_direct(q, k, v, scale, causal, weights)
    assert got is not NotImplemented
    out, w = got if weights else (got, None)
    want_out, want_w = ref.sdpa(q, k, v, is_causal=causal, scale=scale)
    if S == 0:  # nothing to attend: zeros, never NaN
        want_out, want_w = np.zeros_like(want_out), np.zeros_like(want_w)
    rtol, atol = tol(dtype)
    assert out.dtype == dtype and out.shape == want_out.shape
    np.testing.assert_allclose(out, want_out, rtol=rtol, atol=atol)
    if weights:
        assert w.dtype == dtype and w.shape == want_w.shape
        np.testing.assert_allclose(w, want_w, rtol=rtol, atol=atol)


def test_direct_path_declines_what_it_does_not_handle():
    q, k, v = qkv((4, 8), 5)
    declined = [
        (q.astype(np.float16), k, v), (q, k.astype(np.float32), v), (q.T.copy().T, k, v),
        (q[None], k, v), (q[:, :0], k[:, :0], v), (q.tolist(), k, v), (q, k[:, :7], v),
        (q, k, v[:4]), (q.astype(">f8"), k, v),
    ]
    for a in declined:
        assert _cattn.sdpa_direct(*a, None, False, False) is NotImplemented
    assert _cattn.sdpa_direct(q, k, v, "x", False, False) is NotImplemented
    assert _cattn.sdpa_direct(q, k, v, np.float64(0.5), False, False) is NotImplemented
