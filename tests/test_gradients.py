"""Gradients: the backward gufuncs against their reference twins and float64 formulas on every
level, cattn.vjp against PyTorch's autograd (golden files from scripts/make_golden_grad.py, and
live when PyTorch is installed), gradcheck, the modules' vjp/grads/zero_grad, bad input."""
import json
import os

import numpy as np
import pytest

import cattn
import reference as ref
from cattn import _cattn

DATA = os.path.join(os.path.dirname(__file__), "data")
RTOL = {np.float32: 1e-4, np.float64: 1e-9}


def close(got, want, dtype, what=""):
    """Agreement relative to the largest magnitude of the reference (the issue's measure)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    scale = max(np.abs(want).max(initial=0.0), 1e-30)
    err = np.abs(got - want).max(initial=0.0) / scale
    assert err <= RTOL[np.dtype(dtype).type], f"{what}: relative error {err:.2e}"


# ---- the backward gufuncs, each against its reference twin and the formulas, on every level ----

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_backward(level, dtype, log):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 300)).astype(dtype) * 3
    g = rng.standard_normal((5, 300)).astype(dtype)
    fwd, bwd = (cattn.log_softmax, cattn.log_softmax_backward) if log else \
        (cattn.softmax, cattn.softmax_backward)
    y = fwd(x)
    y64, g64 = y.astype(np.float64), g.astype(np.float64)
    want = g64 - np.exp(y64) * g64.sum(-1, keepdims=True) if log else \
        y64 * (g64 - (y64 * g64).sum(-1, keepdims=True))
    got = bwd(y, g)
    ref = getattr(_cattn, bwd.__name__ + "_ref")(y, g)
    close(got, want, dtype, "fast")
    close(ref, want, dtype, "ref")
    # strided rows give the same bits as contiguous ones; axis= works
    np.testing.assert_array_equal(bwd(y.T.copy().T, g[:, ::1]), got)
    np.testing.assert_array_equal(bwd(y.T.copy(), g.T.copy(), axis=0), got.T)


CONFIGS = [  # B, H, L, S, E, Ev (the blocked kernel starts above 4096 = L·S·(E+Ev))
    (2, 1, 3, 4, 2, 3),          # tiny: the plain loop
    (1, 2, 100, 130, 16, 8),     # several tiles, edges in both directions, Ev != E
    (2, 1, 200, 97, 40, 24),     # L > S
    (1, 1, 193, 193, 64, 64),    # square, for causal
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["none", "causal", "bool", "add"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "x".join(map(str, c)))
def test_attention_backward(level, dtype, kind, cfg):
    B, H, L, S, E, Ev = cfg
    rng = np.random.default_rng(7)
    q = rng.standard_normal((B, H, L, E)).astype(dtype)
    k = rng.standard_normal((B, 1, S, E)).astype(dtype)  # broadcast over heads
    v = rng.standard_normal((1, H, S, Ev)).astype(dtype)
    dout = rng.standard_normal((B, H, L, Ev)).astype(dtype)
    scale, mask = 0.2, None
    if kind == "bool":
        mask = rng.random((L, S)) < 0.5
        mask[1] = False  # a row that attends nothing
    elif kind == "add":
        mask = rng.standard_normal((B, 1, L, S)).astype(dtype)
        mask[..., 2, :] = -np.inf  # likewise
    out, dq, dk, dv, ds = ref.sdpa_grads(q, k, v, mask, kind == "causal", scale, dout)
    for suffix in ("", "_ref"):
        if kind in ("none", "causal"):
            pre = "" if kind == "none" else "causal_"
            o, lse = getattr(_cattn, f"{pre}attention_with_lse{suffix}")(q, k, v, scale)
            g = getattr(_cattn, f"{pre}attention_backward{suffix}")(q, k, v, o, lse, dout, scale)
        else:
            o, lse = getattr(_cattn, f"masked_attention_with_lse{suffix}")(q, k, v, mask, scale)
            g = getattr(_cattn, f"masked_attention_backward_dmask{suffix}")(
                q, k, v, mask, o, lse, dout, scale)
            if kind == "add":
                close(g[3], ds, dtype, f"dmask{suffix}")
        close(o, out, dtype, f"out{suffix}")
        for name, got, want in zip(("dq", "dk", "dv"), g, (dq, dk, dv)):
            close(got, np.broadcast_to(want, got.shape), dtype, f"{name}{suffix}")
            assert np.isfinite(got).all()


def test_attention_backward_same_bits_for_any_thread_count():
    rng = np.random.default_rng(3)
    q = rng.standard_normal((1, 500, 32)).astype(np.float32)
    k = rng.standard_normal((1, 430, 32)).astype(np.float32)
    v = rng.standard_normal((1, 430, 24)).astype(np.float32)
    mask = rng.standard_normal((500, 430)).astype(np.float32)
    o, lse = cattn.masked_attention_with_lse(q, k, v, mask, 0.3)
    dout = rng.standard_normal(o.shape).astype(np.float32)
    before = cattn.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            cattn.set_num_threads(n)
            results.append(cattn.masked_attention_backward_dmask(q, k, v, mask, o, lse, dout, 0.3))
    finally:
        cattn.set_num_threads(before)
    for r in results[1:]:
        for a, b in zip(results[0], r):
            np.testing.assert_array_equal(a, b)


def test_mha_gradients_same_bits_for_any_thread_count():
    rng = np.random.default_rng(13)
    mha = cattn.MultiHeadAttention(32, 4, seed=1)
    x = rng.standard_normal((3, 150, 32)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    before = cattn.get_num_threads()
    runs = []
    try:
        for n in (1, 2):
            cattn.set_num_threads(n)
            mha.zero_grad()
            dx = mha.vjp(x, is_causal=True)[1](g)[0]
            runs.append((dx, {k: v.copy() for k, v in mha.grads.items()}))
    finally:
        cattn.set_num_threads(before)
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for k in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][k], runs[1][1][k])


def test_backward_memory_is_linear_in_length():
    """The backward never holds an (L, S) matrix: at L = S = 4096 one would be 64 MiB; the
    scratch allocated beyond the inputs and outputs stays a few MiB (glibc's counters)."""
    import ctypes
    import ctypes.util
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("AddressSanitizer's allocator: glibc's counters do not see the scratch")
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError, TypeError):
        pytest.skip("needs glibc's mallinfo2")

    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in
                    ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                     "uordblks", "fordblks", "keepcost")]
    mallinfo2.restype = Info
    N, E = 4096, 16
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((N, E)).astype(np.float32) for _ in range(3))
    o, lse = cattn.causal_attention_with_lse(q, k, v, 0.25)
    dout = rng.standard_normal(o.shape).astype(np.float32)
    outs = tuple(np.empty_like(x) for x in (q, k, v))
    peak = [0]
    import threading
    stop = threading.Event()

    def watch():  # sample the bytes in use while the backward runs
        while not stop.is_set():
            i = mallinfo2()
            peak[0] = max(peak[0], i.uordblks + i.hblkhd)
    base = mallinfo2()
    base = base.uordblks + base.hblkhd
    t = threading.Thread(target=watch)
    t.start()
    for _ in range(3):
        cattn.causal_attention_backward(q, k, v, o, lse, dout, 0.25, out=outs)
    stop.set()
    t.join()
    assert peak[0] - base < 16 << 20, f"{(peak[0] - base) / 2**20:.1f} MiB of scratch"


