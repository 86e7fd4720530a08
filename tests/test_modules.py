"""MultiHeadAttention and Attention: PyTorch's parameters, golden outputs, masks, errors."""
import json
import os

import numpy as np
import pytest

import cattn
import reference as ref

DATA = os.path.join(os.path.dirname(__file__), "data")


def golden():
    with np.load(os.path.join(DATA, "mha_golden.npz")) as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(str(data.pop("meta")))
    cases = []
    for name, m in sorted(meta.items()):
        pre = name + "/"
        sub = {k[len(pre):]: v for k, v in data.items() if k.startswith(pre)}
        cases.append(pytest.param(m, sub, id=name))
    return cases


@pytest.mark.parametrize("meta,case", golden())
def test_golden_pytorch(meta, case):
    dt = np.dtype(meta["dtype"])
    mha = cattn.MultiHeadAttention(meta["embed_dim"], meta["num_heads"], kdim=meta["kdim"],
                                   vdim=meta["vdim"], bias=meta["bias"], dtype=dt)
    mha.load_state_dict({k[len("param/"):]: v for k, v in case.items() if k.startswith("param/")})
    kw = {k[len("kw/"):]: v for k, v in case.items() if k.startswith("kw/")}
    if "is_causal" in kw:
        kw["is_causal"] = bool(kw["is_causal"])
    key = None if meta["self_attention"] else case["key"]
    value = None if meta["self_attention"] else case["value"]
    rtol, atol = (1e-5, 1e-5) if dt == np.float32 else (1e-10, 1e-10)
    out = mha(case["query"], key, value, **kw)
    assert out.dtype == dt
    np.testing.assert_allclose(out, case["out"], rtol, atol)
    out, w = mha(case["query"], key, value, need_weights=True, **kw)
    np.testing.assert_allclose(out, case["out"], rtol, atol)
    np.testing.assert_allclose(w, case["weights_avg"], rtol, atol)
    _, w = mha(case["query"], key, value, need_weights=True, average_attn_weights=False, **kw)
    np.testing.assert_allclose(w, case["weights"], rtol, atol)
    s = mha.steps(case["query"], key, value, **kw)
    np.testing.assert_allclose(s.output, case["out"], rtol, atol)
    np.testing.assert_allclose(s.weights, case["weights"], rtol, atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kdim,vdim,bias", [(None, None, True), (6, 10, True), (None, None, False)])
def test_live_pytorch(dtype, kdim, vdim, bias):
    """Runs when torch is installed (pip install torch==2.13.0); the golden file covers it else."""
    torch = pytest.importorskip("torch")
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    torch.manual_seed(1)
    t = torch.nn.MultiheadAttention(16, 4, kdim=kdim, vdim=vdim, bias=bias, batch_first=True,
                                    dtype=tdt)
    with torch.no_grad():  # non-zero biases, which PyTorch's initialisation leaves at zero
        for p in t.parameters():
            p.add_(0.1 * torch.randn_like(p))
    m = cattn.MultiHeadAttention(16, 4, kdim=kdim, vdim=vdim, bias=bias, dtype=dtype)
    m.load_state_dict(t.state_dict())  # PyTorch tensors straight in
    assert m.num_parameters == sum(p.numel() for p in t.parameters())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 16)).astype(dtype)
    kx = rng.standard_normal((2, 3, 7, kdim or 16)).astype(dtype)
    vx = rng.standard_normal((2, 3, 7, vdim or 16)).astype(dtype)
    mask = rng.random((5, 7)) < 0.7
    mask[:, 0] = True
    with torch.no_grad():
        to, tw = t(*(torch.from_numpy(a.reshape(6, *a.shape[2:])) for a in (x, kx, vx)),
                   attn_mask=torch.from_numpy(~mask), average_attn_weights=False)
    co, cw = m(x, kx, vx, attn_mask=mask, need_weights=True, average_attn_weights=False)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(co.reshape(6, 5, 16), to.numpy(), rtol, rtol)
    np.testing.assert_allclose(cw.reshape(6, 4, 5, 7), tw.numpy(), rtol, rtol)


def test_parameters_names_shapes_and_count():
    m = cattn.MultiHeadAttention(512, 8, seed=0)
    assert m.num_parameters == 1_050_624
    sd = m.state_dict()
    assert {k: v.shape for k, v in sd.items()} == {
        "in_proj_weight": (1536, 512), "in_proj_bias": (1536,),
        "out_proj.weight": (512, 512), "out_proj.bias": (512,)}
    assert all(v.dtype == np.float32 for v in sd.values())
    m2 = cattn.MultiHeadAttention(16, 4, kdim=6, vdim=10, bias=False, dtype=np.float64)
    assert sorted(m2.state_dict()) == ["k_proj_weight", "out_proj.weight", "q_proj_weight",
                                       "v_proj_weight"]
    assert m2.k_proj_weight.shape == (16, 6) and m2.v_proj_weight.shape == (16, 10)
    assert m2.num_parameters == 16 * 16 + 16 * 6 + 16 * 10 + 16 * 16
    assert "parameters=1,050,624" in repr(m) and "num_heads=8" in repr(m)


