"""A pullback's results are its own (issue 24): changing, in place, any array a forward pass
returned -- its output, its weights, an ``out=`` array -- does not change what the pullback
returns. Every operation ``cattn.vjp`` supports and every layer's ``vjp`` is covered; each case
fails on a pullback that reads a returned array (75e6e8d's softmax, SDPA, MHA, additive
attention and LayerNorm did)."""
import numpy as np
import pytest

import cattn
from cattn import nn

R = np.random.default_rng(3)


def f(*shape, dtype=np.float64):
    return R.standard_normal(shape).astype(dtype)


def _arrays(y):
    if isinstance(y, np.ndarray):
        return [y]
    if isinstance(y, (tuple, list)):
        return [a for x in y for a in _arrays(x)]
    return []


def _cot(y):
    if isinstance(y, tuple):
        return (f(*y[0].shape, dtype=y[0].dtype), None)
    return f(*np.shape(y), dtype=np.asarray(y).dtype)


q, k, v = f(2, 3, 5, 4), f(2, 3, 6, 4), f(2, 3, 6, 4)
x3 = f(2, 5, 8)
mask = f(5, 6)


def _mha_args():
    m = cattn.MultiHeadAttention(8, 2, seed=0, dtype=np.float64)
    return (x3, x3, x3) + tuple(m.head_weights())


def _additive_args():
    return (f(2, 4, 3), f(2, 6, 5), f(2, 6, 2), f(7, 3), f(7, 5), f(7))


FUNCTIONS = {
    "softmax": lambda out=None: cattn.vjp(cattn.softmax, f(3, 7), **({} if out is None else {"out": out(3, 7)})),
    "log_softmax": lambda out=None: cattn.vjp(cattn.log_softmax, f(3, 7), **({} if out is None else {"out": out(3, 7)})),
    "matmul": lambda out=None: cattn.vjp(cattn.matmul, f(3, 4), f(4, 5), **({} if out is None else {"out": out(3, 5)})),
    "sdpa": lambda out=None: cattn.vjp(cattn.scaled_dot_product_attention, q, k, v, **({} if out is None else {"out": out(2, 3, 5, 4)})),
    "sdpa weights": lambda out=None: cattn.vjp(cattn.scaled_dot_product_attention, q, k, v, mask, return_weights=True),
    "sdpa causal": lambda out=None: cattn.vjp(cattn.scaled_dot_product_attention, q, k, v, is_causal=True),
    "sdpa float16": lambda out=None: cattn.vjp(cattn.scaled_dot_product_attention, *(a.astype(np.float16) for a in (q, k, v))),
    "sdpa gqa softcap": lambda out=None: cattn.vjp(cattn.scaled_dot_product_attention, f(2, 4, 5, 4), k[:, :2], v[:, :2], enable_gqa=True, softcap=3.0),
    "mha": lambda out=None: cattn.vjp(cattn.multi_head_attention, *_mha_args(), **({} if out is None else {"out": out(2, 5, 8)})),
    "mha weights": lambda out=None: cattn.vjp(cattn.multi_head_attention, *_mha_args(), return_weights=True, average_attn_weights=False),
    "additive": lambda out=None: cattn.vjp(cattn.additive_attention, *_additive_args()),
    "additive weights": lambda out=None: cattn.vjp(cattn.additive_attention, *_additive_args(), return_weights=True),
    "cross_entropy": lambda out=None: cattn.vjp(nn.cross_entropy, f(4, 6), R.integers(0, 6, 4)),
}
WITH_OUT = ["softmax", "log_softmax", "matmul", "sdpa", "mha"]


def _check(make, out=None):
    y, pb = make(out) if out else make()
    g = _cot(y)
    before = pb(g)
    for a in _arrays(y):
        if a.flags.writeable:
            a[...] = 7.0
    after = pb(g)
    for b, a in zip(_arrays(before), _arrays(after)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_pullback_ignores_changes_to_its_results(name):
    _check(FUNCTIONS[name])


@pytest.mark.parametrize("name", WITH_OUT)
def test_function_pullback_ignores_changes_to_out(name):
    _check(FUNCTIONS[name], out=lambda *s: np.empty(s))


def _mha(**kw):
    return cattn.MultiHeadAttention(8, 4, seed=1, dtype=np.float64, **kw)


LAYERS = {
    "Linear": (lambda: nn.Linear(8, 3, dtype=np.float64), lambda m: m.vjp(x3)),
    "Linear no bias": (lambda: nn.Linear(8, 3, bias=False, dtype=np.float64), lambda m: m.vjp(x3)),
    "LayerNorm": (lambda: nn.LayerNorm(8, dtype=np.float64), lambda m: m.vjp(x3)),
    "LayerNorm no affine": (lambda: nn.LayerNorm(8, elementwise_affine=False, dtype=np.float64), lambda m: m.vjp(x3)),
    "Embedding": (lambda: nn.Embedding(10, 4, dtype=np.float64), lambda m: m.vjp(np.array([[1, 2, 1]]))),
    "PositionalEncoding": (lambda: nn.PositionalEncoding(8, dtype=np.float64), lambda m: m.vjp(x3)),
    "MultiHeadAttention": (_mha, lambda m: m.vjp(x3)),
    "MultiHeadAttention weights": (_mha, lambda m: m.vjp(x3, return_weights=True)),
    "MultiHeadAttention gqa": (lambda: _mha(num_kv_heads=2), lambda m: m.vjp(x3, return_weights=True)),
    "MultiHeadAttention dropout": (lambda: _mha(dropout=0.3), lambda m: m.vjp(x3, training=True)),
    "MultiHeadAttention cache": (_mha, lambda m: m.vjp(x3[:1], cache=m.new_cache((1,), 8))),
    "Attention": (lambda: cattn.Attention(), lambda m: m.vjp(q[0], k[0], v[0], return_weights=True)),
    "Attention projections": (lambda: cattn.Attention(4, dtype=np.float64), lambda m: m.vjp(q[0], k[0], v[0], return_weights=True)),
    "AdditiveAttention": (lambda: cattn.AdditiveAttention(4, 4, 6, dtype=np.float64), lambda m: m.vjp(q[0], k[0], v[0], return_weights=True)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_pullback_ignores_changes_to_its_results(name):
    new, call = LAYERS[name]
    m = new()
    y, pb = call(m)
    g = _cot(y)
    m.zero_grad()
    before = pb(g)
    grads_before = {n: a.copy() for n, a in m.grads.items()}
    for a in _arrays(y):
        if a.flags.writeable:
            a[...] = 7.0
    m.zero_grad()
    after = pb(g)
    for b, a in zip(_arrays(before), _arrays(after)):
        np.testing.assert_array_equal(a, b)
    for n, a in m.grads.items():
        np.testing.assert_array_equal(a, grads_before[n], err_msg=n)
