"""Threads: bitwise-identical results for any thread count, fork safety, configuration."""
import multiprocessing as mp
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import cattn

pytestmark = pytest.mark.usefixtures("level")


@pytest.fixture
def restore_threads():
    n = cattn.get_num_threads()
    yield
    cattn.set_num_threads(n)


CALLS = {
    "matmul": lambda x: cattn.matmul(x["a"], x["b"]),
    "matmul_batched": lambda x: cattn.matmul(x["a"][:64].reshape(4, 16, 300), x["b"][:300]),
    "softmax": lambda x: cattn.softmax(x["a"]),
    "sdpa": lambda x: cattn.scaled_dot_product_attention(x["q"], x["k"], x["v"]),
    "sdpa_causal": lambda x: cattn.scaled_dot_product_attention(x["q"], x["k"], x["v"],
                                                                is_causal=True),
    "sdpa_weights": lambda x: cattn.scaled_dot_product_attention(x["q"], x["k"], x["v"],
                                                                 return_weights=True)[1],
    "mha": lambda x: x["mha"](x["q"][0]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("call", list(CALLS))
def test_bitwise_identical_for_any_thread_count(call, dtype, restore_threads):
    rng = np.random.default_rng(1)
    x = {"a": rng.standard_normal((400, 300)).astype(dtype),
         "b": rng.standard_normal((300, 500)).astype(dtype),
         "q": rng.standard_normal((2, 3, 300, 32)).astype(dtype),
         "k": rng.standard_normal((2, 3, 290, 32)).astype(dtype),
         "v": rng.standard_normal((2, 3, 290, 24)).astype(dtype),
         "mha": cattn.MultiHeadAttention(32, 4, seed=0, dtype=dtype)}
    results = []
    for n in (1, 2, 3):
        cattn.set_num_threads(n)
        results.append(CALLS[call](x))
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def _child(q):
    q.put(float(cattn.scaled_dot_product_attention(*(np.ones((2, 600, 64)),) * 3).sum()))


def test_fork_child_can_use_cattn_after_parent():
    """A child made by fork() after the parent ran threaded kernels must not hang."""
    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork start method on this platform")
    big = np.ones((2, 600, 64))
    want = float(cattn.scaled_dot_product_attention(big, big, big).sum())  # parent, threaded
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q,))
    p.start()
    p.join(timeout=60)
    hung = p.is_alive()
    if hung:
        p.kill()
    assert not hung, "the forked child hung in cattn"
    assert p.exitcode == 0
    assert q.get(timeout=5) == want


def test_num_threads_api(restore_threads):
    cattn.set_num_threads(3)
    assert cattn.get_num_threads() == 3
    with pytest.raises(ValueError, match="set_num_threads: n must be between 1 and 256"):
        cattn.set_num_threads(0)
    with pytest.raises(TypeError, match="set_num_threads: n must be an int"):
        cattn.set_num_threads(2.5)


def test_environment_sets_threads():
    code = "import cattn; print(cattn.get_num_threads())"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, CATTN_NUM_THREADS="3"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux's CPU affinity and two CPUs")
def test_default_threads_follow_cpu_affinity():
    """Run on one CPU (taskset -c 0, a container's cpuset), cattn defaults to one thread, not to
    the machine's count."""
    cpu = min(os.sched_getaffinity(0))
    code = f"import os; os.sched_setaffinity(0, {{{cpu}}}); import cattn; print(cattn.get_num_threads())"
    env = {k: v for k, v in os.environ.items() if k != "CATTN_NUM_THREADS"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux's CPU affinity and two CPUs")
def test_calls_leave_every_threads_cpu_mask_as_it_was(restore_threads):
    """The pool may keep a worker off its caller's CPU for a call (runtime/threads.c: spreading);
    after the calls, every thread of the process is back on the CPUs it had, and the results are
    the serial ones."""
    before = {t: os.sched_getaffinity(int(t)) for t in os.listdir("/proc/self/task")}
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 700, 700)).astype(np.float32)
    cattn.set_num_threads(1)
    want = cattn.matmul(a, b)
    cattn.set_num_threads(2)
    for _ in range(4):  # apart, as in a notebook: where a VM packs woken threads, they clash
        time.sleep(0.25)
        np.testing.assert_array_equal(cattn.matmul(a, b), want)
    for t in os.listdir("/proc/self/task"):
        assert os.sched_getaffinity(int(t)) == before.get(t, before[str(os.getpid())]), t


def test_sixteen_python_threads_share_inputs_bit_identically(restore_threads):
    """16 Python threads x 500 calls on shared inputs give results bit-identical to serial runs
    (the GIL is released inside the kernels, so the calls really run concurrently)."""
    import threading

    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 90, 16)).astype(np.float32) for _ in range(3))
    mask = rng.random((90, 90)) < 0.9
    m = cattn.MultiHeadAttention(16, 4, seed=0)
    calls = [lambda: cattn.scaled_dot_product_attention(q, k, v),
             lambda: cattn.scaled_dot_product_attention(q, k, v, mask, return_weights=True)[1],
             lambda: cattn.softmax(q),
             lambda: cattn.matmul(q, np.swapaxes(k, -1, -2)),
             lambda: m(q, is_causal=True)]
    serial = [c() for c in calls]
    bad = []

    def worker(t):
        for i in range(500):
            j = (t + i) % len(calls)
            if not np.array_equal(calls[j](), serial[j]):
                bad.append((t, i, j))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad


def test_same_bits_across_processes_and_thread_counts():
    code = ("import numpy as np, cattn, hashlib; r = np.random.default_rng(0); "
            "q = r.standard_normal((3, 200, 32)); "
            "o = cattn.scaled_dot_product_attention(q, q, q, is_causal=True); "
            "m = cattn.MultiHeadAttention(32, 4, seed=1)(q); "
            "print(hashlib.sha256(o.tobytes() + m.tobytes() + cattn.matmul(q, q.swapaxes(1, 2)).tobytes()).hexdigest())")
    digests = set()
    for threads in ("1", "2", "3", "1"):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=120, env=dict(os.environ, CATTN_NUM_THREADS=threads))
        assert r.returncode == 0, r.stderr
        digests.add(r.stdout.strip())
    assert len(digests) == 1
