"""Golden data for tests/test_additive.py and tests/test_nn.py from PyTorch 2.13 (CPU, float64):

- additive attention by d2l.ai's formula, re-implemented in PyTorch (``AdditiveAttention``:
  ``w_v(tanh(W_q(q)[:, :, None] + W_k(k)[:, None]))``, masked softmax by valid lengths, bmm),
  and the autograd gradients of every input and weight;
- torch.nn.Linear, LayerNorm, Embedding (padding_idx), F.cross_entropy (ignore_index) forward
  and backward; torch.optim.SGD (momentum) and Adam (weight decay) over five steps.

    pip install torch==2.13.0 && python scripts/make_golden_lessons.py
"""
import os

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "lessons_golden.npz")


def t(x, grad=True):
    return torch.tensor(x, dtype=torch.float64, requires_grad=grad)


def main():
    rng = np.random.default_rng(2026)
    g = {}
    # additive attention, d2l's formula with valid lengths
    B, L, S, Dq, Dk, Dv, h = 2, 3, 5, 4, 6, 3, 7
    arrays = {"query": (B, L, Dq), "key": (B, S, Dk), "value": (B, S, Dv), "W_q": (h, Dq),
              "W_k": (h, Dk), "w_v": (1, h)}
    ts = {}
    for name, shape in arrays.items():
        g["add_" + name] = rng.standard_normal(shape)
        ts[name] = t(g["add_" + name])
    lens = np.array([3, 5])
    g["add_key_lengths"] = lens
    feats = torch.tanh((ts["query"] @ ts["W_q"].T)[:, :, None, :] +
                       (ts["key"] @ ts["W_k"].T)[:, None, :, :])
    scores = (feats @ ts["w_v"].T)[..., 0]
    valid = torch.arange(S)[None, None, :] < torch.tensor(lens)[:, None, None]
    scores = scores.masked_fill(~valid, -1e6)  # d2l's masked_softmax
    w = torch.softmax(scores, dim=-1)
    out = w @ ts["value"]
    gout = rng.standard_normal(out.shape)
    out.backward(torch.tensor(gout))
    g["add_grad_out"], g["add_out"], g["add_weights"] = gout, out.detach().numpy(), w.detach().numpy()
    for name in arrays:
        g["add_d_" + name] = ts[name].grad.numpy()

    # Linear
    lin = torch.nn.Linear(5, 3).double()
    x = t(rng.standard_normal((2, 4, 5)))
    y = lin(x)
    gy = rng.standard_normal(y.shape)
    y.backward(torch.tensor(gy))
    g.update(lin_weight=lin.weight.detach().numpy(), lin_bias=lin.bias.detach().numpy(),
             lin_x=x.detach().numpy(), lin_y=y.detach().numpy(), lin_gy=gy,
             lin_dx=x.grad.numpy(), lin_dweight=lin.weight.grad.numpy(),
             lin_dbias=lin.bias.grad.numpy())
    # LayerNorm with non-trivial affine parameters
    ln = torch.nn.LayerNorm(5).double()
    with torch.no_grad():
        ln.weight.copy_(torch.tensor(rng.standard_normal(5)))
        ln.bias.copy_(torch.tensor(rng.standard_normal(5)))
    x = t(rng.standard_normal((2, 4, 5)) * 3 + 1)
    y = ln(x)
    gy = rng.standard_normal(y.shape)
    y.backward(torch.tensor(gy))
    g.update(ln_weight=ln.weight.detach().numpy(), ln_bias=ln.bias.detach().numpy(),
             ln_x=x.detach().numpy(), ln_y=y.detach().numpy(), ln_gy=gy, ln_dx=x.grad.numpy(),
             ln_dweight=ln.weight.grad.numpy(), ln_dbias=ln.bias.grad.numpy())
    # Embedding with a padding row
    emb = torch.nn.Embedding(7, 3, padding_idx=0).double()
    idx = rng.integers(0, 7, (4, 5))
    y = emb(torch.tensor(idx))
    gy = rng.standard_normal(y.shape)
    y.backward(torch.tensor(gy))
    g.update(emb_weight=emb.weight.detach().numpy(), emb_idx=idx, emb_gy=gy,
             emb_dweight=emb.weight.grad.numpy())
    # cross_entropy, classes last, one ignored target
    z = t(rng.standard_normal((3, 4, 6)))
    tg = rng.integers(0, 6, (3, 4))
    tg[0, 1] = -100
    loss = torch.nn.functional.cross_entropy(z.reshape(-1, 6), torch.tensor(tg).reshape(-1))
    loss.backward()
    g.update(ce_logits=z.detach().numpy(), ce_targets=tg, ce_loss=loss.item(),
             ce_dlogits=z.grad.numpy())
    # optimisers: five steps on sum(Linear(x)^2)
    xs = rng.standard_normal((5, 4, 5))
    g["opt_x"] = xs
    for name, make in (("sgd", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
                       ("adam", lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1))):
        lin = torch.nn.Linear(5, 3).double()
        g[f"{name}_weight0"] = lin.weight.detach().numpy().copy()
        g[f"{name}_bias0"] = lin.bias.detach().numpy().copy()
        opt = make(lin.parameters())
        for x in xs:
            opt.zero_grad()
            (lin(torch.tensor(x)) ** 2).sum().backward()
            opt.step()
        g[f"{name}_weight5"] = lin.weight.detach().numpy()
        g[f"{name}_bias5"] = lin.bias.detach().numpy()
    g["torch_version"] = np.array(torch.__version__)
    np.savez_compressed(OUT, **g)
    print("wrote", os.path.normpath(OUT), len(g), "arrays")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
