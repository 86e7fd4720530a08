"""The modern SDPA features against PyTorch 2.13 and JAX, forward and gradients, in float64:
golden data from scripts/make_golden_modern.py (no library needed), and the same cases live when
the library is installed."""
import os

import numpy as np
import pytest

import cattn

SDPA = cattn.scaled_dot_product_attention
GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "data", "modern_golden.npz"))


def case(prefix):
    return {k.split("/")[-1]: GOLDEN[k] for k in GOLDEN.files if k.startswith(prefix + "/")}


def kwargs_of(name, c):
    """cattn's keywords for a golden case."""
    lib, what = name.split("/")
    if what.startswith("gqa"):
        return dict(enable_gqa=True, is_causal=what.endswith("causal") or lib == "jax")
    if what.startswith("lower_right"):
        return dict(attn_mask=cattn.causal_lower_right(int(c["L"]), int(c["S"])))
    if what == "window":
        L = c["q"].shape[-2]
        return dict(attn_mask=cattn.sliding_window(L, L, int(c["left"]), int(c["right"])))
    if what == "lengths":
        return dict(key_lengths=c["kl"][:, None], query_lengths=c["ql"][:, None])
    raise KeyError(name)


NAMES = sorted({"/".join(k.split("/")[:2]) for k in GOLDEN.files})


@pytest.mark.parametrize("name", NAMES)
def test_matches_the_golden_data(level, name):
    c = case(name)
    kw = kwargs_of(name, c)
    # JAX takes the softmax in float32 even for float64 inputs (jax.nn.dot_product_attention's
    # XLA path): its numbers agree to float32's precision only
    rtol, atol = (1e-10, 1e-12) if name.startswith("torch") else (1e-5, 2e-6)
    out, back = cattn.vjp(SDPA, c["q"], c["k"], c["v"], **kw)
    np.testing.assert_allclose(out, c["out"], rtol=rtol, atol=atol)
    for got, n in zip(back(c["dout"]), ("dq", "dk", "dv")):
        np.testing.assert_allclose(got, c[n], rtol=rtol, atol=atol, err_msg=n)


def test_live_pytorch():
    torch = pytest.importorskip("torch")
    from torch.nn.attention.bias import causal_lower_right

    F = torch.nn.functional.scaled_dot_product_attention
    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal(s) for s in [(2, 6, 7, 8), (2, 3, 19, 8), (2, 3, 19, 4)])
    t = [torch.tensor(x, requires_grad=True) for x in (q, k, v)]
    out = F(*t, attn_mask=causal_lower_right(7, 19), enable_gqa=True)
    g = rng.standard_normal(out.shape)
    out.backward(torch.tensor(g))
    y, back = cattn.vjp(SDPA, q, k, v, attn_mask=cattn.causal_lower_right(7, 19), enable_gqa=True)
    np.testing.assert_allclose(y, out.detach().numpy(), atol=1e-12)
    for got, x in zip(back(g), t):
        np.testing.assert_allclose(got, x.grad.numpy(), atol=1e-12)


def test_live_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    rng = np.random.default_rng(6)
    q, k, v = (rng.standard_normal(s) for s in [(2, 13, 4, 8), (2, 21, 2, 8), (2, 21, 2, 8)])
    kl, ql = np.array([21, 6], np.int32), np.array([13, 4], np.int32)
    f = lambda a, b, c: jax.nn.dot_product_attention(  # noqa: E731
        a, b, c, key_value_seq_lengths=jnp.asarray(kl), query_seq_lengths=jnp.asarray(ql),
        local_window_size=(5, 2), implementation="xla")
    out, pull = jax.vjp(f, *(jnp.asarray(x) for x in (q, k, v)))
    g = rng.standard_normal(out.shape)
    want = pull(jnp.asarray(g))
    T = lambda x: np.swapaxes(np.asarray(x), 1, 2)  # noqa: E731  JAX (B, T, N, H) -> (B, N, T, H)
    y, back = cattn.vjp(SDPA, T(q), T(k), T(v), attn_mask=cattn.sliding_window(13, 21, 5, 2),
                        enable_gqa=True, key_lengths=kl[:, None], query_lengths=ql[:, None])
    np.testing.assert_allclose(y, T(out), rtol=1e-5, atol=2e-6)  # JAX: softmax in float32
    for got, w in zip(back(T(g)), want):
        np.testing.assert_allclose(got, T(w), rtol=1e-5, atol=2e-6)
