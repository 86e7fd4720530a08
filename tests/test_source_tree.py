"""The C source tree shows its layers (issue 23): glue -> runtime -> kernels, one folder per ISA.

Each rule here can fail: a Python.h include outside csrc/glue, a kernel or runtime file that
reaches into the glue, an ISA folder without its FLAGS or its table.c, a table entry written
outside a table.c, or ISA flags written in setup.py or scripts/c_check.sh instead of FLAGS."""
import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
CSRC = os.path.join(ROOT, "csrc")


def c_files(*parts):
    top = os.path.join(CSRC, *parts)
    for d, _, files in os.walk(top):
        for f in files:
            if f.endswith((".c", ".h", ".inc")):
                yield os.path.relpath(os.path.join(d, f), CSRC)


def includes(rel):
    with open(os.path.join(CSRC, rel), encoding="utf-8") as f:
        return re.findall(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', f.read(), re.M)


def test_the_layers_are_the_folders():
    assert sorted(os.listdir(CSRC)) == ["cattn.h", "glue", "isa", "kernels", "runtime"]
    # the levels, and avx512bf16: the avx512 table's bfloat16 entry, compiled with its own flags
    assert sorted(os.listdir(os.path.join(CSRC, "isa"))) == ["avx2", "avx512", "avx512bf16", "neon"]


@pytest.mark.parametrize("rel", sorted(c_files()))
def test_only_the_glue_includes_python_and_nothing_reaches_into_it(rel):
    inc = includes(rel)
    python = [i for i in inc if i in ("Python.h",) or i.startswith("numpy/")]
    if rel.startswith("glue" + os.sep):
        return
    assert not python, f"{rel} includes {python}: only csrc/glue may"
    assert not [i for i in inc if i.startswith("glue/") or i in ("loops.h", "docs.h")], rel


@pytest.mark.parametrize("rel", sorted(c_files("kernels")) + sorted(c_files("runtime")))
def test_portable_code_includes_no_isa_folder(rel):
    assert not [i for i in includes(rel) if i.startswith("isa/")], rel


@pytest.mark.parametrize("level", ["avx2", "avx512", "avx512bf16", "neon"])
def test_each_isa_folder_has_its_flags_and_its_table(level):
    folder = os.path.join(CSRC, "isa", level)
    with open(os.path.join(folder, "FLAGS")) as f:
        keys = [line.split()[0] for line in f if line.strip() and not line.startswith("#")]
    assert keys == ["arch", "gcc", "msvc"]
    if level == "avx512bf16":  # an extension of avx512's table: its bfloat16 entries only
        with open(os.path.join(folder, "table.c")) as f:
            written = set(re.findall(r"\bt->(\w+)\s*=[^=]", f.read()))
        assert written == {"bmr", "bnr", "bgemm_ukr", "bdot_rows"}
        return
    assert "runtime/level_table.inc" in includes(os.path.join("isa", level, "table.c"))


def test_table_entries_are_written_in_one_place():
    """A kernel table's entries (t->sgemm_ukr = ...) are written only by level_table.inc (every
    vector level), avx512's table.c (its tall tile) and avx512bf16's (the bfloat16 pair tile),
    and the portable table by cpu.c."""
    writers = set()
    for rel in c_files():
        with open(os.path.join(CSRC, rel), encoding="utf-8") as f:
            if re.search(r"\b\w+->(sgemm_ukr|dgemm_ukr|bgemm_ukr|sexp_sum|sdot|sdot_rows|smax)"
                         r"\s*=[^=]",
                         f.read()):
                writers.add(rel.replace(os.sep, "/"))
    assert writers == {"runtime/level_table.inc", "isa/avx512/table.c", "isa/avx512bf16/table.c"}


@pytest.mark.parametrize("path", ["setup.py", os.path.join("scripts", "c_check.sh")])
def test_isa_flags_are_written_once(path):
    with open(os.path.join(ROOT, path)) as f:
        text = f.read()
    for flag in ("-mavx2", "-mavx512f", "/arch:AVX2", "/arch:AVX512"):
        assert flag not in text, f"{path} writes {flag}: it belongs in csrc/isa/<level>/FLAGS"
    assert "FLAGS" in text
