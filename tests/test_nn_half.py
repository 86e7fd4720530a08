"""The attention layers in half precision (issue 26): ``MultiHeadAttention`` and ``Attention``
with ``dtype=float16`` or ml_dtypes' bfloat16 keep their parameters, gradients and KV cache in
that dtype, and their calls, pullbacks and optimiser steps compute in float32 and round once
where the kernels do. Checked against a float64 layer holding the very same (rounded)
parameters and inputs."""
import numpy as np
import pytest

import cattn
from cattn import nn

ml_dtypes = pytest.importorskip("ml_dtypes")
HALVES = [np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)]
# relative to the largest reference value: a few units in the last place (the composed route
# rounds the heads and their concatenation, as PyTorch's, hence more than one rounding)
TOL = {"float16": 4e-3, "bfloat16": 3e-2}
# the bias gradients are sums over every row: summed in float32, rounded once (summed in the
# half dtype they were off by 4e-3 / 9e-2 in these shapes)
BIAS_TOL = {"float16": 2e-3, "bfloat16": 1.5e-2}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.abs(a - b).max() / np.abs(b).max()


def pair(dt, cls=cattn.MultiHeadAttention, *args, **kwargs):
    """(a layer in dt with random parameters, a float64 layer with the same parameters)."""
    half = cls(*args, dtype=dt, seed=0, **kwargs)
    rng = np.random.default_rng(1)
    half.load_state_dict({k: rng.standard_normal(v.shape) * 0.2
                          for k, v in half.state_dict().items()})
    ref = cls(*args, dtype=np.float64, seed=0, **kwargs)
    ref.load_state_dict({k: v.astype(np.float64) for k, v in half.state_dict().items()})
    return half, ref


# fused (the one C call) and composed routes (grouped-query heads, soft cap) alike
CALLS = [({"is_causal": True}, {}), ({"return_weights": True}, {}),
         ({"softcap": 5.0}, {}), ({}, {"num_kv_heads": 2})]


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("kw, ctor", CALLS, ids=["causal", "weights", "softcap", "gqa"])
def test_mha_call_and_pullback_in_half(dt, kw, ctor):
    half, ref = pair(dt, cattn.MultiHeadAttention, 64, 4, **ctor)
    assert all(p.dtype == dt for p in half.state_dict().values())
    x = np.random.default_rng(2).standard_normal((2, 300, 64)).astype(dt)
    yh, pbh = half.vjp(x, **kw)
    y64, pb64 = ref.vjp(x.astype(np.float64), **kw)
    oh, o64 = (yh[0], y64[0]) if isinstance(yh, tuple) else (yh, y64)
    assert oh.dtype == dt and rel(oh, o64) < TOL[dt.name]
    if isinstance(yh, tuple):
        assert yh[1].dtype == dt and rel(yh[1], y64[1]) < TOL[dt.name]
    g = np.random.default_rng(3).standard_normal(oh.shape).astype(dt)
    dxh, dx64 = pbh(g)[0], pb64(g.astype(np.float64))[0]
    assert dxh.dtype == dt and rel(dxh, dx64) < TOL[dt.name]
    for name, gr in half.grads.items():
        assert gr.dtype == dt
        tol = BIAS_TOL if name.endswith("bias") else TOL
        assert rel(gr, ref.grads[name]) < tol[dt.name], name
    np.testing.assert_array_equal(half(x, **kw)[0] if isinstance(yh, tuple) else half(x, **kw),
                                  oh)


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_attention_layers_take_half(dt):
    half, ref = pair(dt, cattn.Attention, 32)
    x = np.random.default_rng(4).standard_normal((3, 7, 32)).astype(dt)
    assert half.in_proj_weight.dtype == dt and half.dtype == dt
    assert rel(half(x), ref(x.astype(np.float64))) < TOL[dt.name]
    bare = cattn.Attention(dtype=dt)
    out = bare(x)
    assert out.dtype == dt
    assert rel(out, cattn.Attention(dtype=np.float64)(x.astype(np.float64))) < TOL[dt.name]


