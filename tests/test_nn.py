"""cattn.nn: each layer, the loss and the optimisers against PyTorch 2.13 (golden data from
scripts/make_golden_lessons.py), gradcheck through the layers' vjp, the modules' contract, bad
input; and the date lesson's model (cattn.lessons.dates) learning a little in a few steps."""
import os

import numpy as np
import pytest

import cattn
from cattn import nn

G = np.load(os.path.join(os.path.dirname(__file__), "data", "lessons_golden.npz"))


def rel(got, want):
    want = np.asarray(want, np.float64)
    return np.abs(np.asarray(got, np.float64) - want).max() / max(np.abs(want).max(), 1e-30)


@pytest.mark.parametrize("name, make, tol", [
    ("lin", lambda: nn.Linear(5, 3, dtype=np.float64), 1e-14),
    ("ln", lambda: nn.LayerNorm(5, dtype=np.float64), 1e-12)], ids=["Linear", "LayerNorm"])
def test_layer_matches_pytorch(name, make, tol):
    layer = make()
    layer.load_state_dict({"weight": G[f"{name}_weight"], "bias": G[f"{name}_bias"]})
    y, pb = layer.vjp(G[f"{name}_x"])
    assert rel(y, G[f"{name}_y"]) < tol
    assert rel(pb(G[f"{name}_gy"]), G[f"{name}_dx"]) < tol
    assert rel(layer.grads["weight"], G[f"{name}_dweight"]) < tol
    assert rel(layer.grads["bias"], G[f"{name}_dbias"]) < tol


def test_embedding_matches_pytorch():
    emb = nn.Embedding(7, 3, padding_idx=0, dtype=np.float64, seed=0)
    assert not emb.weight[0].any()
    emb.load_state_dict({"weight": G["emb_weight"]})
    y, pb = emb.vjp(G["emb_idx"])
    assert (y == G["emb_weight"][G["emb_idx"]]).all()
    assert pb(G["emb_gy"]) is None
    assert rel(emb.grads["weight"], G["emb_dweight"]) < 1e-14


def test_cross_entropy_matches_pytorch():
    loss, pb = cattn.vjp(nn.cross_entropy, G["ce_logits"], G["ce_targets"])
    assert loss == pytest.approx(float(G["ce_loss"]), rel=1e-14)
    dz, dt = pb(1.0)
    assert dt is None and rel(dz, G["ce_dlogits"]) < 1e-13
    assert cattn.gradcheck(nn.cross_entropy, G["ce_logits"], G["ce_targets"])
    assert np.isnan(nn.cross_entropy(np.zeros((2, 3)), np.array([-100, -100])))
    assert nn.cross_entropy(np.zeros((2, 3), np.float32), np.array([0, 1])).dtype == np.float32


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_optimisers_match_pytorch(name):
    lin = nn.Linear(5, 3, dtype=np.float64)
    lin.load_state_dict({"weight": G[f"{name}_weight0"], "bias": G[f"{name}_bias0"]})
    opt = nn.SGD([lin], lr=0.1, momentum=0.9) if name == "sgd" else \
        nn.Adam([lin], lr=0.01, weight_decay=0.1)
    for x in G["opt_x"]:
        opt.zero_grad()
        y, pb = lin.vjp(x)
        pb(2 * y)  # d/dy of sum(y^2)
        opt.step()
    assert rel(lin.weight, G[f"{name}_weight5"]) < 1e-12
    assert rel(lin.bias, G[f"{name}_bias5"]) < 1e-12
    assert lin.grads["weight"].any()  # step() leaves the gradients; zero_grad() clears them
    opt.zero_grad()
    assert not lin.grads["weight"].any()


def _gradcheck_layer(layer, x):
    """The layer's vjp (input and parameter gradients) against central differences."""
    rng = np.random.default_rng(0)
    y, pb = layer.vjp(x)
    u = rng.standard_normal(y.shape)
    layer.zero_grad()
    dx = pb(u)
    eps = 1e-6

    def phi():
        return float((u * layer(x)).sum())
    for arr, grad in [(x, dx)] + [(layer._params[n], layer.grads[n]) for n in layer._params]:
        for j in rng.choice(arr.size, min(arr.size, 12), replace=False):
            pos = np.unravel_index(j, arr.shape)
            old = arr[pos]
            arr[pos] = old + eps
            up = phi()
            arr[pos] = old - eps
            down = phi()
            arr[pos] = old
            assert grad[pos] == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("make", [lambda: nn.Linear(4, 3, dtype=np.float64, seed=0),
                                  lambda: nn.LayerNorm((2, 4), dtype=np.float64),
                                  lambda: nn.PositionalEncoding(4, 10, dtype=np.float64)],
                         ids=["Linear", "LayerNorm", "PositionalEncoding"])
def test_layers_gradcheck(make):
    layer = make()
    if "weight" in layer._params:  # off the identity, so the affine gradients are exercised
        layer._params["weight"][...] = np.random.default_rng(1).standard_normal(
            layer._params["weight"].shape)
    x = np.random.default_rng(2).standard_normal((3, 2, 4))
    _gradcheck_layer(layer, x)


