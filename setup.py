"""Build cattn's C extension.

The kernels in csrc/ are plain C; the files named *_avx2.c / *_avx512.c are compiled with their own
ISA flags and only run after the CPU probe in cpu.c says they may: the portable files get no
ISA flags at all, so the extension runs on any x86-64 (runtime dispatch, not a native-CPU build).

Test builds only: CATTN_EMULATE_AVX512=<dir> (the include directory of SIMDe, e.g.
`python -c "import simde_py; print(simde_py.get_include())"` after `pip install simde-py`) compiles
the *_avx512.c files against SIMDe's portable AVX-512 intrinsics on AVX2 instead, and lets the
probe offer that level on any AVX2 CPU -- so the AVX-512 kernels run under the test suite on a
machine without AVX-512 (.ci/run does this).  Slower than either real level; never for users.
"""
import os
import platform
import re
import sys

import numpy
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "csrc"
ISA_FLAGS = {
    "avx2": ["-mavx2", "-mfma"],
    "avx512": ["-mavx512f", "-mavx512dq", "-mavx2", "-mfma"],
}


def is_x86():
    return platform.machine().lower() in ("x86_64", "amd64", "i686", "x86") and sys.platform != "win32"


def emulate_avx512():
    """The SIMDe include directory when this is an emulated AVX-512 test build, else None."""
    path = os.environ.get("CATTN_EMULATE_AVX512", "")
    if not path:
        return None
    if not os.path.isfile(os.path.join(path, "simde", "x86", "avx512.h")):
        sys.exit(f"CATTN_EMULATE_AVX512={path!r}: no simde/x86/avx512.h there (pip install simde-py)")
    return path


def isa_sources():
    """ISA-specific sources present in csrc/, by level."""
    found = {}
    for level in ISA_FLAGS:
        files = sorted(f for f in os.listdir(CSRC) if f.endswith(f"_{level}.c"))
        if files:
            found[level] = [os.path.join(CSRC, f) for f in files]
    return found


class BuildExt(build_ext):
    """Compile each ISA file with its own flags into objects linked into the one extension."""

    def build_extension(self, ext):
        if is_x86():
            simde = emulate_avx512()
            if simde:
                ext.define_macros.append(("CATTN_EMULATE_AVX512", "1"))
            for level, sources in isa_sources().items():
                flags, includes = ISA_FLAGS[level], ext.include_dirs
                if level == "avx512" and simde:
                    flags, includes = ISA_FLAGS["avx2"] + ["-Wno-psabi"], includes + [simde]
                objects = self.compiler.compile(
                    sources,
                    output_dir=self.build_temp,
                    macros=ext.define_macros,
                    include_dirs=includes,
                    extra_postargs=ext.extra_compile_args + flags,
                )
                ext.extra_objects.extend(objects)
                ext.define_macros.append((f"CATTN_HAVE_{level.upper()}", "1"))
        super().build_extension(ext)


def version():
    """The one version string: CATTN_VERSION in csrc/cattn.h (the extension reports it too)."""
    with open(os.path.join(CSRC, "cattn.h")) as f:
        return re.search(r'#define CATTN_VERSION "([^"]+)"', f.read()).group(1)


portable = sorted(
    os.path.join(CSRC, f)
    for f in os.listdir(CSRC)
    if f.endswith(".c") and not any(f.endswith(f"_{lvl}.c") for lvl in ISA_FLAGS)
)

setup(
    version=version(),
    ext_modules=[
        Extension(
            "cattn._cattn",
            sources=portable,
            include_dirs=[numpy.get_include(), CSRC],
            define_macros=[],
            # -fno-tree-loop-distribute-patterns: GCC otherwise turns the short copy and zero loops of
            # the packing routines into memcpy/memset calls, whose call cost dominates small blocks;
            # -fno-trapping-math: lets GCC vectorise branch-free selects such as tanh.h's (nothing
            # here reads the floating-point exception flags: the loops clear them)
            extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wextra", "-fno-math-errno",
                                "-fno-trapping-math", "-fno-tree-loop-distribute-patterns"],
            extra_link_args=["-lpthread"],
            depends=[os.path.join(CSRC, f) for f in os.listdir(CSRC) if f.endswith((".h", ".inc"))],
        )
    ],
    cmdclass={"build_ext": BuildExt},
)
