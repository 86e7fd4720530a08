"""MultiHeadAttention's grouped-query heads, dropout, soft cap, structured masks and KV cache,
against a float64 NumPy formula of the layer."""
import numpy as np
import pytest

import cattn
import reference as ref


@pytest.mark.parametrize("Hkv", [4, 2, 1])
def test_grouped_query_layer_against_numpy(Hkv):
    mha = cattn.MultiHeadAttention(16, 4, num_kv_heads=Hkv, dtype=np.float64, seed=0)
    if Hkv < 4:
        assert mha.state_dict()["k_proj_weight"].shape == (Hkv * 4, 16)
    assert mha.state_dict()["in_proj_bias"].shape == (16 + 2 * Hkv * 4,)
    rng = np.random.default_rng(Hkv)
    mha.load_state_dict({k: rng.standard_normal(v.shape) * 0.3
                         for k, v in mha.state_dict().items()})
    x = rng.standard_normal((2, 9, 16))
    for m in (cattn.sliding_window(9, 9, 3), cattn.causal_upper_left(9, 9)):
        np.testing.assert_allclose(mha(x, attn_mask=m), ref.mha_layer(mha, x, np.asarray(m))[0],
                                   atol=1e-12)
    np.testing.assert_allclose(mha(x, attn_mask=cattn.causal_upper_left(9, 9), softcap=2.0),
                               ref.mha_layer(mha, x, np.tri(9, dtype=bool), cap=2.0)[0], atol=1e-12)
    if Hkv < 4:
        np.testing.assert_allclose(mha(x), ref.mha_layer(mha, x, np.ones((9, 9), bool))[0], atol=1e-12)


@pytest.mark.parametrize("Hkv", [4, 1])
def test_kv_cache_token_by_token_equals_one_causal_call(Hkv):
    mha = cattn.MultiHeadAttention(24, 4, num_kv_heads=Hkv, dtype=np.float64, seed=1)
    x = np.random.default_rng(0).standard_normal((2, 11, 24))
    full = mha(x, attn_mask=cattn.causal_upper_left(11, 11))
    cache = mha.new_cache((2,), 16)
    ys = [mha(x[:, :3], cache=cache)]  # a prompt, then one token at a time
    ys += [mha(x[:, t:t + 1], cache=cache) for t in range(3, 11)]
    assert cache.length == 11
    np.testing.assert_allclose(np.concatenate(ys, axis=1), full, rtol=0, atol=1e-12)


def test_kv_cache_errors_leave_it_unchanged():
    mha = cattn.MultiHeadAttention(8, 2, seed=0)
    cache = mha.new_cache((), 4)
    mha(np.ones((3, 8), np.float32), cache=cache)
    k = cache.k.copy()
    with pytest.raises(ValueError, match="holds 3 of max_len=4 positions; 2 more do not fit"):
        mha(np.ones((2, 8), np.float32), cache=cache)
    assert cache.length == 3 and np.array_equal(cache.k, k)
    with pytest.raises(ValueError, match=r"batch shape \(2,\) does not match the cache's \(\)"):
        mha(np.ones((2, 1, 8), np.float32), cache=cache)
    with pytest.raises(ValueError, match="computes in float64 but the cache holds float32"):
        mha64 = cattn.MultiHeadAttention(8, 2, dtype=np.float64, seed=0)
        c32 = mha64.new_cache((), 4)
        c32.k, c32.v = c32.k.astype(np.float32), c32.v.astype(np.float32)
        mha64(np.ones((1, 8)), cache=c32)
    with pytest.raises(ValueError, match="belongs to another module"):
        cattn.MultiHeadAttention(8, 2, seed=1)(np.ones((1, 8), np.float32), cache=cache)
    with pytest.raises(ValueError, match="num_heads \\(4\\) must be a multiple of num_kv_heads"):
        cattn.MultiHeadAttention(8, 4, num_kv_heads=3)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\)"):
        cattn.MultiHeadAttention(8, 4, dropout=1.0)


