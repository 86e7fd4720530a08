"""A refused call changes nothing (issue 24). One pattern for every stateful entry point: take a
snapshot of the state (a module's parameters and ``grads``, a KV cache, an ``out=`` array, an
optimiser's state), make the call fail in each way it can, and compare bit for bit.

The stateful entry points: layer pullbacks (``grads``) of Linear, LayerNorm, Embedding,
PositionalEncoding, MultiHeadAttention (every path), Attention and AdditiveAttention; the KV cache
(``mha(x, cache=c)`` and ``mha.vjp(x, cache=c)``); ``out=`` of the gufuncs and the functions;
the optimisers' ``step`` (parameters and state); ``load_state_dict``."""
import copy
import threading

import numpy as np
import pytest

import cattn
from cattn import nn

R = np.random.default_rng(5)
x3 = R.standard_normal((2, 5, 8))


def snapshot(obj):
    """Every array and number reachable from obj's __dict__ (modules, caches, optimisers)."""
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, np.random.Generator):  # a layer's dropout seeds
        return snapshot(obj.bit_generator.state)
    if isinstance(obj, dict):
        return {k: snapshot(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [snapshot(v) for v in obj]
    if isinstance(obj, (nn.SGD, nn.Adam, cattn.KVCache)) or isinstance(obj, cattn.nn.Module):
        d = {k: v for k, v in vars(obj).items() if k not in ("module", "_lock", "_grads")}
        if isinstance(obj, cattn.nn.Module):
            d["grads"] = obj.grads
        return {k: snapshot(v) for k, v in d.items()}
    return copy.copy(obj) if isinstance(obj, (int, float, str, type(None))) else None


def same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype and \
            a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)


def refused(call, exc, *state):
    before = [snapshot(s) for s in state]
    with pytest.raises(exc) as info:
        call()
    after = [snapshot(s) for s in state]
    assert all(same(a, b) for a, b in zip(before, after)), "a refused call changed the state"
    return str(info.value)


# ---- layer pullbacks: grads ------------------------------------------------------------------

def _mha(**kw):
    return cattn.MultiHeadAttention(8, 4, seed=1, dtype=np.float64, **kw)


LAYERS = {
    "Linear": (lambda: nn.Linear(8, 3, dtype=np.float64), lambda m: m.vjp(x3)),
    "LayerNorm": (lambda: nn.LayerNorm(8, dtype=np.float64), lambda m: m.vjp(x3)),
    "Embedding": (lambda: nn.Embedding(10, 4, dtype=np.float64), lambda m: m.vjp(np.array([[1, 2, 1]]))),
    "PositionalEncoding": (lambda: nn.PositionalEncoding(8, dtype=np.float64), lambda m: m.vjp(x3)),
    "MultiHeadAttention": (_mha, lambda m: m.vjp(x3)),
    "MultiHeadAttention cross": (_mha, lambda m: m.vjp(x3, x3[:, :3], x3[:, :3])),
    "MultiHeadAttention weights": (_mha, lambda m: m.vjp(x3, return_weights=True)),
    "MultiHeadAttention gqa": (lambda: _mha(num_kv_heads=2), lambda m: m.vjp(x3)),
    "MultiHeadAttention softcap": (_mha, lambda m: m.vjp(x3, softcap=5.0)),
    "MultiHeadAttention dropout": (lambda: _mha(dropout=0.2), lambda m: m.vjp(x3, training=True)),
    "MultiHeadAttention cache": (_mha, lambda m: m.vjp(x3, cache=m.new_cache((2,), 8))),
    "MultiHeadAttention batch_first": (lambda: _mha(batch_first=True), lambda m: m.vjp(x3)),
    "Attention projections": (lambda: cattn.Attention(8, dtype=np.float64), lambda m: m.vjp(x3)),
    "AdditiveAttention": (lambda: cattn.AdditiveAttention(8, 8, 6, dtype=np.float64), lambda m: m.vjp(x3)),
}


def _first(y):
    return y[0] if isinstance(y, tuple) else y


def bad_cotangents(y):
    o = _first(y)
    return {
        "transposed": (np.swapaxes(o, 0, 1).copy() if o.ndim > 1 and o.shape[0] != o.shape[1]
                       else o.reshape(-1)),
        "one more axis": o[None],
        "None": None,
        "string": "grad",
        "complex": o.astype(complex),
        "tuple of three": (o, None, None),
    }


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_refused_pullback_changes_no_gradient(name):
    new, call = LAYERS[name]
    m = new()
    y, pb = call(m)
    pb((np.ones_like(y[0]), None) if isinstance(y, tuple) else np.ones_like(y))  # grads != 0
    for why, g in bad_cotangents(y).items():
        refused(lambda: pb(g), (ValueError, TypeError), m)


def test_a_refused_pullback_names_the_layer_and_both_shapes():
    m = _mha(num_kv_heads=2)
    y, pb = m.vjp(x3)
    with pytest.raises(ValueError, match=r"MultiHeadAttention.vjp pullback: .*\(5, 2, 8\).*\(2, 5, 8\)"):
        pb(np.ones((5, 2, 8)))


# ---- the KV cache ------------------------------------------------------------------------------

def _cache_case():
    m = _mha(num_kv_heads=2)
    c = m.new_cache((2,), 6)
    m(x3[:, :2], cache=c)
    return m, c


def test_a_refused_training_call_draws_no_dropout_seed():
    """The layer's generator is state too: a refused training call puts it back, so the next
    call's dropout is the one it would have been."""
    for new in (lambda: _mha(num_kv_heads=2, dropout=0.5), lambda: cattn.Attention(dropout=0.5, seed=3)):
        m = new()
        refused(lambda: m(x3, training=True, softcap=0.0), ValueError, m)
        twin = new()
        np.testing.assert_array_equal(m(x3, training=True), twin(x3, training=True))


CACHE_FAILURES = {
    "softcap 0": (lambda m, c: m(x3[:, :1], cache=c, softcap=0.0), ValueError),
    "softcap str": (lambda m, c: m(x3[:, :1], cache=c, softcap="1"), TypeError),
    "query_lengths": (lambda m, c: m(x3[:, :1], cache=c, query_lengths=np.array([5, 1])), ValueError),
    "attn_mask": (lambda m, c: m(x3[:, :1], cache=c, attn_mask=np.ones((1, 3), bool)), ValueError),
    "is_causal": (lambda m, c: m(x3[:, :1], cache=c, is_causal=True), ValueError),
    "key": (lambda m, c: m(x3[:, :1], x3[:, :1], cache=c), ValueError),
    "features": (lambda m, c: m(x3[:, :1, :7], cache=c), ValueError),
    "batch": (lambda m, c: m(x3[:1, :1], cache=c), ValueError),
    "dtype": (lambda m, c: m(x3[:, :1].astype(np.complex128), cache=c), TypeError),
    "full": (lambda m, c: m(x3[:, :5], cache=c), ValueError),
    "return_weights and need_weights": (lambda m, c: m(x3[:, :1], cache=c, return_weights=True, need_weights=False), ValueError),
    "another module's cache": (lambda m, c: _mha(num_kv_heads=2)(x3[:, :1], cache=c), ValueError),
    "vjp softcap 0": (lambda m, c: m.vjp(x3[:, :1], cache=c, softcap=0.0), ValueError),
    "vjp full": (lambda m, c: m.vjp(x3[:, :5], cache=c), ValueError),
}


@pytest.mark.parametrize("name", sorted(CACHE_FAILURES))
def test_a_refused_cache_call_changes_no_cache(name):
    call, exc = CACHE_FAILURES[name]
    m, c = _cache_case()
    refused(lambda: call(m, c), exc, c, m)
    # and the cache still works: a retry appends exactly once
    m(x3[:, 2:3], cache=c)
    assert c.length == 3


def test_a_refused_cache_pullback_changes_nothing():
    m, c = _cache_case()
    y, pb = m.vjp(x3[:, 2:3], cache=c)
    refused(lambda: pb(np.ones((2, 2, 8))), ValueError, c, m)


def test_a_shared_cache_loses_no_token():
    """Appends are serialised: four threads, 100 tokens each, 400 positions, every token once.
    (Unserialised, 14-40 of the 400 were lost here: NumPy lets go of the GIL while it copies.)"""
    import sys
    m = cattn.MultiHeadAttention(256, 4, seed=0, dtype=np.float64)
    c = m.new_cache((4,), 400)
    x = np.random.default_rng(0).standard_normal((4, 400, 256))
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a race shows at once
    try:
        def work(i):
            for t in range(i, 400, 4):
                m(x[:, t:t + 1], cache=c)
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert c.length == 400
    hw = m.head_weights()  # (wq, wk, wv, wo, bq, bk, bv, bo): the keys are x @ wk[h] + bk[h]
    keys = np.einsum("bte,hed->bhtd", x, hw[1]) + hw[5][:, None, :]
    # every token's key is in the cache exactly once, in some order
    order = [int(np.argmin(np.abs(keys[0, 0] - c.k[0, 0, i]).sum(axis=1))) for i in range(400)]
    assert sorted(order) == list(range(400))
    np.testing.assert_allclose(c.k, keys[:, :, order], atol=1e-9)


# ---- out= ------------------------------------------------------------------------------------

q = R.standard_normal((2, 4, 8))
k = R.standard_normal((2, 6, 8))
v = R.standard_normal((2, 6, 5))
OUT_FAILURES = {
    "softmax axis": (lambda o: cattn.softmax(q, axis=3, out=o), (2, 4, 8), np.exceptions.AxisError),
    "softmax complex": (lambda o: cattn.softmax(q.astype(complex), out=o), (2, 4, 8), TypeError),
    "matmul shapes": (lambda o: cattn.matmul(q, k, out=o), (2, 4, 6), ValueError),
    "sdpa mask shape": (lambda o: cattn.scaled_dot_product_attention(q, k, v, np.ones((4, 5), bool), out=o), (2, 4, 5), ValueError),
    "sdpa softcap": (lambda o: cattn.scaled_dot_product_attention(q, k, v, softcap=-1.0, out=o), (2, 4, 5), ValueError),
    "sdpa key_lengths": (lambda o: cattn.scaled_dot_product_attention(q, k, v, key_lengths=np.array([7, 1]), out=o), (2, 4, 5), ValueError),
    "sdpa seed": (lambda o: cattn.scaled_dot_product_attention(q, k, v, dropout_p=0.5, seed=2**64, out=o), (2, 4, 5), ValueError),
    "attention gufunc": (lambda o: cattn.attention(q, k, v[:, :5], 1.0, out=o), (2, 4, 5), ValueError),
    "masked_attention gufunc": (lambda o: cattn.masked_attention(q, k, v, np.ones((4, 6), complex), 1.0, out=o), (2, 4, 5), TypeError),
    "mha weights": (lambda o: cattn.multi_head_attention(q, q, q, *[np.ones(s) for s in ((2, 8, 4),) * 3], np.ones((2, 4, 7)), out=o), (2, 4, 8), ValueError),
}


@pytest.mark.parametrize("name", sorted(OUT_FAILURES))
def test_a_refused_call_leaves_out_as_it_was(name):
    call, shape, exc = OUT_FAILURES[name]
    o = np.full(shape, 3.25)
    refused(lambda: call(o), exc, o)


# ---- optimisers and load_state_dict ----------------------------------------------------------

def _trained(opt_cls, **kw):
    lin, ln = nn.Linear(4, 3, seed=0), nn.LayerNorm(3)
    opt = opt_cls([lin, ln], **kw)
    y, pb = lin.vjp(np.ones((2, 4), np.float32))
    z, pb2 = ln.vjp(y)
    pb(pb2(np.ones_like(z)))
    opt.step()
    return opt, lin, ln


@pytest.mark.parametrize("opt_cls,kw", [(nn.SGD, {"lr": 0.1, "momentum": 0.9}), (nn.Adam, {"lr": 0.01})])
@pytest.mark.parametrize("setting,value,exc", [
    ("lr", "0.1", TypeError), ("lr", -1.0, ValueError), ("lr", float("nan"), ValueError),
    ("lr", None, TypeError)])
def test_a_refused_step_changes_no_parameter_and_no_state(opt_cls, kw, setting, value, exc):
    opt, lin, ln = _trained(opt_cls, **kw)
    setattr(opt, setting, value)
    refused(opt.step, exc, opt, lin, ln)


@pytest.mark.parametrize("setting,value", [("momentum", "0.9"), ("momentum", -0.5)])
def test_a_refused_sgd_step_names_its_setting(setting, value):
    opt, lin, ln = _trained(nn.SGD, lr=0.1, momentum=0.9)
    setattr(opt, setting, value)
    assert refused(opt.step, (TypeError, ValueError), opt, lin, ln).startswith(f"SGD: {setting}")


@pytest.mark.parametrize("setting,value", [("betas", (0.9, 1.5)), ("eps", "x"), ("weight_decay", -1.0)])
def test_a_refused_adam_step_names_its_setting(setting, value):
    opt, lin, ln = _trained(nn.Adam, lr=0.01)
    setattr(opt, setting, value)
    assert refused(opt.step, (TypeError, ValueError), opt, lin, ln).startswith(f"Adam: {setting}")


@pytest.mark.parametrize("opt_cls", [nn.SGD, nn.Adam])
def test_an_optimiser_refuses_a_string_lr_by_name(opt_cls):
    with pytest.raises(TypeError, match=rf"{opt_cls.__name__}: lr must be a real number, got '0.1'"):
        opt_cls([nn.Linear(2, 2)], lr="0.1")


def test_a_refused_load_state_dict_changes_no_parameter():
    m = _mha()
    state = m.state_dict()
    state["out_proj.bias"] = np.ones(3)
    refused(lambda: m.load_state_dict(state), ValueError, m)
    state = m.state_dict()
    state["in_proj_weight"] = state["in_proj_weight"].astype(complex)
    refused(lambda: m.load_state_dict(state), TypeError, m)


# ---- the library's settings ------------------------------------------------------------------

def _settings():
    return (cattn._cattn.get_config(), cattn.get_num_threads(), cattn._cattn.gemm_rates())


@pytest.mark.parametrize("call,exc", [
    (lambda: cattn.set_level("sse9"), ValueError),
    (lambda: cattn.set_level(3), ValueError),
    (lambda: cattn.set_num_threads(-1), ValueError),
    (lambda: cattn.set_num_threads("2"), TypeError),
    (lambda: cattn._cattn.set_gemm_rate("ref", False, -1.0), ValueError),
    (lambda: cattn._cattn.set_gemm_rate("nope", False, 10.0), ValueError),
])
def test_a_refused_setting_changes_no_setting(call, exc):
    before = _settings()
    with pytest.raises(exc):
        call()
    assert _settings() == before
