"""Which CPU code path cattn runs: show_config() and set_level()."""
import warnings

from . import _cattn

if _cattn.bad_arch:
    import os

    warnings.warn(
        f"cattn: CATTN_ARCH={os.environ.get('CATTN_ARCH')!r} is not one of 'ref', 'avx2', "
        f"'avx512', 'neon'; using {_cattn.get_config()['level']!r}",
        RuntimeWarning,
        stacklevel=2,
    )


def config():
    """The configuration as a dict: version, level (the code path in use), best (the CPU's),
    levels (every code path this CPU and build offer, lowest first)."""
    return _cattn.get_config()


def show_config():
    """Print the version, the CPU code paths available and chosen.

    >>> show_config()  # doctest: +ELLIPSIS
    cattn ...
    """
    c = config()
    print(f"cattn {c['version']}")
    print(f"  code paths: {', '.join(c['levels'])} available on this CPU and build")
    if c.get("avx512_emulated"):
        print("  note      : a test build -- avx512 runs on SIMDe's emulation, not the CPU's AVX-512")
    if c.get("neon_emulated"):
        print("  note      : a test build -- neon runs on SIMDe's emulation on x86-64, not on ARM")
    print(f"  code path : {c['level']} in use (CATTN_ARCH=ref|avx2|avx512|neon or cattn.set_level "
          "caps it)")
    print(f"  threads   : {c['threads']} (CATTN_NUM_THREADS or cattn.set_num_threads(n))")
    # the cost model (csrc/runtime/cost.c): each level's GEMM microkernel speed, measured in this
    # process, and the tile it picks for a few shapes: time = padded work / measured rate
    rates = _cattn.gemm_rates()
    print("  GEMM rate : multiply-adds per ns of each level's microkernel, measured here "
          "(float32 / float64)")
    for level, r in rates.items():
        f32 = [k for k in r if k.startswith("float32 ")]  # the level's other tiles
        f64 = [k for k in r if k.startswith("float64 ")]
        others = "".join(f"; {a.split()[1]}, {b.split()[1]} tiles: {r[a]:.1f} / {r[b]:.1f}"
                         for a, b in zip(f32, f64))
        print(f"              {level:<7}{r['float32']:7.1f} / {r['float64']:5.1f}{others}")
    shapes = [(6, 16, 64), (16, 16, 64), (96, 512, 64), (1000, 1000, 1000)]
    picks = ", ".join(f"{m}x{n}x{k} -> {_cattn.gemm_choice(m, n, k, False)}"
                      for m, n, k in shapes)
    print(f"  GEMM tile : float32 {picks}")
    # bfloat16's own tile (AVX512-BF16's vdpbf16ps: pairs along k), where the CPU has it
    pair = [(level, k, v) for level, r in rates.items() for k, v in r.items()
            if k.startswith("bfloat16 ")]
    for level, key, v in pair:
        pick = _cattn.gemm_choice(2048, 2048, 2048, 2, level)
        print(f"  bfloat16  : {level} {key.split()[1]} pair tile (AVX512-BF16 vdpbf16ps), {v:.1f} "
              f"multiply-adds per ns; 2048x2048x2048 -> {pick}")
    if not pair:
        print("  bfloat16  : no bfloat16 dot product on this CPU: converted to float32 as packed")


def set_num_threads(n):
    """Use n threads (1 to 256) in cattn's kernels; results are bitwise the same for any n.

    >>> import cattn
    >>> n = cattn.get_num_threads()
    >>> cattn.set_num_threads(1); cattn.get_num_threads()
    1
    >>> cattn.set_num_threads(n)
    """
    if isinstance(n, bool) or not isinstance(n, (int,)) and not hasattr(n, "__index__"):
        raise TypeError(f"set_num_threads: n must be an int, got {n!r}")
    _cattn.set_num_threads(int(n))


def get_num_threads():
    """The number of threads cattn's kernels use (CATTN_NUM_THREADS, else the CPUs available).

    >>> import cattn
    >>> cattn.get_num_threads() >= 1
    True
    """
    return _cattn.get_num_threads()


def set_level(level):
    """Force the CPU code path: 'ref' (portable C), 'avx2' or 'avx512' (x86-64), 'neon' (ARM64):
    one of config()["levels"].

    >>> import cattn
    >>> best = cattn._config.config()["best"]
    >>> cattn.set_level("ref"); cattn._config.config()["level"]
    'ref'
    >>> cattn.set_level(best)
    """
    _cattn.set_level(str(level))
