"""Property-based checks of the gradients (Hypothesis): cattn.vjp against central finite
differences (cattn.gradcheck, float64) for random shapes, broadcasting, masks and dtypes, and the
float32 pullback against the float64 one. The default `pytest` run draws a few dozen cases per
operation; CI's thorough run (--hypothesis-profile=thorough) draws 1,000 per operation, once, on
the best level (the kernels' levels are compared with each other in test_gradients.py)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import cattn

CASES = settings(max_examples=min(settings.default.max_examples, 1000))


def arrays(draw, dtype, shape):
    return draw(hnp.arrays(dtype, shape, elements=st.floats(-1, 1, width=32)))


def check_grads(fn, args, kw):
    """gradcheck in float64 on a few elements per argument; the float32 pullback agrees with the
    float64 one to 1e-4 of the largest gradient."""
    assert cattn.gradcheck(fn, *args, max_elements=3, **kw)
    f64 = [a if a is None or np.asarray(a).dtype == bool else np.asarray(a, np.float64)
           for a in args]
    f32 = [a if a is None or np.asarray(a).dtype == bool else np.asarray(a, np.float32)
           for a in args]
    out, pb64 = cattn.vjp(fn, *f64, **kw)
    _, pb32 = cattn.vjp(fn, *f32, **kw)
    g = np.random.default_rng(0).standard_normal(np.shape(out))
    for a, b in zip(pb64(g), pb32(g.astype(np.float32))):
        if a is None:
            assert b is None
            continue
        assert b.dtype == np.float32 and a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4 * max(np.abs(a).max(initial=0), 1))


@pytest.mark.parametrize("log", [False, True])
@CASES
@given(data=st.data())
def test_softmax_gradients(data, log):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    x = arrays(data.draw, np.float64, shape) * 4
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    check_grads(cattn.log_softmax if log else cattn.softmax, [x], {"axis": axis})


@CASES
@given(data=st.data())
def test_matmul_gradients(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(
        signature="(n?,k),(k,m?)->(n?,m?)", min_side=1, max_side=5, max_dims=3))
    a, b = (arrays(data.draw, np.float64, s) for s in shapes.input_shapes)
    check_grads(cattn.matmul, [a, b], {})


@CASES
@given(data=st.data(), masking=st.sampled_from(["none", "bool", "float", "causal"]))
def test_scaled_dot_product_attention_gradients(data, masking):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(
        signature="(l,e),(s,e),(s,ev)->(l,ev)", min_side=1, max_side=6, max_dims=3))
    q, k, v = (arrays(data.draw, np.float64, s) for s in shapes.input_shapes)
    L, S = q.shape[-2], k.shape[-2]
    args, kw = [q, k, v], {"scale": data.draw(st.floats(0.1, 2.0))}
    if masking == "bool":
        args.append(data.draw(hnp.arrays(bool, (L, S))))
    elif masking == "float":
        args.append(arrays(data.draw, np.float64, data.draw(st.sampled_from([(L, S), (1, S), (L, 1)]))))
    elif masking == "causal":
        kw["is_causal"] = True
    check_grads(cattn.scaled_dot_product_attention, args, kw)


@CASES
@given(data=st.data(), masking=st.sampled_from(["none", "bool", "causal", "lengths", "float"]),
       bias=st.booleans())
def test_multi_head_attention_gradients(data, masking, bias):
    H = data.draw(st.integers(1, 3))
    d, dv = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    Eq, Ek, Ev, Eo = (data.draw(st.integers(1, 4)) for _ in range(4))
    B = data.draw(st.integers(1, 2))
    L, S = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    shapes = [(B, L, Eq), (B, S, Ek), (S, Ev), (H, Eq, d), (H, Ek, d), (H, Ev, dv), (H, dv, Eo)]
    if bias:
        shapes += [(H, d), (H, d), (H, dv), (Eo,)]
    args = [arrays(data.draw, np.float64, s) for s in shapes]
    kw = {}
    if masking == "bool":
        kw["attn_mask"] = data.draw(hnp.arrays(bool, (L, S)))
    elif masking == "float":
        kw["attn_mask"] = arrays(data.draw, np.float64, (H, L, S))[None]
    elif masking == "causal":
        kw["is_causal"] = True
    elif masking == "lengths":
        kw["key_lengths"] = np.array(data.draw(st.lists(st.integers(0, S), min_size=B,
                                                        max_size=B)), dtype=np.int64)
    check_grads(cattn.multi_head_attention, args, kw)
