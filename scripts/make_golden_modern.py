"""Regenerate tests/data/modern_golden.npz: the modern attention features computed by PyTorch 2.13
(pip install torch==2.13.0) and JAX (pip install "jax[cpu]"), in float64, forward and gradients.

  torch/gqa          F.scaled_dot_product_attention(..., enable_gqa=True), 8 query / 2 kv heads
  torch/lower_right  attn_mask=torch.nn.attention.bias.causal_lower_right(L, S), L < S and L > S
  torch/window       a sliding window given as a float mask (0 / -inf) -- cattn's sliding_window
  jax/lengths        jax.nn.dot_product_attention with query_seq_lengths / key_value_seq_lengths
  jax/window         jax.nn.dot_product_attention with local_window_size=(left, right)
  jax/gqa            jax.nn.dot_product_attention with fewer key/value heads (its GQA)

Each case stores its inputs, dout (the gradient pulled back) and the library's output and
gradients (JAX's layout (B, T, N, H) is transposed to cattn's (B, N, T, H) here). The tests read
the file and need neither library.
Run: python scripts/make_golden_modern.py
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "modern_golden.npz")


def torch_cases(rng, arrays):
    import torch
    import torch.nn.functional as F
    from torch.nn.attention.bias import causal_lower_right

    def run(name, q, k, v, **kw):
        t = [torch.tensor(x, requires_grad=True) for x in (q, k, v)]
        out = F.scaled_dot_product_attention(*t, **kw)
        dout = rng.standard_normal(out.shape)
        out.backward(torch.tensor(dout))
        for n, a in zip(("q", "k", "v", "dout", "out"), (q, k, v, dout, out.detach().numpy())):
            arrays[f"torch/{name}/{n}"] = a
        for n, x in zip(("dq", "dk", "dv"), t):
            arrays[f"torch/{name}/{n}"] = x.grad.numpy()

    q, k, v = (rng.standard_normal(s) for s in [(2, 8, 33, 16), (2, 2, 47, 16), (2, 2, 47, 12)])
    run("gqa", q, k, v, enable_gqa=True)
    run("gqa_causal", q, k[:, :, :33], v[:, :, :33], enable_gqa=True, is_causal=True)
    for L, S in [(9, 40), (40, 31)]:
        q, k, v = (rng.standard_normal(s) for s in [(2, 3, L, 16), (2, 3, S, 16), (2, 3, S, 16)])
        run(f"lower_right_{L}x{S}", q, k, v, attn_mask=causal_lower_right(L, S))
        arrays[f"torch/lower_right_{L}x{S}/L"], arrays[f"torch/lower_right_{L}x{S}/S"] = L, S
    q, k, v = (rng.standard_normal(s) for s in [(2, 3, 120, 16), (2, 3, 120, 16), (2, 3, 120, 8)])
    i, j = np.arange(120)[:, None], np.arange(120)[None, :]
    left, right = 17, 3
    fm = np.where((j >= i - left) & (j <= i + right), 0.0, -np.inf)
    run("window", q, k, v, attn_mask=torch.tensor(fm))
    arrays["torch/window/left"], arrays["torch/window/right"] = left, right


def jax_cases(rng, arrays):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def run(name, q, k, v, **kw):  # cattn layout (B, N, T, H) in; JAX's (B, T, N, H) inside
        tq, tk, tv = (jnp.asarray(np.swapaxes(x, 1, 2)) for x in (q, k, v))
        f = lambda a, b, c: jax.nn.dot_product_attention(a, b, c, implementation="xla", **kw)  # noqa: E731
        out, pull = jax.vjp(f, tq, tk, tv)
        dout = rng.standard_normal(out.shape)
        grads = pull(jnp.asarray(dout))
        for n, a in zip(("q", "k", "v"), (q, k, v)):
            arrays[f"jax/{name}/{n}"] = a
        arrays[f"jax/{name}/dout"] = np.swapaxes(dout, 1, 2)
        arrays[f"jax/{name}/out"] = np.swapaxes(np.asarray(out), 1, 2)
        for n, g in zip(("dq", "dk", "dv"), grads):
            arrays[f"jax/{name}/{n}"] = np.swapaxes(np.asarray(g), 1, 2)

    q, k, v = (rng.standard_normal(s) for s in [(3, 2, 30, 8), (3, 2, 41, 8), (3, 2, 41, 8)])
    ql, kl = np.array([30, 12, 1], np.int32), np.array([41, 5, 20], np.int32)
    run("lengths", q, k, v, query_seq_lengths=jnp.asarray(ql), key_value_seq_lengths=jnp.asarray(kl))
    arrays["jax/lengths/ql"], arrays["jax/lengths/kl"] = ql, kl
    q, k, v = (rng.standard_normal(s) for s in [(2, 2, 90, 8), (2, 2, 90, 8), (2, 2, 90, 8)])
    run("window", q, k, v, local_window_size=(11, 4))
    arrays["jax/window/left"], arrays["jax/window/right"] = 11, 4
    q, k, v = (rng.standard_normal(s) for s in [(2, 6, 25, 8), (2, 3, 25, 8), (2, 3, 25, 8)])
    run("gqa", q, k, v, is_causal=True)


def main():
    rng = np.random.default_rng(2026)
    arrays = {}
    torch_cases(rng, arrays)
    jax_cases(rng, arrays)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT}: {len(arrays)} arrays")


if __name__ == "__main__":
    main()