def test_positional_encoding_is_the_papers_table():
    pe = nn.PositionalEncoding(6, max_len=20, dtype=np.float64)
    p, i = np.arange(20)[:, None], np.arange(3)[None, :]
    assert np.allclose(pe.table[:, 0::2], np.sin(p / 10000 ** (2 * i / 6)))
    assert np.allclose(pe.table[:, 1::2], np.cos(p / 10000 ** (2 * i / 6)))
    x = np.ones((2, 5, 6))
    assert np.array_equal(pe(x), x + pe.table[:5])
    assert pe.state_dict() == {} and pe.num_parameters == 0
    odd = nn.PositionalEncoding(5, max_len=3)
    assert odd.table.shape == (3, 5)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: nn.Linear(3, 2)(np.ones((2, 4))), ValueError, "last dimensions must be"),
    (lambda: nn.Linear(0, 2), ValueError, "in_features"),
    (lambda: nn.Embedding(5, 2)(np.array([5])), ValueError, r"\[0, 5\)"),
    (lambda: nn.Embedding(5, 2)(np.array([0.5])), TypeError, "integers"),
    (lambda: nn.LayerNorm(4)(np.ones((2, 3))), ValueError, "last dimensions"),
    (lambda: nn.PositionalEncoding(4, max_len=3)(np.ones((5, 4))), ValueError, "max_len"),
    (lambda: nn.cross_entropy(np.ones((2, 3)), np.array([0, 3])), ValueError, r"\[0, 3\)"),
    (lambda: nn.cross_entropy(np.ones((2, 3)), np.array([0])), ValueError, "shape"),
    (lambda: nn.cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0])), TypeError, "integers"),
    (lambda: nn.Adam([nn.Linear(2, 2)], betas=(1.0, 0.9)), ValueError, "betas"),
    (lambda: nn.SGD([object()], lr=0.1), TypeError, "cattn modules"),
])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_date_model_learns():
    """The date lesson's model: data from datetime, and a few Adam steps lower the loss."""
    from cattn.lessons import dates
    pairs = dates.make_dates(300, seed=0)
    assert all(len(iso) == 10 and iso[4] == iso[7] == "-" for _, iso in pairs)
    assert len({h for h, _ in pairs}) > 250
    held = dates.make_dates(50, seed=1, exclude={h for h, _ in pairs})
    assert not {h for h, _ in held} & {h for h, _ in pairs}
    for attention in ("additive", "dot"):
        m = dates.DateTranslator(attention, d=16, heads=2, seed=0)
        losses = dates.train(m, pairs, steps=30, batch=32, lr=1e-2, progress=False)
        assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
        out, w = m.translate(["9 may 2018"])
        assert len(out[0]) == 10 and w.shape == (1, 10, dates.IN_LEN)
        assert np.allclose(w.sum(-1), 1, atol=1e-5) and not w[0, :, 10:].any()  # padding ignored


def test_cross_entropy_with_every_target_ignored_has_a_nan_loss_and_a_zero_gradient():
    """PyTorch's convention (issue 24): the loss is a mean over nothing, NaN; no term depends on
    the logits, so the gradient is zero -- and an Adam step on it changes no parameter (a NaN
    gradient turned every parameter into NaN)."""
    lin = nn.Linear(4, 3, seed=0)
    before = {k: v.copy() for k, v in lin.state_dict().items()}
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
    logits, pb = lin.vjp(x)
    targets = np.full((2, 5), -100)
    loss, dloss = cattn.vjp(nn.cross_entropy, logits, targets)
    assert np.isnan(loss)
    (g, _) = dloss(1.0)
    assert g.shape == logits.shape and g.dtype == logits.dtype and not g.any()
    pb(g)
    opt = nn.Adam([lin], lr=0.1)
    opt.step()
    for k, v in lin.state_dict().items():
        assert np.array_equal(v, before[k]), k


@pytest.mark.parametrize("make", [
    lambda: (nn.Linear(4, 3, seed=0), np.ones((2, 5, 4), np.float32)),
    lambda: (nn.LayerNorm(4), np.arange(40, dtype=np.float32).reshape(2, 5, 4)),
    lambda: (nn.Embedding(7, 4, seed=0), np.array([[1, 2, 3, 4, 5], [0, 1, 2, 3, 4]])),
    lambda: (nn.PositionalEncoding(4, 8), np.ones((2, 5, 4), np.float32)),
], ids=["Linear", "LayerNorm", "Embedding", "PositionalEncoding"])
def test_layer_pullbacks_check_their_cotangent_before_changing_grads(make):
    """Issue 24: nn.Linear(4, 3).vjp(x) with x (2,5,4) took a (5,2,3) cotangent and added rows
    that do not line up. Now the cotangent must have the output's shape and dtype exactly; a
    refused one names the layer and both, and leaves grads as they were."""
    layer, x = make()
    y, pb = layer.vjp(x)
    before = {k: v.copy() for k, v in layer.grads.items()}
    name = type(layer).__name__
    bad_shape = np.ones(y.shape[1::-1] + y.shape[2:], y.dtype)          # (5, 2, ...) for (2, 5, ...)
    with pytest.raises(ValueError, match=rf"{name}\.vjp pullback: the cotangent has shape "
                                         rf"\(5, 2, \d+\) but the output has shape \(2, 5, \d+\)"):
        pb(bad_shape)
    with pytest.raises(TypeError, match=rf"{name}\.vjp pullback: .*dtype float64 .* float32"):
        pb(np.ones(y.shape, np.float64))
    with pytest.raises(TypeError, match=rf"{name}\.vjp pullback: the cotangent is one array"):
        pb((np.ones(y.shape, y.dtype), None))
    for k, v in layer.grads.items():
        assert np.array_equal(v, before[k]), k
    pb(np.ones(y.shape, y.dtype))  # the right one is taken
