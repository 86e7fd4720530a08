"""One multi-head layer, every combination (issue 23): steps(), head_weights(), the forward, vjp
and the KV cache agree on every combination of num_kv_heads, masks, key_lengths and dropout.

The two multi-head routes (fused: one C call; composed: projections, SDPA, projection) once
drifted apart -- GQA's steps() and head_weights() raised. Here each combination is checked
against the float64 reference layer (tests/reference.py, written from the state_dict alone),
so a per-head view, a route or a gradient scatter that disagrees with the others fails."""
import copy
import itertools

import numpy as np
import pytest

import cattn
import reference as ref

E, H, L = 8, 4, 5
R = np.random.default_rng(11)
X = R.standard_normal((2, L, E))
MASKS = {
    "none": None,
    "bool": R.random((L, L)) < 0.8,
    "float": np.where(R.random((L, L)) < 0.2, -np.inf, R.standard_normal((L, L))),
    "causal": "causal",
    "window": cattn.sliding_window(L, L, 1, 1),
}
COMBOS = list(itertools.product([4, 2, 1], sorted(MASKS), [False, True], [0.0, 0.3]))


def _layer(kv_heads, dropout):
    m = cattn.MultiHeadAttention(E, H, num_kv_heads=kv_heads, dropout=dropout, seed=3,
                                 dtype=np.float64)
    for p in m._params.values():  # non-zero biases, so every bias path is exercised
        p += 0.1 * R.standard_normal(p.shape)
    return m


def _kwargs(mask, lengths):
    kw = {}
    if MASKS[mask] is not None:
        kw = {"is_causal": True} if mask == "causal" else {"attn_mask": MASKS[mask]}
    if lengths:
        kw["key_lengths"] = np.array([L, 3])
    return kw


def oracle(m, x, mask, lengths):
    """The float64 reference layer (tests/reference.py) with this combination's mask."""
    allowed, add = np.ones((2, 1, L, L), bool), None
    if mask == "causal":
        allowed = allowed & np.tri(L, L, dtype=bool)
    elif mask == "window":
        allowed = allowed & np.asarray(MASKS[mask])
    elif mask == "bool":
        allowed = allowed & MASKS[mask]
    elif mask == "float":
        add = MASKS[mask]
    if lengths:
        allowed = allowed & (np.arange(L) < np.array([L, 3])[:, None, None, None])
    return ref.mha_layer(m, x, allowed, add)


@pytest.mark.parametrize("kv_heads,mask,lengths,dropout", COMBOS)
def test_every_view_of_the_layer_agrees(kv_heads, mask, lengths, dropout):
    m = _layer(kv_heads, dropout)
    kw = _kwargs(mask, lengths)
    want, w_want = oracle(m, X, mask, lengths)
    # the forward (inference: no dropout) and its weights, per head
    out, w = m(X, return_weights=True, average_attn_weights=False, **kw)
    np.testing.assert_allclose(out, want, atol=1e-12)
    np.testing.assert_allclose(w, w_want, atol=1e-12)
    # steps() walks the same computation from the same per-head view
    st = m.steps(X, **kw)
    np.testing.assert_allclose(st.output, want, atol=1e-12)
    np.testing.assert_allclose(st.weights, w_want, atol=1e-12)
    # vjp: the pullback's gradients against a directional derivative of the forward
    rng_state = copy.deepcopy(m._dropout_rng)
    training = dropout > 0
    y, pb = m.vjp(X, training=training, **kw)
    g = R.standard_normal(y.shape)
    m.zero_grad()
    (dx, _, _) = pb(g)
    grads = {n: a.copy() for n, a in m.grads.items()}

    def f(x, params):
        saved = {n: a.copy() for n, a in m._params.items()}
        for n, a in params.items():
            m._params[n][...] = a
        m._dropout_rng = copy.deepcopy(rng_state)  # the same dropout draw as the vjp's
        try:
            return float((m(x, training=training, **kw) * g).sum())
        finally:
            for n, a in saved.items():
                m._params[n][...] = a

    base = {n: a.copy() for n, a in m._params.items()}
    dirs = {n: R.standard_normal(a.shape) for n, a in base.items()}
    dxdir = R.standard_normal(X.shape)
    eps = 1e-6
    plus = {n: base[n] + eps * dirs[n] for n in base}
    minus = {n: base[n] - eps * dirs[n] for n in base}
    numeric = (f(X + eps * dxdir, plus) - f(X - eps * dxdir, minus)) / (2 * eps)
    analytic = float((dx * dxdir).sum()) + sum(float((grads[n] * dirs[n]).sum()) for n in base)
    assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(numeric)), (numeric, analytic)


@pytest.mark.parametrize("kv_heads", [4, 2, 1])
def test_the_cache_equals_one_causal_call(kv_heads):
    m = _layer(kv_heads, 0.0)
    want = m(X, is_causal=True)
    cache = m.new_cache((2,), L)
    got = np.concatenate([m(X[:, :2], cache=cache)] + [m(X[:, t:t + 1], cache=cache)
                                                       for t in range(2, L)], axis=1)
    np.testing.assert_allclose(got, want, atol=1e-12)
    np.testing.assert_allclose(want, oracle(m, X, "causal", False)[0], atol=1e-12)
