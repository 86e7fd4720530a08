"""Regenerate tests/data/sdpa_golden.npz from PyTorch (pip install torch==2.13.0).

Each case stores q, k, v, optional mask, is_causal, scale (NaN = default) and PyTorch's output of
torch.nn.functional.scaled_dot_product_attention. The tests read the file and need no torch.
Run: python scripts/make_golden.py
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "sdpa_golden.npz")


def cases():
    rng = np.random.default_rng(2024)
    for dtype in (np.float32, np.float64):
        dn = np.dtype(dtype).name
        for B, H, L, S, E, Ev in [(1, 1, 4, 4, 8, 8), (2, 3, 5, 7, 16, 12), (1, 2, 70, 90, 32, 32)]:
            q = rng.standard_normal((B, H, L, E)).astype(dtype)
            k = rng.standard_normal((B, H, S, E)).astype(dtype)
            v = rng.standard_normal((B, H, S, Ev)).astype(dtype)
            tag = f"{dn}_{B}x{H}x{L}x{S}x{E}x{Ev}"
            yield f"plain_{tag}", dict(q=q, k=k, v=v)
            yield f"scale_{tag}", dict(q=q, k=k, v=v, scale=0.3)
            yield f"causal_{tag}", dict(q=q, k=k, v=v, is_causal=True)
            bmask = rng.random((L, S)) < 0.6
            bmask[:, 0] = True  # PyTorch gives NaN for fully masked rows; cattn gives zeros
            yield f"boolmask_{tag}", dict(q=q, k=k, v=v, mask=bmask)
            fmask = rng.standard_normal((B, 1, L, S)).astype(dtype)
            yield f"floatmask_{tag}", dict(q=q, k=k, v=v, mask=fmask)


def main():
    arrays = {}
    for name, c in cases():
        t = {n: torch.from_numpy(np.ascontiguousarray(c[n])) for n in ("q", "k", "v")}
        kw = {}
        if "mask" in c:
            kw["attn_mask"] = torch.from_numpy(c["mask"])
        if c.get("is_causal"):
            kw["is_causal"] = True
        if "scale" in c:
            kw["scale"] = c["scale"]
        out = F.scaled_dot_product_attention(t["q"], t["k"], t["v"], **kw).numpy()
        for n in ("q", "k", "v", "mask"):
            if n in c:
                arrays[f"{name}/{n}"] = c[n]
        arrays[f"{name}/is_causal"] = np.array(bool(c.get("is_causal")))
        arrays[f"{name}/scale"] = np.array(c.get("scale", np.nan))
        arrays[f"{name}/out"] = out
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {len(arrays)} arrays to {os.path.relpath(OUT)} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