def test_initialisation_like_pytorch_and_seeded():
    a, b = cattn.MultiHeadAttention(64, 4, seed=3), cattn.MultiHeadAttention(64, 4, seed=3)
    c = cattn.MultiHeadAttention(64, 4, seed=4)
    np.testing.assert_array_equal(a.in_proj_weight, b.in_proj_weight)
    assert not np.array_equal(a.in_proj_weight, c.in_proj_weight)
    bound = np.sqrt(6 / (64 + 192))  # xavier_uniform on (3E, E)
    w = a.in_proj_weight
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01
    np.testing.assert_array_equal(a.in_proj_bias, 0)
    np.testing.assert_array_equal(a.state_dict()["out_proj.bias"], 0)
    assert np.abs(a.state_dict()["out_proj.weight"]).max() <= 1 / 8


def test_forward_matches_reference_and_batch_dims():
    m = cattn.MultiHeadAttention(12, 3, seed=0, dtype=np.float64)
    sd = m.state_dict()
    rng = np.random.default_rng(0)
    sd = {k: rng.standard_normal(v.shape) for k, v in sd.items()}
    m.load_state_dict(sd)
    wq, wk, wv, wo, bq, bk, bv, bo = m.head_weights()
    for shape in [(4, 12), (2, 4, 12), (2, 3, 4, 12)]:
        x = rng.standard_normal(shape)
        out = m(x)
        assert out.shape == shape
        np.testing.assert_allclose(out, ref.mha(x, x, x, wq, wk, wv, wo, bq, bk, bv, bo)[0], 1e-12)
    # cross-attention: a decoder (L = 4) attends an encoder (S = 6)
    dec, enc = rng.standard_normal((2, 4, 12)), rng.standard_normal((2, 6, 12))
    out, w = m(dec, enc, need_weights=True)
    np.testing.assert_allclose(out, ref.mha(dec, enc, enc, wq, wk, wv, wo, bq, bk, bv, bo)[0], 1e-12)
    assert w.shape == (2, 4, 6)
    np.testing.assert_allclose(w.sum(-1), 1, 1e-12)


def test_key_lengths_match_pytorch_key_padding_semantics():
    m = cattn.MultiHeadAttention(8, 2, seed=0, dtype=np.float64)
    rng = np.random.default_rng(1)
    x, enc = rng.standard_normal((3, 4, 8)), rng.standard_normal((3, 5, 8))
    kl = np.array([5, 2, 0])
    out, w = m(x, enc, key_lengths=kl, need_weights=True)
    for b in range(3):  # the same as cutting each sequence's keys
        if kl[b]:
            np.testing.assert_allclose(out[b], m(x[b], enc[b, :kl[b]]), 1e-12)
    np.testing.assert_array_equal(w[1, :, 2:], 0)
    np.testing.assert_array_equal(w[2], 0)  # no keys: zero weights, output is the bias only
    np.testing.assert_allclose(out[2], np.broadcast_to(m.state_dict()["out_proj.bias"], (4, 8)))
    # translating PyTorch's key_padding_mask (True = ignore) to attn_mask (True = may attend)
    key_padding_mask = np.arange(5) >= kl[:, None]
    out2 = m(x, enc, attn_mask=~key_padding_mask[:, None, :])
    np.testing.assert_allclose(out2, out, 1e-12)


def test_attention_without_parameters():
    a = cattn.Attention()
    assert a.num_parameters == 0 and "no parameters" in repr(a)
    rng = np.random.default_rng(2)
    dec, enc = rng.standard_normal((3, 8)), rng.standard_normal((5, 8))
    out, w = a(dec, enc, need_weights=True)
    want, w_want = ref.sdpa(dec, enc, enc)
    np.testing.assert_allclose(out, want, 1e-12)
    np.testing.assert_allclose(w, w_want, 1e-12)
    _, wh = a(dec, enc, need_weights=True, average_attn_weights=False)
    assert wh.shape == (1, 3, 5)
    np.testing.assert_allclose(a(dec, enc, is_causal=True), ref.sdpa(dec, enc, enc, is_causal=True)[0],
                               1e-12)
    s = a.steps(dec, enc)
    np.testing.assert_allclose(s.output, want, 1e-12)
    np.testing.assert_allclose(s.scores, dec @ enc.T, 1e-12)


