"""No leaks: 10,000 calls of every public entry point, on success and on error paths, leave the
inputs' and outputs' reference counts unchanged, the bytes in use from C's malloc within 64 KiB
(glibc's mallinfo2: it counts every C allocation -- cattn's scratch, NumPy's buffers -- that
tracemalloc cannot see; a leak of 7 bytes a call fails) and the process's resident size flat.
Under AddressSanitizer, whose allocator replaces glibc's, LeakSanitizer checks the C side instead
(scripts/sanitize.sh)."""
import ctypes
import gc
import os
import sys

import numpy as np
import pytest

import cattn

UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")
# under AddressSanitizer only the reference counts are checked here (LeakSanitizer sees the C
# side at exit), and calls are ~50x slower (more with the emulated AVX-512 kernels): fewer calls
CALLS = 1_000 if UNDER_ASAN else 10_000
R = np.random.default_rng(0)
q, k, v = (R.standard_normal((2, 5, 8)).astype(np.float32) for _ in range(3))
mask = R.random((5, 5)) < 0.8
out = np.empty((2, 5, 8), np.float32)
mha = cattn.MultiHeadAttention(8, 2, seed=0)
W = [R.standard_normal(s) for s in ((2, 8, 4), (2, 8, 4), (2, 8, 4), (2, 4, 8))]
big = R.standard_normal((2, 80, 16))
qa = q.astype(np.float64)  # overwritten by the calls whose output is also an input
Wa = [w * 0.1 for w in W]  # small, so that feeding the output back shrinks it  # large enough for the blocked kernels and threads


# saved forward arrays that are not C-contiguous (transposed views): refused by the loop
_saved = cattn.multi_head_attention_forward(q, k, v, *W, *(np.zeros(s) for s in ((2, 4), (2, 4), (2, 4), (8,))), np.broadcast_to(mask, (2, 5, 5)), 1.0)[1:]
SAVED_T = [np.asfortranarray(a) for a in _saved]


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                "usmblks", "fsmblks", "uordblks", "fordblks",
                                                "keepcost")]


def _c_heap():
    """A function giving the bytes in use from malloc (glibc), or None where it cannot be read."""
    if UNDER_ASAN:
        return None
    try:
        f = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    f.restype = _Mallinfo2

    def in_use():
        m = f()
        return m.uordblks + m.hblkhd  # small and large (mmapped) blocks

    return in_use


C_HEAP = _c_heap()


def test_the_c_heap_counter_sees_a_c_leak():
    """The counter the leak test relies on sees C allocations that are never freed."""
    if C_HEAP is None:
        pytest.skip("no glibc mallinfo2 here (or AddressSanitizer's allocator): LSan checks")
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    before = C_HEAP()
    leaked = [libc.malloc(100) for _ in range(CALLS)]
    assert C_HEAP() - before >= 100 * CALLS
    libc.free.argtypes = [ctypes.c_void_p]
    for p in leaked:
        libc.free(p)


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


ENTRY_POINTS = {
    "matmul": lambda: cattn.matmul(q, k.swapaxes(-1, -2)),
    "matmul_out": lambda: cattn.matmul(q[0].T, q[0], out=np.empty((8, 8), np.float32)),
    "softmax": lambda: cattn.softmax(q),
    "log_softmax_out": lambda: cattn.log_softmax(q, out=out),
    "sdpa": lambda: cattn.scaled_dot_product_attention(q, k, v),
    "sdpa_mask_weights": lambda: cattn.scaled_dot_product_attention(q, k, v, mask, return_weights=True),
    "sdpa_causal_out": lambda: cattn.scaled_dot_product_attention(q, k, v, is_causal=True, out=out),
    "sdpa_blocked": lambda: cattn.scaled_dot_product_attention(big, big, big),
    "attention_ufunc": lambda: cattn.attention(q, k, v, np.float32(0.5)),
    "mha_function": lambda: cattn.multi_head_attention(q, k, v, *W, return_weights=True),
    "mha_causal": lambda: cattn.multi_head_attention(q, k, v, *W, is_causal=True),
    "mha_aliased_out": lambda: cattn.multi_head_attention(qa, qa, qa, *Wa, out=qa),
    "MultiHeadAttention": lambda: mha(q, return_weights=True, key_lengths=np.array([5, 3])),
    "steps": lambda: mha.steps(q[0]),
    "Attention": lambda: cattn.Attention()(q, k, return_weights=True),
    "sdpa_causal_weights": lambda: cattn.scaled_dot_product_attention(big, big, big, is_causal=True,
                                                                      return_weights=True),
    "attention_aliased": lambda: cattn.attention(qa, k, v, 0.5, out=qa),
    "state_dict": lambda: mha.load_state_dict(mha.state_dict()),
    "vjp_sdpa_mask": lambda: cattn.vjp(cattn.scaled_dot_product_attention, q, k, v,
                                       mask.astype(np.float32))[1](q),
    "vjp_sdpa_blocked_causal": lambda: cattn.vjp(cattn.scaled_dot_product_attention, big, big, big,
                                                 is_causal=True)[1](big),
    "vjp_softmax_matmul": lambda: (cattn.vjp(cattn.softmax, q)[1](q),
                                   cattn.vjp(cattn.matmul, q, q.swapaxes(-1, -2))[1](
                                       np.ones((2, 5, 5), np.float32))),
    "mha_vjp": lambda: mha.vjp(q, key_lengths=np.array([5, 3]))[1](q),
    "mha_vjp_function": lambda: cattn.vjp(cattn.multi_head_attention, q, k, v, *W,
                                          attn_mask=mask)[1](q),
}

