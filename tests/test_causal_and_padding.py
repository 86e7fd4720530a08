"""is_causal beside attn_mask (JAX's rule: both apply) and PyTorch's key_padding_mask on the
layers (True = ignore the key), issue 23: the combinations a single call description gives.
Each is checked against the same call written with one combined mask, and against PyTorch when
it is installed."""
import numpy as np
import pytest

import cattn

R = np.random.default_rng(21)
L = 5
TRI = np.tri(L, dtype=bool)
BOOL = R.random((L, L)) < 0.75
FLOAT = np.where(BOOL, R.standard_normal((L, L)), -np.inf)
sdpa = cattn.scaled_dot_product_attention


def combined(mask):
    return mask & TRI if mask.dtype == bool else np.where(TRI, mask, -np.inf)


@pytest.mark.parametrize("mask", [BOOL, FLOAT], ids=["bool", "float"])
def test_sdpa_causal_with_a_mask(mask):
    q, k, v = (R.standard_normal((2, 3, L, 4)) for _ in range(3))
    np.testing.assert_allclose(sdpa(q, k, v, mask, is_causal=True),
                               sdpa(q, k, v, combined(mask)), atol=1e-12)
    # every feature path: soft cap, key lengths, grouped-query heads
    kw = dict(softcap=20.0, key_lengths=np.array([5, 3])[:, None])
    np.testing.assert_allclose(sdpa(q, k, v, mask, is_causal=True, **kw),
                               sdpa(q, k, v, combined(mask), **kw), atol=1e-12)
    assert cattn.gradcheck(sdpa, q[:1, :1], k[:1, :1], v[:1, :1], mask, is_causal=True)


def test_sdpa_causal_with_a_structured_mask():
    q, k, v = (R.standard_normal((2, L, 4)) for _ in range(3))
    w = cattn.sliding_window(L, L, 1, 2)
    np.testing.assert_allclose(sdpa(q, k, v, w, is_causal=True),
                               sdpa(q, k, v, np.asarray(w) & TRI), atol=1e-12)


@pytest.mark.parametrize("layer", ["mha", "attention", "plain", "additive"])
@pytest.mark.parametrize("mask", [BOOL, FLOAT], ids=["bool", "float"])
def test_layers_causal_with_a_mask(layer, mask):
    m = {"mha": lambda: cattn.MultiHeadAttention(8, 2, seed=0, dtype=np.float64),
         "attention": lambda: cattn.Attention(8, seed=0, dtype=np.float64),
         "plain": lambda: cattn.Attention(),
         "additive": lambda: cattn.AdditiveAttention(8, 8, 4, seed=0, dtype=np.float64)}[layer]()
    x = R.standard_normal((3, L, 8))
    np.testing.assert_allclose(m(x, attn_mask=mask, is_causal=True),
                               m(x, attn_mask=combined(mask)), atol=1e-12)
    y, pb = m.vjp(x, attn_mask=mask, is_causal=True)
    y2, pb2 = m.vjp(x, attn_mask=combined(mask))
    g = R.standard_normal(y.shape)
    np.testing.assert_allclose(pb(g)[0], pb2(g)[0], atol=1e-12)


PAD = np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 1, 0, 0, 1]], bool)


@pytest.mark.parametrize("layer", ["mha", "gqa", "attention", "plain", "additive"])
def test_key_padding_mask_is_pytorchs(layer):
    """True = ignore: the same as attn_mask=~pad (cattn's polarity) and, for right padding,
    as key_lengths; combined with attn_mask and with is_causal."""
    m = {"mha": lambda: cattn.MultiHeadAttention(8, 2, seed=0, dtype=np.float64),
         "gqa": lambda: cattn.MultiHeadAttention(8, 4, num_kv_heads=2, seed=0, dtype=np.float64),
         "attention": lambda: cattn.Attention(8, seed=0, dtype=np.float64),
         "plain": lambda: cattn.Attention(),
         "additive": lambda: cattn.AdditiveAttention(8, 8, 4, seed=0, dtype=np.float64)}[layer]()
    x = R.standard_normal((3, L, 8))
    np.testing.assert_allclose(m(x, key_padding_mask=PAD),
                               m(x, attn_mask=~PAD[:, None, :]), atol=1e-12)
    right = np.arange(L) >= np.array([3, 5, 4])[:, None]
    np.testing.assert_allclose(m(x, key_padding_mask=right),
                               m(x, key_lengths=np.array([3, 5, 4])), atol=1e-12)
    np.testing.assert_allclose(m(x, key_padding_mask=PAD, attn_mask=BOOL, is_causal=True),
                               m(x, attn_mask=BOOL & TRI & ~PAD[:, None, :]), atol=1e-12)
    fpad = np.where(PAD, -2.0, 0.5)
    np.testing.assert_allclose(m(x, key_padding_mask=fpad, attn_mask=FLOAT),
                               m(x, attn_mask=FLOAT + fpad[:, None, :]), atol=1e-12)
    y, pb = m.vjp(x, key_padding_mask=PAD)
    y2, pb2 = m.vjp(x, attn_mask=~PAD[:, None, :])
    g = R.standard_normal(y.shape)
    np.testing.assert_allclose(pb(g)[0], pb2(g)[0], atol=1e-12)
    np.testing.assert_allclose(m.steps(x, key_padding_mask=PAD).output,
                               m(x, key_padding_mask=PAD), atol=1e-12)


def test_key_padding_mask_matches_pytorch():
    torch = pytest.importorskip("torch")
    m = cattn.MultiHeadAttention(8, 2, batch_first=True, seed=0, dtype=np.float64)
    t = torch.nn.MultiheadAttention(8, 2, batch_first=True, dtype=torch.float64)
    t.load_state_dict({k: torch.tensor(v) for k, v in m.state_dict().items()})
    x = R.standard_normal((3, L, 8))
    am = BOOL | np.eye(L, dtype=bool)
    ours, w = m(x, x, x, key_padding_mask=PAD, attn_mask=am)
    theirs, tw = t(*(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(PAD),
                   attn_mask=torch.tensor(~am))  # PyTorch's boolean attn_mask: True = ignore
    np.testing.assert_allclose(ours, theirs.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(w, tw.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("bad,err,msg", [
    (np.ones((3, L), int), TypeError, r"MultiHeadAttention: key_padding_mask has dtype int64"),
    (np.array(True), ValueError, r"key_padding_mask must be \(\.\.\., S\), got shape \(\)"),
    (np.ones((3, 4), bool), ValueError, r"key_padding_mask of shape \(3, 4\) has 4 keys but attn_mask"),
])
def test_bad_key_padding_mask(bad, err, msg):
    m = cattn.MultiHeadAttention(8, 2, seed=0)
    x = R.standard_normal((3, L, 8)).astype(np.float32)
    with pytest.raises(err, match=msg):
        m(x, key_padding_mask=bad, attn_mask=BOOL)