def test_bfloat16_by_name():
    mha = cattn.MultiHeadAttention(16, 2, dtype="bfloat16")
    assert mha.dtype == ml_dtypes.bfloat16 and mha.state_dict()["out_proj.weight"].dtype == ml_dtypes.bfloat16
    assert "dtype=bfloat16" in repr(mha)


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_half_cache_is_the_default_and_decodes_as_the_full_call(dt):
    mha, _ = pair(dt, cattn.MultiHeadAttention, 32, 4, num_kv_heads=2)
    x = np.random.default_rng(5).standard_normal((2, 9, 32)).astype(dt)
    cache = mha.new_cache((2,), 16)
    assert cache.k.dtype == dt and not cache.half  # the module's own dtype
    steps = [mha(x[:, :5], cache=cache)] + [mha(x[:, i:i + 1], cache=cache) for i in range(5, 9)]
    full = mha(x, is_causal=True)
    assert rel(np.concatenate(steps, axis=1), full) < TOL[dt.name]


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("make", [lambda m: nn.Adam(m, lr=1e-2),
                                  lambda m: nn.SGD(m, lr=0.1, momentum=0.9)],
                         ids=["Adam", "SGD"])
def test_optimisers_update_half_parameters_in_float32(dt, make):
    """The update and the optimiser's state in float32, the parameter rounded once: Adam's
    state in float16 underflowed (eps, g²) and its first step wrote inf/NaN."""
    half, _ = pair(dt, cattn.MultiHeadAttention, 16, 2)
    f32 = cattn.MultiHeadAttention(16, 2, dtype=np.float32)
    f32.load_state_dict({k: v.astype(np.float32) for k, v in half.state_dict().items()})
    x = np.random.default_rng(6).standard_normal((2, 5, 16))
    for m in (half, f32):
        y, pb = m.vjp(x.astype(m.dtype))
        pb(np.full(y.shape, 1e-3, m.dtype))
    # the float32 layer's gradients as the half layer's (rounded), so only the update differs
    for k, g in half.grads.items():
        f32.grads[k][...] = g.astype(np.float32)
    opt_h, opt_f = make(half), make(f32)
    for _ in range(3):
        opt_h.step()
        opt_f.step()
        for k in half.grads:  # the float32 layer restarts from the half parameters each step
            f32._params[k][...] = f32._params[k].astype(dt).astype(np.float32)
    for k, p in half.state_dict().items():
        assert p.dtype == dt and np.isfinite(p.astype(np.float32)).all()
        np.testing.assert_array_equal(p, f32.state_dict()[k].astype(dt))
    assert all(s.dtype == np.float32 for st in opt_h.state.values()
               for s in (st if isinstance(st, tuple) else (st,)))


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_self_attention_gradient_is_its_three_shares_rounded_once(dt):
    """mha.vjp(x) returns x's one gradient, the sum of its query, key and value shares (which
    mha.vjp(x, x, x) returns apart): summed in float32 and rounded once (layer._total), not
    rounded after each half-precision addition."""
    from cattn.nn.layer import _total
    r = np.random.default_rng(7)
    shares = [(r.standard_normal((2, 40, 32)) * s).astype(dt) for s in (1, 3, 0.01)]
    want = sum(s.astype(np.float64) for s in shares).astype(dt)
    got = _total(*shares)
    assert got.dtype == dt and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal((shares[0] + shares[1]) + shares[2], want)  # NumPy's, twice
    mha, _ = pair(dt, cattn.MultiHeadAttention, 32, 4)
    x = np.random.default_rng(8).standard_normal((2, 40, 32)).astype(dt)
    g = np.random.default_rng(9).standard_normal((2, 40, 32)).astype(dt)
    dx = mha.vjp(x, is_causal=True)[1](g)[0]
    apart = sum(s.astype(np.float64) for s in mha.vjp(x, x, x, is_causal=True)[1](g))
    assert dx.dtype == dt and rel(dx, apart) < TOL[dt.name]


LAYERS = {"Linear": lambda dt: nn.Linear(16, 8, dtype=dt, seed=0),
          "LayerNorm": lambda dt: nn.LayerNorm(16, dtype=dt)}