ERROR_PATHS = {
    "matmul_core": (lambda: cattn.matmul(q, q), ValueError),
    "matmul_dtype": (lambda: cattn.matmul(q.astype(complex), q), TypeError),
    "softmax_dtype": (lambda: cattn.softmax(np.array([None])), TypeError),
    "sdpa_shapes": (lambda: cattn.scaled_dot_product_attention(q, k[..., :3], v), ValueError),
    "sdpa_mask": (lambda: cattn.scaled_dot_product_attention(q, k, v, np.ones(3, int)), TypeError),
    "attention_ufunc_dtype": (lambda: cattn.attention(q, k, v.astype(object), 1.0), TypeError),
    "mha_lengths": (lambda: mha(q, key_lengths=np.array([9, 9])), ValueError),
    "mha_construct": (lambda: cattn.MultiHeadAttention(7, 2), ValueError),
    "out_readonly": (lambda: cattn.softmax(q, out=np.broadcast_to(out[0, 0], out.shape)), ValueError),
    "pullback_shape": (lambda: cattn.vjp(cattn.scaled_dot_product_attention, q, k, v)[1](k[0]),
                       ValueError),
    "mha_backward_saved": (lambda: cattn.multi_head_attention_backward(
        *(x.astype(np.float64) for x in (q, k, v)), *W, np.broadcast_to(mask, (2, 5, 5)), *SAVED_T, q, 1.0), ValueError),
}


def run_many(f, expect=None):
    for _ in range(CALLS):
        if expect is None:
            f()
        else:
            try:
                f()
            except expect:
                pass


@pytest.mark.parametrize("name", list(ENTRY_POINTS) + list(ERROR_PATHS))
def test_no_leak(name):
    f, expect = (ENTRY_POINTS[name], None) if name in ENTRY_POINTS else ERROR_PATHS[name]
    operands = [q, k, v, mask, out, big] + W
    run_many(f, expect)  # warm up caches, arenas and NumPy's internals
    gc.collect()
    refs = [sys.getrefcount(a) for a in operands]
    rss0 = rss_kib()
    heap0 = C_HEAP() if C_HEAP else 0
    run_many(f, expect)
    gc.collect()
    grown = C_HEAP() - heap0 if C_HEAP else 0
    rss_growth = rss_kib() - rss0
    assert [sys.getrefcount(a) for a in operands] == refs
    assert grown < 64 * 1024, f"{name}: C heap in use grew by {grown} bytes over {CALLS} calls"
    # under AddressSanitizer freed memory waits in a quarantine, so the resident size grows by
    # design there; scripts/sanitize.sh checks memory errors instead
    if not UNDER_ASAN:
        assert rss_growth < 4 * 1024, f"{name}: resident size grew by {rss_growth} KiB"


def test_output_refcount_is_one_reference():
    r = cattn.scaled_dot_product_attention(q, k, v)
    assert sys.getrefcount(r) == 2  # r and getrefcount's argument
    o, w = cattn.scaled_dot_product_attention(q, k, v, return_weights=True)
    assert sys.getrefcount(o) == 2 and sys.getrefcount(w) == 2
