"""Regenerate tests/data/grad_golden.npz from PyTorch 2.13's autograd (pip install torch==2.13.0).

Two families of cases, each storing its inputs, the gradient of the output it was pulled back
with (dout) and PyTorch's gradients:
  sdpa/...  torch.nn.functional.scaled_dot_product_attention -- boolean, float and causal masks,
            broadcast batch dims (the key/value broadcast over heads, the mask over the batch),
            L != S, Ev != E; the float mask's gradient too;
  mha/...   torch.nn.MultiheadAttention(batch_first=True) with a random state dict (biases not
            zero), self- and cross-attention, kdim/vdim != embed_dim, masks, causal.
float32 and float64.  The tests read the file and need no torch.
Run: python scripts/make_golden_grad.py
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "data", "grad_golden.npz")


def sdpa_cases(rng):
    for dtype in (np.float32, np.float64):
        dn = np.dtype(dtype).name
        for B, H, L, S, E, Ev in [(2, 2, 5, 7, 8, 6), (1, 2, 70, 110, 16, 8), (2, 1, 100, 100, 16, 16)]:
            q = rng.standard_normal((B, H, L, E)).astype(dtype)
            k = rng.standard_normal((1, H, S, E)).astype(dtype)   # broadcast over the batch
            v = rng.standard_normal((1, H, S, Ev)).astype(dtype)
            tag = f"{dn}_{B}x{H}x{L}x{S}x{E}x{Ev}"
            yield f"plain_{tag}", dict(q=q, k=k, v=v)
            yield f"scale_{tag}", dict(q=q, k=k, v=v, scale=0.3)
            if L <= S:
                yield f"causal_{tag}", dict(q=q, k=k, v=v, is_causal=True)
            bmask = rng.random((L, S)) < 0.6
            bmask[:, 0] = True  # PyTorch gives NaN for a row with no key; cattn gives zeros
            yield f"boolmask_{tag}", dict(q=q, k=k, v=v, mask=bmask)
            fmask = rng.standard_normal((B, 1, L, S)).astype(dtype)  # broadcast over heads
            yield f"floatmask_{tag}", dict(q=q, k=k, v=v, mask=fmask)


def sdpa_golden(arrays, rng):
    for name, c in sdpa_cases(rng):
        t = {n: torch.tensor(c[n], requires_grad=True) for n in ("q", "k", "v")}
        kw = {}
        if "mask" in c:
            m = torch.tensor(c["mask"], requires_grad=c["mask"].dtype != bool)
            kw["attn_mask"] = m
        kw["is_causal"] = bool(c.get("is_causal", False))
        if "scale" in c:
            kw["scale"] = c["scale"]
        out = F.scaled_dot_product_attention(t["q"], t["k"], t["v"], **kw)
        dout = rng.standard_normal(out.shape).astype(c["q"].dtype)
        out.backward(torch.tensor(dout))
        for n, a in c.items():
            arrays[f"sdpa/{name}/{n}"] = np.asarray(a)
        arrays[f"sdpa/{name}/dout"] = dout
        for n in ("q", "k", "v"):
            arrays[f"sdpa/{name}/d{n}"] = t[n].grad.numpy()
        if "mask" in c and c["mask"].dtype != bool:
            arrays[f"sdpa/{name}/dmask"] = kw["attn_mask"].grad.numpy()


def mha_golden(arrays, rng):
    for dtype in (np.float32, np.float64):
        dn = np.dtype(dtype).name
        tdt = torch.float32 if dtype == np.float32 else torch.float64
        for E, H, kdim, vdim, B, L, S, how in [
                (16, 4, None, None, 2, 9, 9, "self"), (16, 4, None, None, 2, 9, 9, "causal"),
                (24, 3, 10, 14, 2, 7, 11, "cross"), (24, 3, 10, 14, 2, 7, 11, "boolmask"),
                (32, 8, None, None, 1, 40, 40, "floatmask")]:
            torch.manual_seed(int(rng.integers(1 << 30)))
            m = torch.nn.MultiheadAttention(E, H, kdim=kdim, vdim=vdim, batch_first=True,
                                            dtype=tdt)
            with torch.no_grad():
                for p in m.parameters():
                    p.copy_(torch.randn_like(p) * 0.3)
            x = rng.standard_normal((B, L, E)).astype(dtype)
            xk = rng.standard_normal((B, S, kdim or E)).astype(dtype)
            xv = rng.standard_normal((B, S, vdim or E)).astype(dtype)
            name = f"{how}_{dn}_E{E}_H{H}"
            tq = torch.tensor(x, requires_grad=True)
            cross = how in ("cross", "boolmask")
            tk = torch.tensor(xk, requires_grad=True) if cross else tq
            tv = torch.tensor(xv, requires_grad=True) if cross else tq
            kw, meta = {}, {"E": E, "H": H, "kdim": kdim, "vdim": vdim, "how": how}
            if how == "causal":
                kw["attn_mask"] = torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=tdt)
                kw["is_causal"] = True
            elif how == "boolmask":
                bm = rng.random((L, S)) < 0.6
                bm[:, 0] = True
                kw["attn_mask"] = torch.tensor(~bm)  # PyTorch's: True = may NOT attend
                arrays[f"mha/{name}/mask"] = bm
            elif how == "floatmask":
                fm = rng.standard_normal((L, S)).astype(dtype)
                kw["attn_mask"] = torch.tensor(fm)
                arrays[f"mha/{name}/mask"] = fm
            y, _ = m(tq, tk, tv, need_weights=False, **kw)
            dout = rng.standard_normal(y.shape).astype(dtype)
            y.backward(torch.tensor(dout))
            arrays[f"mha/{name}/meta"] = np.array(json.dumps(meta))
            arrays[f"mha/{name}/x"] = x
            arrays[f"mha/{name}/dout"] = dout
            arrays[f"mha/{name}/dx"] = tq.grad.numpy()
            if cross:
                arrays[f"mha/{name}/xk"], arrays[f"mha/{name}/xv"] = xk, xv
                arrays[f"mha/{name}/dxk"] = tk.grad.numpy()
                arrays[f"mha/{name}/dxv"] = tv.grad.numpy()
            for pn, p in m.named_parameters():
                arrays[f"mha/{name}/param/{pn}"] = p.detach().numpy()
                arrays[f"mha/{name}/grad/{pn}"] = p.grad.numpy()


def main():
    rng = np.random.default_rng(2026)
    arrays = {}
    sdpa_golden(arrays, rng)
    mha_golden(arrays, rng)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT}: {len(arrays)} arrays, {os.path.getsize(OUT) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
