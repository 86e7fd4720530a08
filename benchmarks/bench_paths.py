"""cattn against itself: what keeping the mask kind down to the kernel buys.

- causal multi-head attention (is_causal: the kernel skips the masked blocks) against the same
  layer without a mask, and against causal given as a dense boolean (L, S) mask (the route
  cattn took before the mask kind reached the kernel);
- causal SDPA with the weights returned against causal SDPA alone plus the cost of writing the
  weights (a fresh (B, H, L, S) array filled once), the least that returning them can cost.
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