def test_attention_one_head_equals_multihead_one_head():
    a = cattn.Attention(10, seed=5, dtype=np.float64)
    m = cattn.MultiHeadAttention(10, 1, dtype=np.float64)
    rng = np.random.default_rng(3)
    sd = {k: rng.standard_normal(v.shape) for k, v in a.state_dict().items()}
    a.load_state_dict(sd)
    m.load_state_dict(sd)
    x = rng.standard_normal((2, 4, 10))
    np.testing.assert_array_equal(a(x), m(x))
    kw = dict(attn_mask=rng.random((4, 4)) < 0.7, need_weights=True)
    np.testing.assert_array_equal(a(x, **kw)[1], m(x, **kw)[1])
    assert a.num_parameters == m.num_parameters == 4 * 100 + 4 * 10


@pytest.mark.parametrize("args,kwargs,err,msg", [
    ((10, 3), {}, ValueError, r"^MultiHeadAttention: embed_dim \(10\) must be divisible by num_heads \(3\)"),
    ((0, 1), {}, ValueError, r"^MultiHeadAttention: embed_dim must be positive"),
    ((8, 0), {}, ValueError, r"^MultiHeadAttention: num_heads must be positive"),
    ((8.0, 2), {}, TypeError, r"^MultiHeadAttention: embed_dim must be an int"),
    ((8, 2), {"dtype": np.int32}, TypeError, r"^MultiHeadAttention: dtype must be float32"),
    ((8, 2), {"kdim": -1}, ValueError, r"^MultiHeadAttention: kdim must be positive"),
])
def test_bad_construction(args, kwargs, err, msg):
    with pytest.raises(err, match=msg):
        cattn.MultiHeadAttention(*args, **kwargs)


def test_bad_state_dicts():
    m = cattn.MultiHeadAttention(8, 2)
    sd = m.state_dict()
    with pytest.raises(ValueError, match=r"missing keys \['out_proj.bias'\]"):
        m.load_state_dict({k: v for k, v in sd.items() if k != "out_proj.bias"})
    with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
        m.load_state_dict(dict(sd, extra=np.zeros(1)))
    with pytest.raises(ValueError, match=r"in_proj_weight has shape \(8, 8\), expected \(24, 8\)"):
        m.load_state_dict(dict(sd, in_proj_weight=np.zeros((8, 8))))


@pytest.mark.parametrize("call,err,msg", [
    (lambda m, x: m(x[..., :7]), ValueError, r"query has 7 features \(shape \(2, 5, 7\)\) but the module expects 8"),
    (lambda m, x: m(x, x[..., :6]), ValueError, r"key has 6 features"),
    (lambda m, x: m(x[0, 0]), ValueError, r"query must have at least 2 dimensions"),
    (lambda m, x: m(x.astype(complex)), TypeError, r"query has dtype complex128"),
    (lambda m, x: m(x, attn_mask=np.ones((4, 5), bool)), ValueError, r"attn_mask of shape \(4, 5\)"),
    (lambda m, x: m(x, attn_mask=np.ones((5, 5), int)), TypeError, r"attn_mask has dtype int64"),
    (lambda m, x: m(x, key_lengths=np.array([5, 6])), ValueError, r"key_lengths must be in \[0, 5\]"),
    (lambda m, x: m(x, key_lengths=np.array([1.0, 2.0])), TypeError, r"key_lengths must be integers"),
    (lambda m, x: m(x, key_lengths=np.array([1, 2, 3])), ValueError, r"key_lengths of shape \(3,\)"),
])
def test_bad_calls(call, err, msg):
    m = cattn.MultiHeadAttention(8, 2, seed=0)
    x = np.zeros((2, 5, 8), np.float32)
    with pytest.raises(err, match=msg):
        call(m, x)


# ---- PyTorch's call contract and layout ------------------------------------------------------