@pytest.mark.parametrize("dt", HALVES, ids=str)
@pytest.mark.parametrize("name", LAYERS)
def test_plain_layers_in_half(dt, name):
    """Linear (the half GEMM) and LayerNorm (statistics and pullback in float32) keep their
    parameters, output and gradients in the half dtype, close to float64 from the same rounded
    parameters and inputs."""
    half, ref = LAYERS[name](dt), LAYERS[name](np.float64)
    rng = np.random.default_rng(10)
    half.load_state_dict({k: rng.standard_normal(v.shape) for k, v in half.state_dict().items()})
    ref.load_state_dict({k: v.astype(np.float64) for k, v in half.state_dict().items()})
    x = rng.standard_normal((4, 50, 16)).astype(dt)
    yh, pbh = half.vjp(x)
    yr, pbr = ref.vjp(x.astype(np.float64))
    g = rng.standard_normal(yh.shape).astype(dt)
    dxh, dxr = pbh(g), pbr(g.astype(np.float64))
    assert yh.dtype == dt and dxh.dtype == dt
    assert rel(yh, yr) < TOL[dt.name] and rel(dxh, dxr) < TOL[dt.name]
    for k, gr in half.grads.items():
        assert gr.dtype == dt and rel(gr, ref.grads[k]) < BIAS_TOL[dt.name], k


@pytest.mark.parametrize("dt", HALVES, ids=str)
def test_embedding_positions_and_loss_in_half(dt):
    emb = nn.Embedding(10, 8, dtype=dt, seed=0)
    ref = nn.Embedding(10, 8, dtype=np.float64)
    ref.load_state_dict({k: v.astype(np.float64) for k, v in emb.state_dict().items()})
    idx = np.random.default_rng(11).integers(0, 10, (400,))  # each row summed ~40 times
    y, pb = emb.vjp(idx)
    yr, pbr = ref.vjp(idx)
    g = np.random.default_rng(12).standard_normal(y.shape).astype(dt)
    pb(g)
    pbr(g.astype(np.float64))
    assert y.dtype == dt and emb.grads["weight"].dtype == dt
    assert rel(emb.grads["weight"], ref.grads["weight"]) < BIAS_TOL[dt.name]
    pe = nn.PositionalEncoding(8, 20, dtype=dt)
    x = np.random.default_rng(13).standard_normal((5, 8)).astype(dt)
    np.testing.assert_array_equal(pe(x), x + nn.PositionalEncoding(8, 20).table[:5].astype(dt))
    z = np.random.default_rng(14).standard_normal((6, 5)).astype(dt)
    t = np.arange(6) % 5
    loss, pull = cattn.vjp(nn.cross_entropy, z, t)
    want = nn.cross_entropy(z.astype(np.float64), t)
    assert loss.dtype == np.float32 and abs(loss - want) < 1e-6 * abs(want)
    dz = pull(np.float32(1.0))[0]
    assert dz.dtype == dt


@pytest.mark.parametrize("dt", [np.dtype(np.float32)] + HALVES, ids=str)
def test_a_small_model_trains_in_half(dt):
    """Embedding -> positions -> causal MultiHeadAttention -> LayerNorm -> Linear -> cross
    entropy, trained with Adam on next-token prediction of a fixed cyclic sequence, every layer
    in `dt`: the loss falls as in float32 (2.06 -> 0.001 in all three here; asked: a hundredth)."""
    V, D = 7, 32
    layers = [nn.Embedding(V, D, dtype=dt, seed=1), nn.PositionalEncoding(D, 64, dtype=dt),
              cattn.MultiHeadAttention(D, 4, dtype=dt, seed=2), nn.LayerNorm(D, dtype=dt),
              nn.Linear(D, V, dtype=dt, seed=3)]
    opt = nn.Adam(layers, lr=1e-2)
    seq = np.arange(33) % V
    x, t = np.stack([seq[:-1]] * 4), np.stack([seq[1:]] * 4)
    losses = []
    for _ in range(60):
        backs, h = [], x
        for i, layer in enumerate(layers):
            h, back = layer.vjp(h, is_causal=True) if i == 2 else layer.vjp(h)
            backs.append(back)
        loss, pull = cattn.vjp(nn.cross_entropy, h, t)
        g = pull(np.float32(1.0))[0]
        for back in reversed(backs[1:]):
            g = back(g)
            g = g[0] if isinstance(g, tuple) else g  # the attention's (d_query, None, None)
        backs[0](g)
        opt.step()
        opt.zero_grad()
        losses.append(float(loss))
    assert all(p.dtype == dt for layer in layers for p in layer.state_dict().values())
    assert np.isfinite(losses).all() and losses[-1] < 0.01 * losses[0], losses[::10]
