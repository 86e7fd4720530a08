"""A multi-head attention layer in inference: B=8, N=512, E=512, H=8, no weights; plain and
causal."""
import numpy as np

import cattn
from common import Case


def numpy_mha(x, sd, H, causal=False, saved=None):
    """NumPy's composite of the same layer (PyTorch's parameter layout); `saved`, a dict, gets the
    per-head q, k, v, weights p, outputs o and their concatenation (for a backward)."""
    E = x.shape[-1]
    d = E // H
    qkv = x @ sd["in_proj_weight"].T + sd["in_proj_bias"]
    q, k, v = (qkv[..., i * E:(i + 1) * E].reshape(*x.shape[:-1], H, d).swapaxes(-2, -3)
               for i in range(3))
    s = q @ k.swapaxes(-1, -2) / np.sqrt(d)
    if causal:
        s = np.where(np.tri(s.shape[-2], s.shape[-1], dtype=bool), s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    p = e / e.sum(-1, keepdims=True)
    o = p @ v
    cat = o.swapaxes(-2, -3).reshape(x.shape)
    if saved is not None:
        saved.update(q=q, k=k, v=v, p=p, o=o, cat=cat)
    return cat @ sd["out_proj.weight"].T + sd["out_proj.bias"]


def layer(quick):
    """The measured layer: ((B, N, E, H), the cattn module, its state dict, the generator)."""
    B, N, E, H = (2, 256, 512, 8) if quick else (8, 512, 512, 8)
    rng = np.random.default_rng(0)
    mha = cattn.MultiHeadAttention(E, H, seed=0)
    sd = {k: v + 0.01 * rng.standard_normal(v.shape).astype(np.float32)
          for k, v in mha.state_dict().items()}
    mha.load_state_dict(sd)
    return (B, N, E, H), mha, sd, rng


def cases(quick, torch):
    (B, N, E, H), mha, sd, rng = layer(quick)
    x = rng.standard_normal((B, N, E)).astype(np.float32)
    d = E // H
    sd64 = {k: v.astype(np.float64) for k, v in sd.items()}
    for causal in (False, True):
        funcs = {"cattn": lambda c=causal: mha(x, is_causal=c),
                 "numpy": lambda c=causal: numpy_mha(x, sd, H, c)}
        if torch is not None:
            t = torch.nn.MultiheadAttention(E, H, batch_first=True)
            t.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
            t.eval()
            tx = torch.from_numpy(x)
            tmask = torch.nn.Transformer.generate_square_subsequent_mask(N) if causal else None

            def run_torch(t=t, tx=tx, tmask=tmask, c=causal):
                with torch.inference_mode():
                    return t(tx, tx, tx, need_weights=False, attn_mask=tmask, is_causal=c)[0]
            funcs["torch"] = run_torch
        # causal: GFLOP/s count only the attended half of the attention
        flops = 2.0 * B * N * E * 3 * E + 4.0 * B * H * N * N * d * (0.5 if causal else 1) + \
            2.0 * B * N * E * E
        yield Case("mha", f"float32 B={B} N={N} E={E} H={H}{' causal' if causal else ''}", funcs,
                   lambda c=causal: numpy_mha(x.astype(np.float64), sd64, H, c), flops=flops,
                   rtol=1e-4, atol=1e-4)
