"""Gradients: attention forward+backward and backward alone, a multi-head training step, softmax's
backward.  cattn through cattn.vjp (the C backward kernels); NumPy through the textbook formulas
with the full (L, S) matrices; PyTorch through autograd.  Each result checked is dq (or dx)."""
import numpy as np

import cattn
from bench_mha import layer, numpy_mha
from common import Case


def numpy_sdpa_grads(q, k, v, dout, causal=False):
    """NumPy's forward and backward, materialising the (L, S) probabilities; returns dq."""
    scale = 1 / np.sqrt(q.shape[-1])
    s = scale * q @ np.swapaxes(k, -1, -2)
    if causal:
        s = np.where(np.tri(s.shape[-2], s.shape[-1], dtype=bool), s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    out = p @ v
    dp = dout @ np.swapaxes(v, -1, -2)
    ds = p * (dp - (dout * out).sum(axis=-1, keepdims=True))
    _ = np.swapaxes(p, -1, -2) @ dout, scale * np.swapaxes(ds, -1, -2) @ q  # dv, dk
    return scale * ds @ k


def sdpa_cases(quick, torch):
    rng = np.random.default_rng(0)
    shapes = [(8, 8, 512, 64)] if quick else [(8, 8, 512, 64), (4, 8, 2048, 64)]
    for B, H, N, D in shapes:
        q, k, v, g = (rng.standard_normal((B, H, N, D)).astype(np.float32) for _ in range(4))
        for causal in (False, True):
            tag = f"float32 {(B, H, N, D)}{' causal' if causal else ''}"
            half = 0.5 if causal else 1.0

            def c_fb(c=causal, q=q, k=k, v=v, g=g):
                _, pullback = cattn.vjp(cattn.scaled_dot_product_attention, q, k, v, is_causal=c)
                return pullback(g)[0]
            funcs = {"cattn": c_fb, "numpy": lambda c=causal, q=q, k=k, v=v, g=g:
                     numpy_sdpa_grads(q, k, v, g, c)}
            if torch is not None:
                tq, tk, tv = (torch.tensor(x, requires_grad=True) for x in (q, k, v))
                tg = torch.from_numpy(g)

                def t_fb(c=causal, tq=tq, tk=tk, tv=tv, tg=tg):
                    y = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=c)
                    return torch.autograd.grad(y, (tq, tk, tv), tg)[0]
                funcs["torch"] = t_fb
            ref = (lambda c=causal, q=q, k=k, v=v, g=g:
                   numpy_sdpa_grads(*(t.astype(np.float64) for t in (q, k, v, g)), c))
            yield Case("backward", f"SDPA fwd+bwd {tag}", funcs, ref,
                       flops=14.0 * B * H * N * N * D * half, rtol=1e-3, atol=1e-4)
            # the backward alone: cattn's kernel from the saved lse; PyTorch's autograd on a
            # retained graph; NumPy's formulas from its saved probabilities
            fwd = cattn.causal_attention_with_lse if causal else cattn.attention_with_lse
            bwd = cattn.causal_attention_backward if causal else cattn.attention_backward
            o, lse = fwd(q, k, v, 1 / np.sqrt(D))
            funcs = {"cattn": lambda q=q, k=k, v=v, o=o, lse=lse, g=g, bwd=bwd:
                     bwd(q, k, v, o, lse, g, 1 / np.sqrt(D))[0]}
            s = (q @ np.swapaxes(k, -1, -2)) / np.sqrt(D)
            if causal:
                s = np.where(np.tri(N, N, dtype=bool), s, -np.inf)
            p = np.exp(s - s.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            del s

            def n_b(p=p, q=q, k=k, v=v, o=o, g=g):
                ds = p * (g @ np.swapaxes(v, -1, -2) - (g * o).sum(-1, keepdims=True))
                _ = np.swapaxes(p, -1, -2) @ g, np.swapaxes(ds, -1, -2) @ q / np.sqrt(D)
                return ds @ k / np.sqrt(D)
            funcs["numpy"] = n_b
            if torch is not None:
                tq, tk, tv = (torch.tensor(x, requires_grad=True) for x in (q, k, v))
                ty = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
                tg = torch.from_numpy(g)
                funcs["torch"] = lambda ty=ty, tq=tq, tk=tk, tv=tv, tg=tg: torch.autograd.grad(
                    ty, (tq, tk, tv), tg, retain_graph=True)[0]
            yield Case("backward", f"SDPA bwd only {tag}", funcs, ref,
                       flops=10.0 * B * H * N * N * D * half, rtol=1e-3, atol=1e-4)


def numpy_mha_step(x, sd, H, g):
    """NumPy's forward and backward of the layer (PyTorch's layout); returns dx."""
    E = x.shape[-1]
    d = E // H
    W, Wo = sd["in_proj_weight"], sd["out_proj.weight"]
    f = {}
    _ = numpy_mha(x, sd, H, saved=f)
    q, k, v, p, o, cat = f["q"], f["k"], f["v"], f["p"], f["o"], f["cat"]
    dcat = g @ Wo
    _ = (g.reshape(-1, E).T @ cat.reshape(-1, E), g.sum((0, 1)))  # dWo, dbo
    do = dcat.reshape(*x.shape[:-1], H, d).swapaxes(-2, -3)
    dp = do @ v.swapaxes(-1, -2)
    ds = p * (dp - (do * o).sum(-1, keepdims=True)) / np.sqrt(d)
    dq, dk, dv = ds @ k, ds.swapaxes(-1, -2) @ q, p.swapaxes(-1, -2) @ do
    dqkv = np.concatenate([t.swapaxes(-2, -3).reshape(x.shape) for t in (dq, dk, dv)], -1)
    _ = dqkv.reshape(-1, 3 * E).T @ x.reshape(-1, E), dqkv.sum((0, 1))  # dW, db
    return dqkv @ W


def mha_case(quick, torch):
    (B, N, E, H), mha, sd, rng = layer(quick)
    x, g = (rng.standard_normal((B, N, E)).astype(np.float32) for _ in range(2))

    def c_step():
        _, pullback = mha.vjp(x)
        return pullback(g)[0]
    funcs = {"cattn": c_step, "numpy": lambda: numpy_mha_step(x, sd, H, g)}
    if torch is not None:
        t = torch.nn.MultiheadAttention(E, H, batch_first=True)
        t.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
        tx, tg = torch.tensor(x, requires_grad=True), torch.from_numpy(g)

        def t_step():
            y, _ = t(tx, tx, tx, need_weights=False)
            return torch.autograd.grad(y, [tx] + list(t.parameters()), tg)[0]
        funcs["torch"] = t_step
    sd64 = {k: v.astype(np.float64) for k, v in sd.items()}
    d = E // H
    flops = 2.0 * B * N * E * E * 4 * 3 + 14.0 * B * H * N * N * d  # projections ×3, attention
    return Case("backward", f"MHA training step float32 B={B} N={N} E={E} H={H}", funcs,
                lambda: numpy_mha_step(x.astype(np.float64), sd64, H, g.astype(np.float64)),
                flops=flops, rtol=1e-3, atol=1e-4)


def softmax_case(quick, torch):
    shape = (16, 512, 512) if quick else (64, 512, 512)
    rng = np.random.default_rng(0)
    x, g = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    y = cattn.softmax(x)

    def n_b():
        return y * (g - (y * g).sum(-1, keepdims=True))
    funcs = {"cattn": lambda: cattn.softmax_backward(y, g), "numpy": n_b}
    if torch is not None:
        ty, tg = torch.from_numpy(y), torch.from_numpy(g)
        funcs["torch"] = lambda: torch.ops.aten._softmax_backward_data(tg, ty, -1, torch.float32)
    y64, g64 = y.astype(np.float64), g.astype(np.float64)
    return Case("backward", f"softmax bwd {shape} float32", funcs,
                lambda: y64 * (g64 - (y64 * g64).sum(-1, keepdims=True)), rtol=1e-4, atol=1e-6)


def cases(quick, torch):
    yield softmax_case(quick, torch)
    yield from sdpa_cases(quick, torch)
    yield mha_case(quick, torch)