def test_pytorch_shaped_call_means_what_it_means_in_pytorch():
    """y, w = mha(x, x, x) copied from PyTorch code: with batch_first given (as PyTorch code does
    or relies on), every call returns the pair (output, weights); need_weights defaults to True."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)  # a batch of 2: the old trap
    mha = cattn.MultiHeadAttention(8, 2, batch_first=True, seed=0)
    y, w = mha(x, x, x)
    assert y.shape == (2, 5, 8) and w.shape == (2, 5, 5)
    y2, none = mha(x, x, x, need_weights=False)
    assert none is None
    np.testing.assert_array_equal(y, y2)
    plain = cattn.MultiHeadAttention(8, 2, seed=0)  # cattn's contract: the output alone
    np.testing.assert_array_equal(plain(x), y)
    y3, w3 = plain(x, x, x, need_weights=False)  # need_weights= asks for PyTorch's contract
    assert w3 is None
    np.testing.assert_array_equal(y3, y)
    y4, w4 = plain(x, return_weights=True)
    np.testing.assert_array_equal(w4, w)


def test_batch_first_false_is_pytorchs_sequence_first_layout():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(8, 2, dtype=torch.float64)  # batch_first=False by default
    m = cattn.MultiHeadAttention(8, 2, batch_first=False, dtype=np.float64)
    m.load_state_dict(t.state_dict())
    rng = np.random.default_rng(1)
    q = rng.standard_normal((5, 3, 8))   # (L, B, E)
    kv = rng.standard_normal((7, 3, 8))  # (S, B, E)
    with torch.no_grad():
        to, tw = t(*(torch.from_numpy(a) for a in (q, kv, kv)))
    co, cw = m(q, kv, kv)
    assert co.shape == (5, 3, 8) and cw.shape == (3, 5, 7)
    np.testing.assert_allclose(co, to.numpy(), 1e-10, 1e-12)
    np.testing.assert_allclose(cw, tw.numpy(), 1e-10, 1e-12)


def test_batch_first_false_without_torch():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((5, 3, 8))
    seq_first = cattn.MultiHeadAttention(8, 2, batch_first=False, dtype=np.float64, seed=0)
    batch_first = cattn.MultiHeadAttention(8, 2, batch_first=True, dtype=np.float64, seed=0)
    o1, w1 = seq_first(q, is_causal=True)
    o2, w2 = batch_first(q.swapaxes(0, 1), is_causal=True)
    np.testing.assert_array_equal(o1, o2.swapaxes(0, 1))
    np.testing.assert_array_equal(w1, w2)
    s = seq_first.steps(q)
    np.testing.assert_allclose(s.output, batch_first(q.swapaxes(0, 1))[0], 1e-12)


@pytest.mark.parametrize("bad", [1, "yes", np.array([True])])
def test_batch_first_must_be_a_bool(bad):
    with pytest.raises(TypeError, match=r"^MultiHeadAttention: batch_first must be True, False"):
        cattn.MultiHeadAttention(8, 2, batch_first=bad)


def test_the_weights_flag_has_one_meaning_under_two_names():
    x = np.ones((3, 8))
    mha = cattn.MultiHeadAttention(8, 2, seed=0)
    with pytest.raises(ValueError, match="return_weights=True and need_weights=False disagree"):
        mha(x, return_weights=True, need_weights=False)
    a = cattn.multi_head_attention(x, x, x, *mha.head_weights(), return_weights=True)
    b = cattn.multi_head_attention(x, x, x, *mha.head_weights(), need_weights=True)
    np.testing.assert_array_equal(a[1], b[1])


def test_parameterless_attention_inherited_methods():
    a = cattn.Attention()
    assert a.state_dict() == {} and a.num_parameters == 0
    a.load_state_dict({})
    with pytest.raises(ValueError, match="load_state_dict: missing keys"):
        cattn.Attention(8).load_state_dict({})
    with pytest.raises(ValueError, match=r"^Attention.head_weights: this Attention\(\) has no"):
        a.head_weights()
    x = np.eye(3)
    np.testing.assert_array_equal(a.forward(x), a(x))
    assert "no parameters" in repr(a)


def test_tensors_in_tensors_out_everywhere():
    """One behaviour for PyTorch tensors, NumPy's __array_wrap__ protocol: the gufuncs, the
    functions and the classes all give tensors back for tensors."""
    torch = pytest.importorskip("torch")
    q = torch.randn(2, 5, 8, dtype=torch.float64)
    mha = cattn.MultiHeadAttention(8, 2, dtype=np.float64, seed=0)
    results = [cattn.scaled_dot_product_attention(q, q, q),
               *cattn.scaled_dot_product_attention(q, q, q, is_causal=True, return_weights=True),
               mha(q), *mha(q, return_weights=True), cattn.Attention()(q),
               cattn.multi_head_attention(q, q, q, *mha.head_weights()[:4])]
    assert all(isinstance(r, torch.Tensor) for r in results), [type(r) for r in results]
    want = cattn.scaled_dot_product_attention(q.numpy(), q.numpy(), q.numpy())
    np.testing.assert_array_equal(results[0].numpy(), want)
    import warnings
    with warnings.catch_warnings():  # PyTorch's __array_wrap__ predates NumPy 2's arguments
        warnings.simplefilter("ignore", DeprecationWarning)
        assert isinstance(cattn.softmax(q), torch.Tensor)