# ---- cattn.vjp against PyTorch: golden files ---------------------------------------------------

def _golden():
    with np.load(os.path.join(DATA, "grad_golden.npz")) as z:
        files = {n: z[n] for n in z.files}
    cases = {}
    for key, a in files.items():
        fam, name, field = key.split("/", 2)
        cases.setdefault((fam, name), {})[field] = a
    return cases


GOLDEN = _golden()


@pytest.mark.parametrize("name", sorted(n for f, n in GOLDEN if f == "sdpa"))
def test_sdpa_grads_match_pytorch_golden(name):
    c = GOLDEN["sdpa", name]
    dtype = c["q"].dtype.type
    args = [c["q"], c["k"], c["v"]] + ([c["mask"]] if "mask" in c else [])
    kw = {"is_causal": bool(c.get("is_causal", False))}
    if "scale" in c:
        kw["scale"] = float(c["scale"])
    out, pullback = cattn.vjp(cattn.scaled_dot_product_attention, *args, **kw)
    grads = pullback(c["dout"])
    assert len(grads) == len(args)
    for n, g in zip(("q", "k", "v"), grads):
        assert g.shape == c[n].shape and g.dtype == c[n].dtype
        close(g, c["d" + n], dtype, "d" + n)
    if "mask" in c:
        if c["mask"].dtype == bool:
            assert grads[3] is None
        else:
            assert grads[3].shape == c["mask"].shape
            close(grads[3], c["dmask"], dtype, "dmask")


