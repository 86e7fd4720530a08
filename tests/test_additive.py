"""Additive (Bahdanau) attention: the scores kernels and their backward against their reference
twins and float64 NumPy formulas on every level; cattn.additive_attention against NumPy and
against d2l's formula in PyTorch (golden data from scripts/make_golden_lessons.py), gradcheck;
AdditiveAttention's parameters, vjp, grads and steps; bad input."""
import os

import numpy as np
import pytest

import cattn
import reference as ref
from cattn import _cattn

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "data", "lessons_golden.npz"))
TOL = {np.float32: 2e-5, np.float64: 1e-12}


def rel(got, want):
    want = np.asarray(want, np.float64)
    return np.abs(np.asarray(got, np.float64) - want).max() / max(np.abs(want).max(), 1e-30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 5, 7), (4, 300, 33), (9, 2, 70)])
def test_scores_and_backward_against_the_formula(level, dtype, shape):
    L, S, h = shape
    rng = np.random.default_rng(L * S + h)
    qp = (rng.standard_normal((2, L, h)) * 2).astype(dtype)
    kp = (rng.standard_normal((2, S, h)) * 2).astype(dtype)
    w = rng.standard_normal(h).astype(dtype)
    ds = rng.standard_normal((2, L, S)).astype(dtype)
    ds[:, :, ::3] = 0  # masked keys are skipped
    want = ref.additive_scores(qp, kp, w)
    wants = ref.additive_scores_backward(qp, kp, w, ds)
    for f, b in ((_cattn.additive_attention_scores, _cattn.additive_attention_scores_backward),
                 (_cattn.additive_attention_scores_ref,
                  _cattn.additive_attention_scores_backward_ref)):
        s = f(qp, kp, w)
        assert s.dtype == dtype and s.shape == (2, L, S)
        assert rel(s, want) < TOL[dtype]
        for got, expect in zip(b(qp, kp, w, ds), wants):
            assert got.dtype == dtype
            assert rel(got, expect) < 10 * TOL[dtype]


def test_scores_strided_broadcast_out_and_special_values(level):
    rng = np.random.default_rng(0)
    qp = rng.standard_normal((6, 9)).T.astype(np.float32)[:, ::2]       # (9, 3) non-contiguous
    kp = rng.standard_normal((2, 4, 3)).astype(np.float32)               # batch broadcast
    w = np.float32([1, -2, 0.5])
    out = np.full((2, 9, 4, 2), np.nan, np.float32)[..., 0]              # strided out=
    r = cattn.additive_attention_scores(qp, kp, w, out=out)
    assert r is out and rel(out, ref.additive_scores(qp, kp, w)) < 1e-5
    # tanh saturates, NaN propagates, zero-size dims are fine
    big = cattn.additive_attention_scores(np.float32([[1e30, -1e30, 0]]), np.zeros((1, 3), np.float32), w)
    assert big[0, 0] == pytest.approx(1 + 2)
    assert np.isnan(cattn.additive_attention_scores(np.float32([[np.nan, 0, 0]]),
                                                    np.zeros((2, 3), np.float32), w)).all()
    assert cattn.additive_attention_scores(np.zeros((0, 3)), np.zeros((4, 3)), np.ones(3)).shape == (0, 4)


def test_tanh_is_within_three_ulp():
    x = np.linspace(-12, 12, 200001).astype(np.float32)
    s = cattn.additive_attention_scores(x[:, None], np.zeros((1, 1), np.float32),
                                        np.ones(1, np.float32))[:, 0]
    t = np.tanh(x.astype(np.float64))
    ulp = np.abs(s - t) / np.spacing(np.abs(t).astype(np.float32))
    assert ulp.max() <= 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_additive_attention_against_numpy(dtype):
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in ((3, 4, 5), (3, 6, 7), (3, 6, 2)))
    Wq, Wk, wv = (rng.standard_normal(s).astype(dtype) for s in ((8, 5), (8, 7), (1, 8)))
    for mask in (None, rng.random((4, 6)) < 0.6, rng.standard_normal((3, 4, 6)).astype(dtype)):
        out, w = cattn.additive_attention(q, k, v, Wq, Wk, wv, mask, return_weights=True)
        want, pw = ref.additive(q, k, v, Wq, Wk, wv, mask)
        assert out.dtype == dtype
        assert rel(out, want) < 10 * TOL[dtype] and rel(w, pw) < 10 * TOL[dtype]
    # key_lengths, is_causal and a row with no key: zeros, not NaN
    lens = np.array([0, 3, 6])
    out = cattn.additive_attention(q, k, v, Wq, Wk, wv, key_lengths=lens)
    want, _ = ref.additive(q, k, v, Wq, Wk, wv, np.arange(6) < lens[:, None, None])
    assert rel(out, want) < 10 * TOL[dtype] and not np.isnan(out).any() and (out[0] == 0).all()
    out = cattn.additive_attention(q, k, v, Wq, Wk, wv, is_causal=True)
    assert rel(out, ref.additive(q, k, v, Wq, Wk, wv, np.tri(4, 6, dtype=bool))[0]) < 10 * TOL[dtype]


def test_additive_attention_matches_d2l_in_pytorch():
    """Forward and every gradient against d2l's AdditiveAttention re-implemented in PyTorch."""
    names = ("query", "key", "value", "W_q", "W_k", "w_v")
    args = [GOLDEN["add_" + n] for n in names]
    (out, w), pullback = cattn.vjp(cattn.additive_attention, *args, return_weights=True,
                                   key_lengths=GOLDEN["add_key_lengths"])
    assert rel(out, GOLDEN["add_out"]) < 1e-12 and rel(w, GOLDEN["add_weights"]) < 1e-12
    grads = pullback((GOLDEN["add_grad_out"], None))
    for n, g in zip(names, grads):
        assert rel(g, GOLDEN["add_d_" + n]) < 1e-10, n


