"""cattn against itself: what keeping the mask kind down to the kernel buys.

- causal multi-head attention (is_causal: the kernel skips the masked blocks) against the same
  layer without a mask, and against causal given as a dense boolean (L, S) mask (the route
  cattn took before the mask kind reached the kernel);
- causal SDPA with the weights returned against causal SDPA alone plus the cost of writing the
  weights (a fresh (B, H, L, S) array filled once), the least that returning them can cost;
- key_lengths on multi-head attention and is_causal on additive attention, which their kernels
  now take as row limits, against the same masks given as dense arrays (the route both took
  before, which computes every score and then masks it).
"""
import numpy as np

import cattn
from common import median_time


def rows(quick, budget):
    B, N, E, H = (2, 256, 512, 8) if quick else (8, 512, 512, 8)
    rng = np.random.default_rng(0)
    mha = cattn.MultiHeadAttention(E, H, seed=0)
    x = rng.standard_normal((B, N, E)).astype(np.float32)
    tri = np.tri(N, N, dtype=bool)
    t_plain = median_time(lambda: mha(x), budget)
    t_causal = median_time(lambda: mha(x, is_causal=True), budget)
    t_dense = median_time(lambda: mha(x, attn_mask=tri), budget)
    np.testing.assert_allclose(mha(x, is_causal=True), mha(x, attn_mask=tri), rtol=1e-4, atol=1e-5)
    d = E // H
    proj = 2.0 * B * N * E * 4 * E
    attn = 4.0 * B * H * N * N * d
    bound = (proj + attn) / (proj + attn / 2)
    out = [("mha", f"float32 B={B} N={N} E={E} H={H}", {
        "no mask": t_plain, "is_causal=True": t_causal, "causal as a dense mask": t_dense},
        [("no mask / causal", t_plain / t_causal,
          f"at most {bound:.2f} (Amdahl: the projections, {proj / (proj + attn):.0%} of the "
          f"flops, do not shrink)"),
         ("dense mask / causal", t_dense / t_causal, "the old route over the kind kept")])]

    q, k, v = (rng.standard_normal((8, 8, N, 64)).astype(np.float32) for _ in range(3))
    sdpa = cattn.scaled_dot_product_attention
    t_c = median_time(lambda: sdpa(q, k, v, is_causal=True), budget)
    t_cw = median_time(lambda: sdpa(q, k, v, is_causal=True, return_weights=True), budget)
    t_w = median_time(lambda: np.empty((8, 8, N, N), np.float32).fill(0.5), budget)
    out.append(("sdpa", f"float32 (8, 8, {N}, 64) causal", {
        "causal": t_c, "causal + weights": t_cw, "writing the weights alone": t_w},
        [("(causal + weights) / (causal + writing)", t_cw / (t_c + t_w), "goal: at most 1.10")]))
    # key_lengths: a right-padded batch whose sequences fill a quarter to all of the length
    lengths = np.linspace(N // 4, N, B).astype(np.int64)
    pad = np.arange(N) < lengths[:, None, None]  # (B, 1, N): the same keys, as a dense mask
    t_len = median_time(lambda: mha(x, key_lengths=lengths), budget)
    t_pad = median_time(lambda: mha(x, attn_mask=pad), budget)
    np.testing.assert_allclose(mha(x, key_lengths=lengths), mha(x, attn_mask=pad), rtol=1e-4,
                               atol=1e-5)
    out.append(("mha", f"float32 B={B} N={N} E={E} H={H}, key_lengths {N // 4}..{N}", {
        "key_lengths": t_len, "the same keys as a dense mask": t_pad},
        [("dense mask / key_lengths", t_pad / t_len, "keys past a length are never read")]))

    add = cattn.AdditiveAttention(64, 64, 32, seed=0)
    n = N // 2
    xa = rng.standard_normal((B, n, 64)).astype(np.float32)
    tri_a = np.tri(n, n, dtype=bool)
    t_ac = median_time(lambda: add(xa, xa, xa, is_causal=True), budget)
    t_ad = median_time(lambda: add(xa, xa, xa, attn_mask=tri_a), budget)
    np.testing.assert_allclose(add(xa, xa, xa, is_causal=True), add(xa, xa, xa, attn_mask=tri_a),
                               rtol=1e-4, atol=1e-5)
    out.append(("additive", f"float32 B={B} L=S={n} hidden=32 causal", {
        "is_causal": t_ac, "causal as a dense mask": t_ad},
        [("dense mask / is_causal", t_ad / t_ac, "at most 2 (half the tanh scores)")]))
    return out


def table(results):
    lines = ["| group | case | times | ratio | value | note |",
             "| --- | --- | --- | --- | ---: | --- |"]
    for group, name, times, ratios in results:
        ts = "; ".join(f"{k} {v * 1e3:.2f} ms" for k, v in times.items())
        for i, (what, r, note) in enumerate(ratios):
            lines.append(f"| {group if i == 0 else ''} | {name if i == 0 else ''} | "
                         f"{ts if i == 0 else ''} | {what} | {r:.2f} | {note} |")
    return "\n".join(lines)