def _module_from(c):
    meta = json.loads(str(c["meta"]))
    dtype = c["x"].dtype
    mha = cattn.MultiHeadAttention(meta["E"], meta["H"], kdim=meta["kdim"], vdim=meta["vdim"],
                                   dtype=dtype)
    mha.load_state_dict({k[len("param/"):]: v for k, v in c.items() if k.startswith("param/")})
    return mha, meta


@pytest.mark.parametrize("name", sorted(n for f, n in GOLDEN if f == "mha"))
def test_mha_grads_match_pytorch_golden(name):
    c = GOLDEN["mha", name]
    mha, meta = _module_from(c)
    dtype = c["x"].dtype.type
    kw = {}
    if meta["how"] == "causal":
        kw["is_causal"] = True
    elif "mask" in c:
        kw["attn_mask"] = c["mask"]
    if "xk" in c:
        y, pullback = mha.vjp(c["x"], c["xk"], c["xv"], **kw)
        dx, dk, dv = pullback(c["dout"])
        close(dk, c["dxk"], dtype, "d_key")
        close(dv, c["dxv"], dtype, "d_value")
    else:
        y, pullback = mha.vjp(c["x"], **kw)
        dx, dk, dv = pullback(c["dout"])
        assert dk is None and dv is None
    close(dx, c["dx"], dtype, "d_query")
    for n, g in mha.grads.items():
        assert g.shape == mha.state_dict()[n].shape and g.dtype == dtype
        close(g, c["grad/" + n], dtype, n)
    # accumulation, as PyTorch's .grad; zero_grad clears
    pullback(c["dout"])
    for n, g in mha.grads.items():
        close(g, 2 * c["grad/" + n], dtype, n)
    mha.zero_grad()
    assert all(not g.any() for g in mha.grads.values())


# ---- live comparisons when PyTorch is installed --------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sdpa_grads_match_pytorch_live(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    q = rng.standard_normal((2, 3, 130, 24)).astype(dtype)
    k = rng.standard_normal((3, 150, 24)).astype(dtype)
    v = rng.standard_normal((3, 150, 40)).astype(dtype)
    mask = rng.standard_normal((130, 150)).astype(dtype)
    dout = rng.standard_normal((2, 3, 130, 40)).astype(dtype)
    t = [torch.tensor(x, requires_grad=True) for x in (q, k, v, mask)]
    torch.nn.functional.scaled_dot_product_attention(*t[:3], attn_mask=t[3]).backward(
        torch.tensor(dout))
    _, pullback = cattn.vjp(cattn.scaled_dot_product_attention, q, k, v, mask)
    for got, tt in zip(pullback(dout), t):
        close(got, tt.grad.numpy(), dtype)


def test_mha_grads_match_pytorch_live():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    m = torch.nn.MultiheadAttention(32, 4, batch_first=True, dtype=torch.float64)
    mha = cattn.MultiHeadAttention(32, 4, dtype=np.float64)
    mha.load_state_dict(m.state_dict())
    x = rng.standard_normal((3, 20, 32))
    lengths = np.array([20, 7, 1])
    tx = torch.tensor(x, requires_grad=True)
    pad = torch.tensor(np.arange(20) >= lengths[:, None])
    y, _ = m(tx, tx, tx, key_padding_mask=pad, need_weights=False)
    g = rng.standard_normal(y.shape)
    y.backward(torch.tensor(g))
    _, pullback = mha.vjp(x, key_lengths=lengths)
    close(pullback(g)[0], tx.grad.numpy(), np.float64)
    for n, p in m.named_parameters():
        close(mha.grads[n], p.grad.numpy(), np.float64, n)


# ---- gradcheck over the operations and configurations ----------------------------------------

def _mha_args(rng, kdim=6, vdim=7, H=2, d=3, dv=2, E=6, B=2, L=4, S=5, bias=True):
    a = [rng.standard_normal(s) for s in
         ((B, L, E), (S, kdim), (B, S, vdim), (H, E, d), (H, kdim, d), (H, vdim, dv), (H, dv, E))]
    if bias:
        a += [rng.standard_normal(s) for s in ((H, d), (H, d), (H, dv), (E,))]
    return a