def test_additive_attention_live_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    attn = cattn.AdditiveAttention(4, 4, 6, seed=0)
    Wq, Wk, wv = (torch.tensor(attn.state_dict()[n]) for n in ("W_q.weight", "W_k.weight", "w_v.weight"))
    tq, tk = torch.tensor(q), torch.tensor(k)
    s = (torch.tanh((tq @ Wq.T)[:, :, None] + (tk @ Wk.T)[:, None]) @ wv.T)[..., 0]
    want = (torch.softmax(s, -1) @ torch.tensor(v)).numpy()
    assert rel(attn(q, k, v), want) < 1e-5


@pytest.mark.parametrize("case", ["plain", "float mask", "bool mask + weights", "lengths",
                                  "broadcast query"])
def test_gradcheck(case):
    rng = np.random.default_rng(3)
    B, L, S = 2, 3, 4
    q, k, v = (rng.standard_normal(s) for s in ((B, L, 5), (B, S, 6), (B, S, 3)))
    Wq, Wk, wv = (rng.standard_normal(s) for s in ((7, 5), (7, 6), (1, 7)))
    kw, extra = {}, ()
    if case == "float mask":
        extra = (rng.standard_normal((L, S)),)
    elif case == "bool mask + weights":
        extra, kw = (rng.random((B, L, S)) < 0.7,), {"return_weights": True}
    elif case == "lengths":
        kw = {"key_lengths": np.array([2, 4])}
    elif case == "broadcast query":
        q = q[0]
    assert cattn.gradcheck(cattn.additive_attention, q, k, v, Wq, Wk, wv, *extra, **kw)


def test_module_parameters_vjp_grads_and_steps():
    attn = cattn.AdditiveAttention(5, 6, 8, seed=0)
    sd = attn.state_dict()
    assert {n: a.shape for n, a in sd.items()} == {"W_q.weight": (8, 5), "W_k.weight": (8, 6),
                                                   "w_v.weight": (1, 8)}
    assert np.abs(sd["W_q.weight"]).max() <= 1 / np.sqrt(5)  # nn.Linear's U(-1/sqrt(in), ..)
    assert attn.num_parameters == 8 * 5 + 8 * 6 + 8
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 4, 6))
    v = rng.standard_normal((2, 4, 2))
    y, pb = attn.vjp(q, k, v, key_lengths=np.array([4, 2]))
    assert y.dtype == np.float32
    g = rng.standard_normal(y.shape)
    dq, dk, dv = pb(g)
    _, fpb = cattn.vjp(cattn.additive_attention, q.astype(np.float32), k.astype(np.float32),
                       v.astype(np.float32), *sd.values(), key_lengths=np.array([4, 2]))
    want = fpb(g.astype(np.float32))
    for got, expect in zip((dq, dk, dv, *attn.grads.values()), want):
        assert rel(got, expect) < 1e-6
    pb(g)  # adds again
    assert rel(attn.grads["w_v.weight"], 2 * want[5]) < 1e-6
    attn.zero_grad()
    assert not any(a.any() for a in attn.grads.values())
    s = attn.steps(q, k, v)
    assert s.features.shape == (2, 3, 4, 8) and s.scores.shape == (2, 3, 4)
    assert rel(s.output, attn(q, k, v)) < 1e-6
    assert rel(s.scores, s.features @ sd["w_v.weight"][0]) < 1e-6
    out, w = attn(q, k, v, need_weights=True)  # PyTorch's pair
    assert w.shape == (2, 3, 4)
    assert attn(q, k, v, need_weights=False)[1] is None
    # self-attention: d_query holds the whole gradient
    a2 = cattn.AdditiveAttention(5, 5, 4, dtype=np.float64, seed=1)
    y, pb = a2.vjp(q)
    d = pb(np.ones_like(y))
    assert d[1] is None and d[2] is None and d[0].shape == q.shape
    loaded = cattn.AdditiveAttention(5, 6, 8)
    loaded.load_state_dict(sd)
    assert rel(loaded(q, k, v), attn(q, k, v)) == 0


@pytest.mark.parametrize("call, match", [
    (lambda a: cattn.additive_attention(*a[:3], a[3][:, :4], *a[4:]), "query has 5 features"),
    (lambda a: cattn.additive_attention(*a[:4], a[4][:3], a[5]), "W_k"),
    (lambda a: cattn.additive_attention(*a[:5], np.ones((2, 7))), "w_v"),
    (lambda a: cattn.additive_attention(a[0], a[1], a[2][:, :3], *a[3:]), "value has 3"),
    (lambda a: cattn.additive_attention(*a, np.ones((3, 9), bool)), "attn_mask"),
    (lambda a: cattn.additive_attention(*a, key_lengths=np.array([5, 9])), "key_lengths"),
    (lambda a: cattn.AdditiveAttention(5, 6, 0), "hidden_dim"),
])
def test_bad_input(call, match):
    rng = np.random.default_rng(0)
    a = [rng.standard_normal(s) for s in ((2, 3, 5), (2, 4, 6), (2, 4, 2), (7, 5), (7, 6), (1, 7))]
    with pytest.raises(ValueError, match=match):
        call(a)
    with pytest.raises(TypeError, match="dtype"):
        cattn.additive_attention(a[0].astype(complex), *a[1:])
