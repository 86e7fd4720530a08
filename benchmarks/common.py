"""Shared pieces of the benchmark suite: a case, timing, and the float64 check before timing."""
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional

import numpy as np


@dataclass
class Case:
    """One measured operation: the same job done by cattn, NumPy and (when installed) PyTorch.

    funcs maps "cattn" / "numpy" / "torch" to a zero-argument callable returning a NumPy-comparable
    result; reference() returns the float64 answer every implementation is checked against."""
    group: str
    name: str
    funcs: Dict[str, Callable[[], object]]
    reference: Callable[[], np.ndarray]
    flops: float = 0.0
    bytes: float = 0.0  # the bytes a call must move at least (its operands read, its output written)
    rtol: float = 2e-4
    atol: float = 2e-4
    note: str = ""
    times: Dict[str, float] = field(default_factory=dict)


def to_numpy(x):
    if hasattr(x, "detach"):
        x = x.detach().cpu()
        if str(x.dtype) == "torch.bfloat16":  # NumPy has no bfloat16 of its own
            x = x.float()
        x = x.numpy()
    x = np.asarray(x)
    return x.astype(np.float32) if x.dtype.name == "bfloat16" else x


def check(case: Case):
    """Every implementation must agree with the float64 reference before it is timed."""
    want = case.reference()
    for who, f in case.funcs.items():
        got = to_numpy(f())
        if got.shape != want.shape or not np.allclose(got, want, case.rtol, case.atol):
            err = np.abs(got.astype(np.float64) - want).max() if got.shape == want.shape else "shape"
            raise AssertionError(f"{case.group} {case.name}: {who} disagrees with the reference "
                                 f"(max |diff| {err})")


def median_time(f: Callable[[], object], budget: float, min_runs: int = 3, max_runs: int = 200,
                samples: bool = False):
    """Median wall time of f over repeated runs, after one warm-up, within about `budget` s
    (or, with samples=True, the list of run times)."""
    f()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget and len(times) < max_runs):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return times if samples else float(np.median(times))


ROUNDS = 3  # the libraries take turns, so that a slow spell of the machine hits them all


def take_turns(funcs: Dict[str, Callable[[], object]], budget: float,
               setup: Optional[Callable[[str], object]] = None) -> Dict[str, float]:
    """{who: median seconds}: the callables timed in ROUNDS turns of budget / ROUNDS s each, one
    after the other; setup(who), when given, runs (untimed) before each of who's turns."""
    samples = {who: [] for who in funcs}
    for _ in range(ROUNDS):
        for who, f in funcs.items():
            # OpenBLAS's (and PyTorch's) idle threads spin for a while after a call and would
            # steal the cores from whoever is timed next: let them settle first
            time.sleep(0.3)
            if setup is not None:
                setup(who)
            samples[who] += median_time(f, budget / ROUNDS, min_runs=1, samples=True)
    return {who: float(np.median(ts)) for who, ts in samples.items()}


def call_by_call(funcs: Dict[str, Callable[[], object]], budget: float) -> Dict[str, float]:
    """{who: median seconds}: the callables called in turns, one call each, for about budget s
    (at least 5 rounds).  For calls of a millisecond and more of one library, none of which
    leaves threads spinning: each round sees the same machine, so the ratios between them hold
    where the machine drifts by 10-20 % from second to second (a memory-bound float32 decode
    against a compute-bound half one, say)."""
    for f in funcs.values():
        f()
    samples = {who: [] for who in funcs}
    start = time.perf_counter()
    while min(map(len, samples.values())) < 5 or time.perf_counter() - start < budget:
        for who, f in funcs.items():
            t0 = time.perf_counter()
            f()
            samples[who].append(time.perf_counter() - t0)
    return {who: float(np.median(ts)) for who, ts in samples.items()}


def median_time_per_call(f: Callable[[], object], calls: int = 2000, repeats: int = 7):
    """For tiny calls: the median over repeats of (time of `calls` calls) / calls."""
    f()
    per = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            f()
        per.append((time.perf_counter() - t0) / calls)
    return float(np.median(per))
