"""Property-based agreement with the float64 references (Hypothesis).

Shapes come from the gufuncs' own signatures (mutually_broadcastable_shapes, min_side=0), so
broadcasting, empty dimensions and 1-D promotion are all drawn. The default `pytest` run uses the
"default" profile (a few dozen cases per operation); CI's dedicated run uses
`--hypothesis-profile=thorough` (1,000 cases per operation). Tolerances: float64 rtol 1e-10,
float32 rtol 5e-6 / atol 1e-5 (elements are drawn in [-1, 1])."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import cattn
import reference as ref


DTYPES = st.sampled_from([np.float32, np.float64])


def tol(dtype):
    return dict(rtol=5e-6, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def arrays(draw, dtype, shape):
    return draw(hnp.arrays(dtype, shape, elements=st.floats(-1, 1, width=32)))


@given(data=st.data(), dtype=DTYPES)
def test_matmul(data, dtype):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(
        signature="(n?,k),(k,m?)->(n?,m?)", min_side=0, max_side=7, max_dims=4))
    a, b = (arrays(data.draw, dtype, s) for s in shapes.input_shapes)
    got = cattn.matmul(a, b)
    want = ref.matmul(a, b)
    assert np.shape(got) == want.shape
    np.testing.assert_allclose(got, want, **tol(dtype))


@given(data=st.data(), dtype=DTYPES, log=st.booleans())
def test_softmax_and_log_softmax(data, dtype, log):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=40))
    x = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-30, 30, width=32)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    f, r = (cattn.log_softmax, ref.log_softmax) if log else (cattn.softmax, ref.softmax)
    got = f(x, axis=axis)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, r(x, axis=axis), **tol(dtype))


@given(data=st.data(), dtype=DTYPES, masking=st.sampled_from(["none", "bool", "float", "causal"]),
       weights=st.booleans())
def test_scaled_dot_product_attention(data, dtype, masking, weights):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(
        signature="(l,e),(s,e),(s,ev)->(l,ev)", min_side=0, max_side=9, max_dims=3))
    q, k, v = (arrays(data.draw, dtype, s) for s in shapes.input_shapes)
    E = q.shape[-1]
    scale = data.draw(st.one_of(st.none(), st.floats(0.05, 3.0))) if E else \
        data.draw(st.floats(0.05, 3.0))
    L, S = q.shape[-2], k.shape[-2]
    mask = None
    if masking == "bool":
        mask = data.draw(hnp.arrays(bool, (L, S)))
    elif masking == "float":
        mask = arrays(data.draw, dtype, (L, S))
    res = cattn.scaled_dot_product_attention(q, k, v, mask, is_causal=masking == "causal",
                                             scale=scale, return_weights=weights)
    want, w_want = ref.sdpa(q, k, v, mask, is_causal=masking == "causal", scale=scale)
    got = res[0] if weights else res
    np.testing.assert_allclose(got, want, **tol(dtype))
    if weights:
        np.testing.assert_allclose(res[1], np.broadcast_to(w_want, res[1].shape), **tol(dtype))


@given(data=st.data(), dtype=DTYPES, masking=st.sampled_from(["none", "bool", "causal", "lengths"]))
def test_multi_head_attention(data, dtype, masking):
    H = data.draw(st.integers(1, 3))
    d, dv = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    Eq, Ek, Ev, Eo = (data.draw(st.integers(1, 6)) for _ in range(4))
    B = data.draw(st.integers(0, 2))
    L, S = data.draw(st.integers(0, 6)), data.draw(st.integers(0, 6))
    xq, xk, xv = (arrays(data.draw, dtype, s) for s in ((B, L, Eq), (B, S, Ek), (B, S, Ev)))
    W = [arrays(data.draw, dtype, s) for s in
         ((H, Eq, d), (H, Ek, d), (H, Ev, dv), (H, dv, Eo), (H, d), (H, d), (H, dv), (Eo,))]
    kw, mask = {}, None
    if masking == "bool":
        mask = data.draw(hnp.arrays(bool, (L, S)))
        kw["attn_mask"] = mask
    elif masking == "causal":
        kw["is_causal"] = True
        mask = np.tri(L, S, dtype=bool)
    elif masking == "lengths":
        kl = np.array(data.draw(st.lists(st.integers(0, S), min_size=B, max_size=B)), dtype=np.int64)
        kw["key_lengths"] = kl
        mask = np.arange(S) < kl[:, None, None, None]
    got = cattn.multi_head_attention(xq, xk, xv, *W, **kw)
    want, _ = ref.mha(xq, xk, xv, *W, mask=None if mask is None else
                      (mask if mask.ndim == 4 else mask[None]), scale=1 / np.sqrt(d))
    np.testing.assert_allclose(got, want, **tol(dtype))