GRADCHECK = {
    "softmax": lambda r: (cattn.softmax, [r.standard_normal((3, 5))], {}),
    "softmax_axis0": lambda r: (cattn.softmax, [r.standard_normal((3, 5))], {"axis": 0}),
    "log_softmax": lambda r: (cattn.log_softmax, [r.standard_normal((2, 4))], {}),
    "matmul": lambda r: (cattn.matmul, [r.standard_normal((2, 3, 4)), r.standard_normal((4, 2))], {}),
    "matmul_vec": lambda r: (cattn.matmul, [r.standard_normal(4), r.standard_normal((3, 4, 2))], {}),
    "matmul_axes": lambda r: (cattn.matmul, [r.standard_normal((4, 3)), r.standard_normal((4, 2))],
                              {"axes": [(1, 0), (0, 1), (0, 1)]}),
    "sdpa": lambda r: (cattn.scaled_dot_product_attention,
                       [r.standard_normal((2, 1, 4, 3)), r.standard_normal((3, 5, 3)),
                        r.standard_normal((5, 2))], {}),
    "sdpa_causal": lambda r: (cattn.scaled_dot_product_attention,
                              [r.standard_normal((2, 5, 3)), r.standard_normal((2, 6, 3)),
                               r.standard_normal((2, 6, 4))], {"is_causal": True, "scale": 0.7}),
    "sdpa_bool": lambda r: (cattn.scaled_dot_product_attention,
                            [r.standard_normal((4, 3)), r.standard_normal((5, 3)),
                             r.standard_normal((5, 2)),
                             np.array([[1, 0, 1, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1],
                                       [0, 1, 0, 0, 1]], bool)], {}),
    "sdpa_add": lambda r: (cattn.scaled_dot_product_attention,
                           [r.standard_normal((2, 4, 3)), r.standard_normal((5, 3)),
                            r.standard_normal((5, 2)), r.standard_normal((1, 5))], {}),
    "sdpa_add_fully_masked": lambda r: (cattn.scaled_dot_product_attention,
                                        [r.standard_normal((3, 3)), r.standard_normal((4, 3)),
                                         r.standard_normal((4, 3)),
                                         np.where(np.arange(3)[:, None] == 1, -np.inf,
                                                  r.standard_normal((3, 4)))], {}),
    "sdpa_weights": lambda r: (cattn.scaled_dot_product_attention,
                               [r.standard_normal((4, 3)), r.standard_normal((5, 3)),
                                r.standard_normal((5, 2)), r.standard_normal((4, 5))],
                               {"return_weights": True}),
    "mha": lambda r: (cattn.multi_head_attention, _mha_args(r), {}),
    "mha_causal_nobias": lambda r: (cattn.multi_head_attention, _mha_args(r, S=4, bias=False),
                                    {"is_causal": True}),
    "mha_mask_lengths": lambda r: (cattn.multi_head_attention, _mha_args(r),
                                   {"attn_mask": r.standard_normal((4, 5)),
                                    "key_lengths": np.array([5, 2])}),
}


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_gradcheck(name):
    fn, args, kw = GRADCHECK[name](np.random.default_rng(5))
    assert cattn.gradcheck(fn, *args, **kw) is True


def test_gradcheck_reports_a_wrong_gradient(monkeypatch):
    from cattn import gradients

    def bad_rule(x, **kw):
        y, pb = gradients._vjp_softmax(False, x, **kw)
        return y, lambda g: (pb(g)[0] * 1.01,)
    monkeypatch.setitem(gradients._RULES, _cattn.softmax, bad_rule)
    with pytest.raises(AssertionError, match=r"argument 0 \(x, shape \(2, 3\)\).*worst element"):
        cattn.gradcheck(cattn.softmax, np.random.default_rng(0).standard_normal((2, 3)))


# ---- the vjp contract ---------------------------------------------------------------------------