def test_dropout_only_in_training():
    mha = cattn.MultiHeadAttention(16, 4, dropout=0.5, dtype=np.float64, seed=0)
    x = np.random.default_rng(1).standard_normal((2, 12, 16))
    np.testing.assert_array_equal(mha(x), mha(x))
    a, b = mha(x, training=True), mha(x, training=True)
    assert not np.allclose(a, b)  # a fresh mask each call
    _, w = mha(x, training=True, return_weights=True, average_attn_weights=False)
    assert 0.35 < (w == 0).mean() < 0.65


def test_vjp_of_the_composed_layer():
    """Gradients of the inputs and parameters through GQA, a window and the cache, by finite
    differences of the float64 layer."""
    rng = np.random.default_rng(3)
    mha = cattn.MultiHeadAttention(8, 4, num_kv_heads=2, dtype=np.float64, seed=0)
    x = rng.standard_normal((2, 5, 8))
    g = rng.standard_normal((2, 5, 8))
    m = cattn.sliding_window(5, 5, 2)
    mha.zero_grad()
    y, back = mha.vjp(x, attn_mask=m, softcap=3.0)
    (dx, _, _) = back(g)
    eps = 1e-6
    f = lambda xx: (mha(xx, attn_mask=m, softcap=3.0) * g).sum()  # noqa: E731
    for idx in [(0, 0, 0), (1, 4, 7), (0, 2, 3)]:
        e = np.zeros_like(x)
        e[idx] = eps
        assert abs((f(x + e) - f(x - e)) / (2 * eps) - dx[idx]) < 1e-6
    name = "k_proj_weight"
    W = mha._params[name]
    for idx in [(0, 0), (3, 5)]:
        old = W[idx]
        W[idx] = old + eps
        up = f(x)
        W[idx] = old - eps
        down = f(x)
        W[idx] = old
        assert abs((up - down) / (2 * eps) - mha.grads[name][idx]) < 1e-6
    # through a cache: the new token's input gradient, the cached positions held constant
    cache = mha.new_cache((2,), 8)
    mha(x[:, :4], cache=cache)
    y1, back1 = mha.vjp(x[:, 4:], cache=cache)
    assert cache.length == 5
    dx1 = back1(g[:, 4:])[0]
    full = lambda xx: (mha(np.concatenate([x[:, :4], xx], 1),  # noqa: E731
                           attn_mask=cattn.causal_upper_left(5, 5))[:, 4:] * g[:, 4:]).sum()
    e = np.zeros_like(x[:, 4:])
    e[1, 0, 2] = eps
    assert abs((full(x[:, 4:] + e) - full(x[:, 4:] - e)) / (2 * eps) - dx1[1, 0, 2]) < 1e-6


@pytest.mark.parametrize("num_kv_heads", [1, 2, 4])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cross", [False, True])
def test_gqa_steps_and_head_weights_match_the_layer(num_kv_heads, bias, cross):
    """steps() and head_weights() of a grouped-query layer (issue 23: both raised "cannot reshape
    array" with num_kv_heads < num_heads): per-head views with num_kv_heads key/value heads, and
    steps whose output, weights and masks are the layer's, key_lengths included."""
    m = cattn.MultiHeadAttention(16, 4, num_kv_heads=num_kv_heads, bias=bias, seed=0,
                                 dtype=np.float64, **({"kdim": 6, "vdim": 5} if cross else {}))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 16))
    kv = rng.standard_normal((2, 7, 6)) if cross else None
    vv = rng.standard_normal((2, 7, 5)) if cross else None
    wq, wk, wv, wo, bq, bk, bv, bo = m.head_weights()
    assert wq.shape == (4, 16, 4) and wo.shape == (4, 4, 16)
    assert wk.shape == (num_kv_heads, 6 if cross else 16, 4)
    assert wv.shape == (num_kv_heads, 5 if cross else 16, 4)
    assert (bk is None) == (not bias) and (bias is False or bk.shape == (num_kv_heads, 4))
    lengths = np.array([7 if cross else 5, 3])
    out, w = m(x, kv, vv, key_lengths=lengths, return_weights=True, average_attn_weights=False)
    s = m.steps(x, kv, vv, key_lengths=lengths)
    np.testing.assert_allclose(s.output, out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.weights, w, rtol=1e-12, atol=1e-12)
    assert not s.mask[1, :, :, 3:].any() and s.mask[1, :, :, :3].all()
