"""Shared fixtures: every kernel test runs on every CPU code path this machine has -- or, when
CATTN_ARCH names one, on that one only, so that each (build, level) pair runs the suite once."""
import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import cattn
from cattn import _cattn

# Hypothesis profiles: "default" for every pytest run, "thorough" (1,000 cases per property) for
# CI's dedicated run: pytest tests/test_properties.py --hypothesis-profile=thorough
settings.register_profile("default", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")

LEVELS = ["ref", "avx2", "avx512", "neon"]
AVAILABLE = _cattn.get_config()["levels"]  # the levels this CPU and build offer
if os.environ.get("CATTN_ARCH") in LEVELS:  # the level the module started on (capped to best)
    AVAILABLE = [_cattn.get_config()["level"]]


@pytest.fixture(params=AVAILABLE)
def level(request):
    """Run the test with the dispatch table at one level, then restore the default."""
    before = _cattn.get_config()["level"]
    cattn.set_level(request.param)
    yield request.param
    cattn.set_level(before)


def prefetches(function):
    """How many prefetch instructions the compiled `function` (a symbol of _cattn, static ones
    too) holds, from objdump's disassembly. GCC 12 silently drops __builtin_prefetch from a small
    helper that only prefetches, so a prefetch that matters is checked in the binary itself.
    Skips where the binary is not x86-64 ELF or objdump is missing."""
    import platform
    import shutil
    import subprocess
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        pytest.skip("the check reads x86-64 ELF disassembly")
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    text = subprocess.run([objdump, "-d", "--no-show-raw-insn", f"--disassemble={function}",
                           _cattn.__file__], capture_output=True, text=True, check=True).stdout
    assert f"<{function}>:" in text, f"{function} is not in {_cattn.__file__}"
    return text.count("prefetch")


def tol(dtype):
    """(rtol, atol) for comparing a result computed in `dtype` with the float64 reference."""
    return (2e-5, 2e-5) if np.dtype(dtype) == np.float32 else (1e-11, 1e-11)


def layouts(a):
    """The same values as `a` in the memory layouts NumPy hands to cattn's loops as they are --
    strided views, none of them copied first -- by name."""
    a = np.asarray(a)
    out = {"contiguous": np.ascontiguousarray(a), "fortran": np.asfortranarray(a)}
    if a.ndim >= 1:
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        big[..., ::2] = a
        out["step2"] = big[..., ::2]
        rev = np.ascontiguousarray(a[..., ::-1])
        out["negative"] = rev[..., ::-1]
    if a.ndim >= 2:
        out["transposed"] = np.ascontiguousarray(np.swapaxes(a, -1, -2)).swapaxes(-1, -2)
        rows = np.ascontiguousarray(a[..., ::-1, :])
        out["negative_rows"] = rows[..., ::-1, :]
    if a.ndim >= 3:  # batch items neither contiguous nor evenly after one another
        pad = np.zeros((a.shape[0], a.shape[1] + 3) + a.shape[2:], a.dtype)
        pad[:, 3:] = a
        out["strided_batch"] = pad[:, 3:]
    return out


def is_a_view_numpy_passes_as_is(x):
    """Aligned and in native byte order: NumPy gives cattn's loop x's own memory and strides."""
    return x.flags.aligned and x.dtype.isnative


def pytest_sessionfinish(session, exitstatus):
    """Under the sanitizers (scripts/sanitize.sh): LeakSanitizer's check, now, with every thread
    the tests started ended or parked, instead of at exit while the interpreter tears threads
    down. The check is the same; a leak still ends the run with a report, and LeakSanitizer does
    not check again at exit. (Its tracer's crashes, "Tracer caught signal 11", came from the
    runtime's __tls_get_addr interceptor: sanitize.sh turns it off.)"""
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        import ctypes
        import threading
        import time

        # dask's thread pool (test_interop) outlives the tests, its workers idle until exit:
        # shut it down, so that they end now, like every other thread the tests started
        dask_threaded = sys.modules.get("dask.threaded")
        if dask_threaded is not None:
            pools = [dask_threaded.default_pool] + [p for by_n in dask_threaded.pools.values()
                                                    for p in by_n.values()]
            for pool in pools:
                if pool is not None:
                    pool.shutdown(wait=True)
        # Threads the tests started and joined may still be inside their exit: Python's join
        # returns before the OS thread is gone. Let them finish first.
        for t in threading.enumerate():
            if t is not threading.main_thread() and not t.daemon:
                t.join(timeout=5)
        time.sleep(1.0)
        check = getattr(ctypes.CDLL(None), "__lsan_do_leak_check", None)
        if check is not None:
            check()
