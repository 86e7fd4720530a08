"""Regenerate tests/data/mha_golden.npz from torch.nn.MultiheadAttention (batch_first=True).

Each case stores the module's configuration and state_dict, the inputs, masks and PyTorch's
outputs and weights. The tests read the file and need no torch. Run:
    pip install torch==2.13.0 && python scripts/make_golden_mha.py
"""
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "mha_golden.npz")


def cases():
    # name, embed_dim, heads, kdim, vdim, bias, batch shape, L, S, self-attention, extras
    yield "self_batched", 16, 4, None, None, True, (3,), 5, 5, True, {}
    yield "self_unbatched", 16, 2, None, None, True, (), 6, 6, True, {}
    yield "cross", 24, 3, None, None, True, (2,), 4, 9, False, {}
    yield "kdim_vdim", 16, 4, 6, 10, True, (2,), 5, 7, False, {}
    yield "no_bias", 16, 4, None, None, False, (2,), 5, 7, False, {}
    yield "bool_mask", 16, 4, None, None, True, (2,), 5, 7, False, {"mask": "bool"}
    yield "float_mask", 16, 4, None, None, True, (2,), 5, 7, False, {"mask": "float"}
    yield "head_mask", 16, 4, None, None, True, (2,), 5, 7, False, {"mask": "head"}
    yield "key_lengths", 16, 4, None, None, True, (3,), 5, 7, False, {"key_lengths": [7, 3, 1]}
    yield "causal", 16, 4, None, None, True, (2,), 6, 6, True, {"causal": True}


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    arrays, meta = {}, {}
    for dtype, tdt in ((np.float32, torch.float32), (np.float64, torch.float64)):
        for name, E, H, kdim, vdim, bias, batch, L, S, self_attn, extra in cases():
            key = f"{name}_{np.dtype(dtype).name}"
            m = torch.nn.MultiheadAttention(E, H, kdim=kdim, vdim=vdim, bias=bias,
                                            batch_first=True, dtype=tdt)
            x = rng.standard_normal((*batch, L, E)).astype(dtype)
            kx = x if self_attn else rng.standard_normal((*batch, S, kdim or E)).astype(dtype)
            vx = x if self_attn else rng.standard_normal((*batch, S, vdim or E)).astype(dtype)
            kw, ours = {}, {}
            if extra.get("mask") == "bool":
                allowed = rng.random((L, S)) < 0.6
                allowed[:, 0] = True
                kw["attn_mask"] = torch.from_numpy(~allowed)  # PyTorch: True = masked out
                ours["attn_mask"] = allowed
            elif extra.get("mask") == "float":
                fm = rng.standard_normal((L, S)).astype(dtype)
                kw["attn_mask"] = torch.from_numpy(fm)
                ours["attn_mask"] = fm
            elif extra.get("mask") == "head":
                allowed = rng.random((*batch, H, L, S)) < 0.6
                allowed[..., 0] = True
                kw["attn_mask"] = torch.from_numpy(~allowed.reshape(-1, L, S))
                ours["attn_mask"] = allowed
            if "key_lengths" in extra:
                kl = np.array(extra["key_lengths"])
                kw["key_padding_mask"] = torch.from_numpy(np.arange(S) >= kl[:, None])
                ours["key_lengths"] = kl
            if extra.get("causal"):
                kw["attn_mask"] = torch.from_numpy(~np.tri(L, S, dtype=bool))
                kw["is_causal"] = True
                ours["is_causal"] = np.array(True)
            with torch.no_grad():
                out, w = m(torch.from_numpy(x), torch.from_numpy(kx), torch.from_numpy(vx),
                           need_weights=True, average_attn_weights=False, **kw)
                _, wavg = m(torch.from_numpy(x), torch.from_numpy(kx), torch.from_numpy(vx),
                            need_weights=True, average_attn_weights=True, **kw)
            meta[key] = dict(embed_dim=E, num_heads=H, kdim=kdim, vdim=vdim, bias=bias,
                             self_attention=self_attn, dtype=np.dtype(dtype).name)
            for pname, p in m.state_dict().items():
                arrays[f"{key}/param/{pname}"] = p.numpy()
            arrays[f"{key}/query"], arrays[f"{key}/key"], arrays[f"{key}/value"] = x, kx, vx
            for n, a in ours.items():
                arrays[f"{key}/kw/{n}"] = a
            arrays[f"{key}/out"] = out.numpy()
            arrays[f"{key}/weights"] = w.numpy().reshape(*batch, H, L, S)
            arrays[f"{key}/weights_avg"] = wavg.numpy()
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {len(meta)} cases to {os.path.relpath(OUT)} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
