"""A fuzz harness (atheris) over cattn's public API: shapes, strides, dtypes, masks and options
are decoded from the fuzzer's bytes. Every call must either succeed with an output of the right
shape, or raise ValueError / TypeError / MemoryError (AxisError for a bad axis) -- anything else
(another exception, a crash, a sanitizer report) is a finding.

    pip install atheris
    python fuzz/fuzz_cattn.py fuzz/corpus -max_total_time=60     # plain build
    CATTN_FUZZ_SECONDS=120 CATTN_SANITIZE_TESTS=0 bash scripts/sanitize.sh   # under ASan+UBSan

fuzz/corpus holds the seeds (write_seeds() regenerates them); new inputs the fuzzer finds are
added there while it runs."""
import os
import sys

import atheris
import numpy as np

with atheris.instrument_imports(include=["cattn"]):
    import cattn

EXPECTED = (ValueError, TypeError, MemoryError, np.exceptions.AxisError)
DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_, np.complex64, np.float16,
          np.uint8, object]


def draw_array(fdp, max_dims=4, dtype=None):
    """An array with drawn shape, dtype, values and memory layout."""
    ndim = fdp.ConsumeIntInRange(0, max_dims)
    shape = tuple(fdp.ConsumeIntInRange(0, 7) for _ in range(ndim))
    dt = dtype or DTYPES[fdp.ConsumeIntInRange(0, len(DTYPES) - 1)]
    n = int(np.prod(shape))
    vals = np.array(fdp.ConsumeFloatListInRange(n, -1e4, 1e4) if n else [], np.float64)
    vals = np.resize(vals, n) if vals.size else np.zeros(n)
    if fdp.ConsumeIntInRange(0, 9) == 0 and n:  # specials
        vals[fdp.ConsumeIntInRange(0, n - 1)] = [np.nan, np.inf, -np.inf][fdp.ConsumeIntInRange(0, 2)]
    a = vals.reshape(shape)
    a = a.astype(dt) if dt is not object else a.astype(object)
    layout = fdp.ConsumeIntInRange(0, 6)
    if layout == 1 and a.ndim >= 2:
        a = np.ascontiguousarray(np.swapaxes(a, -1, -2)).swapaxes(-1, -2)
    elif layout == 2 and a.ndim >= 1:
        big = np.repeat(a, 2, axis=-1)
        a = big[..., ::2]
    elif layout == 3 and a.ndim >= 1:
        a = np.ascontiguousarray(a[..., ::-1])[..., ::-1]
    elif layout == 4 and a.dtype != object:
        a = a.astype(a.dtype.newbyteorder())
    elif layout == 5 and a.ndim >= 1 and a.shape[-1] >= 1:
        a = np.broadcast_to(a[..., :1], a.shape)
    elif layout == 6 and a.dtype != object and a.size:
        buf = np.zeros(a.nbytes + 1, np.uint8)
        u = buf[1:].view(a.dtype).reshape(a.shape)
        u[...] = a
        a = u
    return a


def run(fdp):
    op = fdp.ConsumeIntInRange(0, 7)
    if op == 0:
        a, b = draw_array(fdp), draw_array(fdp)
        r = cattn.matmul(a, b)
        assert np.shape(r) == np.matmul(np.zeros(a.shape), np.zeros(b.shape)).shape
    elif op == 1:
        x = draw_array(fdp)
        axis = fdp.ConsumeIntInRange(-4, 3)
        r = (cattn.softmax if fdp.ConsumeBool() else cattn.log_softmax)(x, axis=axis)
        assert r.shape == x.shape
    elif op in (2, 3):
        q, k, v = draw_array(fdp), draw_array(fdp), draw_array(fdp)
        mask = draw_array(fdp) if fdp.ConsumeBool() else None
        scale = [None, 0.0, 1.0, -2.5, np.inf, "x", 1j][fdp.ConsumeIntInRange(0, 6)]
        r = cattn.scaled_dot_product_attention(q, k, v, mask, is_causal=fdp.ConsumeBool(),
                                               scale=scale, return_weights=op == 3)
        out = r[0] if op == 3 else r
        assert out.shape[-2:] == (q.shape[-2], v.shape[-1])
    elif op == 4:
        uf = [cattn.attention, cattn.causal_attention][fdp.ConsumeIntInRange(0, 1)]
        r = uf(draw_array(fdp), draw_array(fdp), draw_array(fdp), draw_array(fdp, 1))
    elif op == 5:
        args = [draw_array(fdp) for _ in range(4)]
        r = cattn.masked_attention(*args, draw_array(fdp, 1))
    elif op == 6:
        xs = [draw_array(fdp, 3) for _ in range(3)]
        ws = [draw_array(fdp, 3) for _ in range(4)]
        kl = draw_array(fdp, 1, np.int64) if fdp.ConsumeBool() else None
        cattn.multi_head_attention(*xs, *ws, key_lengths=kl, is_causal=fdp.ConsumeBool(),
                                   need_weights=fdp.ConsumeBool())
    else:
        e, h = fdp.ConsumeIntInRange(-1, 9), fdp.ConsumeIntInRange(-1, 4)
        m = cattn.MultiHeadAttention(e, h, seed=0)
        m(draw_array(fdp, 3), need_weights=fdp.ConsumeBool())


def test_one_input(data):
    fdp = atheris.FuzzedDataProvider(data)
    try:
        with np.errstate(all="ignore"):
            run(fdp)
    except EXPECTED:
        pass


def write_seeds(folder):
    rng = np.random.default_rng(0)
    os.makedirs(folder, exist_ok=True)
    for i in range(32):
        with open(os.path.join(folder, f"seed-{i:02d}"), "wb") as f:
            f.write(bytes([i % 8]) + rng.integers(0, 256, 200, dtype=np.uint8).tobytes())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--write-seeds":
        write_seeds(os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"))
    else:
        atheris.Setup(sys.argv, test_one_input)
        atheris.Fuzz()
