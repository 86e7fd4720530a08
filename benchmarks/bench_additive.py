"""Additive (Bahdanau) attention, forward and forward+backward: cattn (its C scores kernels,
the (L, S, hidden) tanh never held) against d2l's formula in NumPy and in PyTorch, which build the
(B, L, S, hidden) tensor of tanh features.  The forward's result checked is the output, the
backward's the query's gradient."""
import numpy as np

import cattn
from common import Case


def numpy_additive(q, k, v, Wq, Wk, wv, g=None):
    """d2l's formula with the (B, L, S, h) features in memory; with g, the query's gradient."""
    qp, kp = q @ Wq.T, k @ Wk.T
    u = np.tanh(qp[:, :, None, :] + kp[:, None, :, :])
    s = u @ wv[0]
    e = np.exp(s - s.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    out = p @ v
    if g is None:
        return out
    dp = g @ np.swapaxes(v, -1, -2)
    ds = p * (dp - (dp * p).sum(-1, keepdims=True))
    da = ds[..., None] * wv[0] * (1 - u * u)
    return da.sum(2) @ Wq


def cases(quick, torch):
    rng = np.random.default_rng(0)
    shapes = [(64, 10, 30, 64)] if quick else [(128, 10, 30, 64), (16, 128, 128, 64)]
    for B, L, S, h in shapes:
        D = h
        q = rng.standard_normal((B, L, D)).astype(np.float32)
        k, v = (rng.standard_normal((B, S, D)).astype(np.float32) for _ in range(2))
        g = rng.standard_normal((B, L, D)).astype(np.float32)
        Wq, Wk = (rng.uniform(-0.125, 0.125, (h, D)).astype(np.float32) for _ in range(2))
        wv = rng.uniform(-0.125, 0.125, (1, h)).astype(np.float32)
        args = (q, k, v, Wq, Wk, wv)
        a64 = [x.astype(np.float64) for x in args]
        tag = f"float32 B={B} L={L} S={S} hidden={h}"
        flops = 2.0 * B * L * S * h * 12  # a tanh and a multiply-add per feature (~24 flops)
        fwd = {"cattn": lambda: cattn.additive_attention(*args),
               "numpy": lambda: numpy_additive(*args)}

        def c_fb():
            _, pullback = cattn.vjp(cattn.additive_attention, *args)
            return pullback(g)[0]
        fb = {"cattn": c_fb, "numpy": lambda: numpy_additive(*args, g)}
        if torch is not None:
            tq, tk, tv, tWq, tWk, twv = (torch.tensor(x, requires_grad=True) for x in args)
            tg = torch.from_numpy(g)

            def t_fwd():
                s = (torch.tanh((tq @ tWq.T)[:, :, None] + (tk @ tWk.T)[:, None]) @ twv.T)[..., 0]
                return torch.softmax(s, -1) @ tv
            fwd["torch"] = lambda: t_fwd().detach()
            fb["torch"] = lambda: torch.autograd.grad(t_fwd(), (tq, tk, tv, tWq, tWk, twv), tg)[0]
        yield Case("additive", f"additive fwd {tag}", fwd, lambda: numpy_additive(*a64),
                   flops=flops, rtol=1e-3, atol=1e-4)
        yield Case("additive", f"additive fwd+bwd {tag}", fb,
                   lambda: numpy_additive(*a64, g.astype(np.float64)), flops=3 * flops,
                   rtol=1e-3, atol=1e-4)