def test_vjp_output_equals_the_function_and_pullback_repeats():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 6, 4)).astype(np.float32) for _ in range(3))
    out, pullback = cattn.vjp(cattn.scaled_dot_product_attention, q, k, v, is_causal=True)
    np.testing.assert_array_equal(out, cattn.scaled_dot_product_attention(q, k, v, is_causal=True))
    g = rng.standard_normal(out.shape).astype(np.float32)
    a, b = pullback(g), pullback(g)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
        assert x.dtype == np.float32


def test_vjp_reduces_broadcast_arguments_and_keeps_dtypes():
    rng = np.random.default_rng(4)
    q = rng.standard_normal((3, 2, 5, 4))
    k = rng.standard_normal((1, 6, 4)).astype(np.float32)  # broadcast over batch and heads
    v = rng.standard_normal((6, 3))
    mask = rng.standard_normal((1, 6))                     # broadcast over rows
    _, pullback = cattn.vjp(cattn.scaled_dot_product_attention, q, k, v, mask)
    dq, dk, dv, dm = pullback(np.ones((3, 2, 5, 3)))
    assert (dq.shape, dk.shape, dv.shape, dm.shape) == (q.shape, k.shape, v.shape, mask.shape)
    assert dk.dtype == np.float32 and dq.dtype == np.float64
    np.testing.assert_allclose(dv.sum(), 3 * 2 * 5 * 3)  # every row's weights sum to one


def test_vjp_keyword_mask_gets_no_gradient_and_bool_mask_none():
    rng = np.random.default_rng(6)
    q, k, v = rng.standard_normal((3, 2)), rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    _, pb = cattn.vjp(cattn.scaled_dot_product_attention, q, k, v, attn_mask=np.zeros((3, 4)))
    assert len(pb(np.ones((3, 2)))) == 3
    _, pb = cattn.vjp(cattn.scaled_dot_product_attention, q, k, v, np.ones((3, 4), bool))
    assert pb(np.ones((3, 2)))[3] is None


def test_fully_masked_rows_give_zero_gradients_not_nan():
    rng = np.random.default_rng(8)
    q, k, v = (rng.standard_normal((2, 150, 8)) for _ in range(3))
    mask = rng.random((150, 150)) < 0.5
    mask[[0, 77, 149]] = False
    _, pb = cattn.vjp(cattn.scaled_dot_product_attention, q, k, v, mask)
    dq, dk, dv, _ = pb(rng.standard_normal((2, 150, 8)))
    assert np.isfinite(dq).all() and np.isfinite(dk).all() and np.isfinite(dv).all()
    assert not dq[:, [0, 77, 149]].any()


def test_vjp_unknown_function():
    with pytest.raises(TypeError, match="no gradient rule for 'sum'"):
        cattn.vjp(np.sum, np.ones(3))


# ---- hostile input to the pullback ----------------------------------------------------------

def test_pullback_rejects_wrong_shape_and_dtype():
    q = np.ones((3, 2))
    _, pb = cattn.vjp(cattn.scaled_dot_product_attention, q, q, q)
    with pytest.raises(ValueError, match=r"grad_out has shape \(2, 3\) but the output has shape \(3, 2\)"):
        pb(np.ones((2, 3)))
    with pytest.raises(TypeError, match="grad_out has dtype complex128"):
        pb(np.ones((3, 2), complex))
    with pytest.raises(TypeError, match="needs a gradient"):
        pb(None)
    _, pb = cattn.vjp(cattn.scaled_dot_product_attention, q, q, q, return_weights=True)
    with pytest.raises(TypeError, match=r"\(grad_output, grad_weights\)"):
        pb(np.ones((3, 2)))
    _, pb = cattn.vjp(cattn.softmax, q)
    with pytest.raises(ValueError, match="shape"):
        pb(np.ones(2))


def test_pullback_with_nan_propagates():
    rng = np.random.default_rng(9)
    q, k, v = (rng.standard_normal((4, 3)) for _ in range(3))
    _, pb = cattn.vjp(cattn.scaled_dot_product_attention, q, k, v)
    g = np.ones((4, 3))
    g[2, 1] = np.nan
    dq, dk, dv = pb(g)
    assert np.isnan(dq[2]).all() and np.isfinite(dq[[0, 1, 3]]).all()
    assert np.isnan(dv[:, 1]).all() and np.isfinite(dv[:, [0, 2]]).all()  # column 1 of dout


