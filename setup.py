"""Build cattn's C extension.

csrc/ is in layers, and the folders drive the build: csrc/glue (the only code that includes
Python.h), csrc/runtime (the dispatch table, the CPU probe, threads, the cost model) and
csrc/kernels (the portable kernels) are compiled without ISA flags, so the extension runs on any
x86-64 (runtime dispatch, not a native-CPU build); each csrc/isa/<level>/ folder is compiled with
the flags its FLAGS file lists, on the machines it names there, and runs only after the probe in
runtime/cpu.c says it may.  GCC and clang get the "gcc" flags, MSVC the "msvc" ones.

Test builds only: CATTN_EMULATE_AVX512=<dir> (the include directory of SIMDe, e.g.
`python -c "import simde_py; print(simde_py.get_include())"` after `pip install simde-py`) compiles
csrc/isa/avx512/ against SIMDe's portable AVX-512 intrinsics on AVX2 instead, and lets the
probe offer that level on any AVX2 CPU -- so the AVX-512 kernels run under the test suite on a
machine without AVX-512 (.ci/run does this).  CATTN_EMULATE_NEON=<dir> does the same for the
csrc/isa/neon/ files on x86-64 (the NEON level becomes the default).  Slower than the real levels;
never for users.
"""
import os
import platform
import re
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "csrc"
PORTABLE = ("runtime", "kernels", "glue")  # compiled without ISA flags
ISA = os.path.join(CSRC, "isa")


def isa_levels():
    """{level: {"arch": [...], "gcc": [...], "msvc": [...]}} from each csrc/isa/<level>/FLAGS."""
    levels = {}
    for level in sorted(os.listdir(ISA)):
        spec = {"arch": [], "gcc": [], "msvc": []}
        with open(os.path.join(ISA, level, "FLAGS")) as f:
            for line in f:
                words = line.split()
                if words and not words[0].startswith("#"):
                    spec[words[0]] = words[1:]
        levels[level] = spec
    return levels


ISA_LEVELS = isa_levels()

# the flags of every file: GCC/clang, MSVC.
# -fno-tree-loop-distribute-patterns: GCC otherwise turns the short copy and zero loops of the
# packing routines into memcpy/memset calls, whose call cost dominates small blocks;
# -fno-trapping-math: lets GCC vectorise branch-free selects such as tanh.h's (nothing here
# reads the floating-point exception flags: the loops clear them).
# MSVC: C11 with its atomics (stdatomic.h, Visual Studio 2022 17.5 and later).
COMMON_FLAGS = (["-O3", "-std=c11", "-Wall", "-Wextra", "-fno-math-errno", "-fno-trapping-math",
                 "-fno-tree-loop-distribute-patterns"],
                ["/O2", "/std:c11", "/experimental:c11atomics", "/W3"])


def arch():
    """'x86_64', 'arm64' or None (another architecture: the portable kernels only)."""
    m = platform.machine().lower()
    if m in ("x86_64", "amd64", "x64"):
        return "x86_64"
    if m in ("aarch64", "arm64", "armv8l", "armv8b"):
        return "arm64"
    return None


def emulated():
    """(level, SIMDe include directory) for a test build, else None: CATTN_EMULATE_AVX512 or
    CATTN_EMULATE_NEON names SIMDe's directory; x86-64 with GCC/clang only."""
    for level, var, header in (("avx512", "CATTN_EMULATE_AVX512", "simde/x86/avx512.h"),
                               ("neon", "CATTN_EMULATE_NEON", "simde/arm/neon.h")):
        path = os.environ.get(var, "")
        if not path:
            continue
        if not os.path.isfile(os.path.join(path, *header.split("/"))):
            sys.exit(f"{var}={path!r}: no {header} there (pip install simde-py)")
        if arch() != "x86_64":
            sys.exit(f"{var}: emulation is for x86-64 test builds")
        return level, path
    return None


def sources(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".c"))


class BuildExt(build_ext):
    """Compile each ISA file with its own flags, and every file on every core, into objects linked
    into the one extension."""

    def build_extension(self, ext):
        msvc = self.compiler.compiler_type == "msvc"
        ext.extra_compile_args = list(COMMON_FLAGS[msvc])
        ext.extra_link_args = [] if msvc or sys.platform == "win32" else ["-lpthread"]
        levels = [lvl for lvl, spec in ISA_LEVELS.items() if arch() in spec["arch"]]
        emu = None if msvc else emulated()
        if emu:
            ext.define_macros.append((f"CATTN_EMULATE_{emu[0].upper()}", "1"))
            levels += [lvl for lvl in ISA_LEVELS if lvl.startswith(emu[0]) and lvl not in levels]
        jobs = []  # (source, its flags, its include directories)
        for level in levels:
            flags, includes = ISA_LEVELS[level]["msvc" if msvc else "gcc"], ext.include_dirs
            if emu and level.startswith(emu[0]):  # SIMDe's portable intrinsics, on AVX2
                # (avx512bf16 with avx512: the folder of the avx512 table's bfloat16 entry)
                flags, includes = ISA_LEVELS["avx2"]["gcc"] + ["-Wno-psabi"], includes + [emu[1]]
            jobs += [(src, flags, includes) for src in sources(os.path.join(ISA, level))]
            ext.define_macros.append((f"CATTN_HAVE_{level.upper()}", "1"))
        jobs += [(src, [], ext.include_dirs) for src in ext.sources]

        def compile_one(job):
            src, flags, includes = job
            return self.compiler.compile([src], output_dir=self.build_temp,
                                         macros=ext.define_macros, include_dirs=includes,
                                         extra_postargs=ext.extra_compile_args + flags)

        # one compiler process per file, as many at once as there are cores (the first alone:
        # it sets the compiler up); then setuptools links them, relinking when a source changed
        objects = compile_one(jobs[0])
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for objs in pool.map(compile_one, jobs[1:]):
                objects += objs
        ext.extra_objects.extend(objects)
        # relink when any object changed, the ISA folders' included: setuptools compares these
        # with the extension's file (the ISA files are not among ext.sources)
        ext.depends = list(ext.depends) + list(ext.sources) + objects
        ext.sources = []
        super().build_extension(ext)


def version():
    """The one version string: CATTN_VERSION in csrc/cattn.h (the extension reports it too)."""
    with open(os.path.join(CSRC, "cattn.h")) as f:
        return re.search(r'#define CATTN_VERSION "([^"]+)"', f.read()).group(1)


setup(
    version=version(),
    ext_modules=[
        Extension(
            "cattn._cattn",
            sources=[src for layer in PORTABLE for src in sources(os.path.join(CSRC, layer))],
            include_dirs=[numpy.get_include(), CSRC],
            define_macros=[],
            # the compile and link flags are the compiler's: BuildExt sets them
            depends=[os.path.join(d, f) for d, _, files in os.walk(CSRC) for f in files
                     if f.endswith((".h", ".inc", "FLAGS"))],
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
