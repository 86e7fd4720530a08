"""docs/architecture.md walks one call from Python to the kernel, file by file (issue 23). This
checks that every file it names exists and that every name written right after a file -- "`file`:
`a`, `b`" or "`file` (`a`, `b`)" -- occurs in that file, so the walk cannot drift from the code
unnoticed."""
import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DOC = os.path.join(ROOT, "docs", "architecture.md")
PATH = r"`((?:python|csrc|tests|docs|scripts|benchmarks)/[\w./<>-]+)`"
NAMES = r"((?:`[\w.()]+`,?\s*)+)"


def doc():
    with open(DOC, encoding="utf-8") as f:
        return f.read()


def paths():
    return sorted({p for p in re.findall(PATH, doc()) if "<" not in p})


def named():
    """(file, name) for each name written right after a file."""
    pairs = []
    for m in re.finditer(PATH + r"(?::\s*\(?|\s*\()\s*" + NAMES, doc()):
        for name in re.findall(r"`([\w.()]+)`", m.group(2)):
            pairs.append((m.group(1), name.rstrip("()").split(".")[-1]))
    return pairs


def test_the_walk_names_files_and_functions():
    assert len(paths()) >= 15 and len(named()) >= 30


@pytest.mark.parametrize("path", paths())
def test_every_file_named_exists(path):
    assert os.path.exists(os.path.join(ROOT, path)), path


def is_in(path, name):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return re.search(rf"\b{re.escape(name)}\b", f.read()) is not None


@pytest.mark.parametrize("path,name", named())
def test_every_name_is_in_its_file(path, name):
    assert is_in(path, name), f"{name} is not in {path}"


def test_the_check_catches_a_stale_name(tmp_path, monkeypatch):
    fake = tmp_path / "architecture.md"
    fake.write_text("1. `python/cattn/functional.py`: `sdpa_plan`, `_SDPA`.\n")
    monkeypatch.setitem(globals(), "DOC", str(fake))
    assert named() == [("python/cattn/functional.py", "sdpa_plan"),
                       ("python/cattn/functional.py", "_SDPA")]
    assert is_in(*named()[0]) and not is_in(*named()[1])