def test_pullback_after_inputs_changed_in_place_reads_the_new_values():
    """Documented: the pullback reads the arrays given to vjp when it runs (no copies)."""
    rng = np.random.default_rng(10)
    q, k, v = (rng.standard_normal((4, 3)) for _ in range(3))
    _, pb = cattn.vjp(cattn.scaled_dot_product_attention, q, k, v)
    before = pb(np.ones((4, 3)))[2]
    v[...] = 0  # dv = Pᵀ dout does not read v: unchanged; dq and dk now use v = 0
    after = pb(np.ones((4, 3)))
    np.testing.assert_array_equal(after[2], before)
    assert np.isfinite(after[0]).all()


# ---- modules ------------------------------------------------------------------------------------

def test_module_vjp_contract():
    mha = cattn.MultiHeadAttention(8, 2, seed=0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    y, pb = mha.vjp(x, is_causal=True)
    np.testing.assert_array_equal(y, mha(x, is_causal=True))
    dq, dk, dv = pb(np.ones_like(y))
    assert dk is None and dv is None and dq.shape == x.shape and dq.dtype == np.float32
    assert set(mha.grads) == set(mha.state_dict())
    # PyTorch's contract (batch_first given): y is the pair; (grad, None) or grad both work
    m2 = cattn.MultiHeadAttention(8, 2, seed=0, batch_first=False)
    (o, w), pb2 = m2.vjp(np.swapaxes(x, 0, 1))
    assert o.shape == (5, 2, 8) and w.shape == (2, 5, 5)
    np.testing.assert_allclose(np.swapaxes(pb2((np.ones_like(o), None))[0], 0, 1), dq * 0 +
                               mha.vjp(x)[1](np.ones_like(y))[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="weights"):
        pb2((np.ones_like(o), np.ones_like(w)))


def test_attention_without_parameters_vjp():
    rng = np.random.default_rng(2)
    a = cattn.Attention()
    q, kv = rng.standard_normal((3, 4)), rng.standard_normal((6, 4))
    y, pb = a.vjp(q, kv)
    dq, dk, dv = pb(np.ones_like(y))
    _, ref = cattn.vjp(cattn.scaled_dot_product_attention, q, kv, kv)
    want = ref(np.ones_like(y))
    np.testing.assert_allclose(dq, want[0])
    np.testing.assert_allclose(dk, want[1] + want[2])  # value=None: key carries both shares
    assert dv is None and a.grads == {}


def test_gradcheck_checks_or_refuses():
    """Issue 24: gradcheck passed without checking (NaN inputs, eps=NaN), failed falsely on an
    integer argument (it nudged a truncated copy) and passed a complex one with a warning."""
    sm = cattn.softmax
    with pytest.raises(ValueError, match=r"argument 0 \(x\) holds NaN"):
        cattn.gradcheck(sm, np.full(3, np.nan))
    with pytest.raises(ValueError, match="output 0 holds NaN or inf"):  # softmax of +inf: NaN
        cattn.gradcheck(sm, np.array([0.0, np.inf]))
    assert cattn.gradcheck(sm, np.array([0.0, -np.inf, 1.0]))   # -inf: a mask's "never"
    for name, kw in (("eps", {"eps": np.nan}), ("eps", {"eps": 0.0}), ("atol", {"atol": np.inf}),
                     ("rtol", {"rtol": -1.0})):
        with pytest.raises(ValueError, match=f"{name} must be a finite number"):
            cattn.gradcheck(sm, np.ones(3), **kw)
    with pytest.raises(TypeError, match="complex"):
        cattn.gradcheck(sm, np.ones(3) + 1j)
    with pytest.raises(ValueError, match="output 0 holds NaN or inf"):  # every target ignored
        cattn.gradcheck(cattn.nn.cross_entropy, np.ones((2, 3)), np.full(2, -100))
    assert cattn.gradcheck(sm, np.array([1, 2, 3]))            # an integer input, as float64
    assert cattn.gradcheck(cattn.matmul, np.arange(6).reshape(2, 3), np.ones((3, 2)))
    with pytest.raises(AssertionError, match="disagrees"):     # and it still catches a bad one
        def wrong(x):
            return cattn.softmax(x)
        wrong._cattn_vjp = lambda x: (cattn.softmax(x), lambda g: (2 * np.asarray(g),))
        cattn.gradcheck(wrong, np.array([0.5, -1.0, 2.0]))
