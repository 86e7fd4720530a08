"""The library, the lessons' sources (examples/NN_name.py), the scripts, the benchmarks and the
tests pass pyflakes: no unused import, no undefined name, no f-string without a placeholder
(issue 23: the lessons were code inside string literals, out of reach of any linter)."""
import glob
import os

import pytest

api = pytest.importorskip("pyflakes.api")
from pyflakes import reporter as _reporter  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FILES = sorted(
    p for pattern in ("python/cattn/**/*.py", "examples/*.py", "scripts/*.py",
                      "benchmarks/*.py", "fuzz/*.py", "tests/*.py", "docs/*.py")
    for p in glob.glob(os.path.join(ROOT, pattern), recursive=True))


class _Collect(_reporter.Reporter):
    def __init__(self):
        self.messages = []

    def unexpectedError(self, filename, msg):
        self.messages.append(f"{filename}: {msg}")

    def syntaxError(self, filename, msg, lineno, offset, text):
        self.messages.append(f"{filename}:{lineno}: {msg}")

    def flake(self, message):
        self.messages.append(str(message))


def test_the_lessons_have_sources():
    assert len(glob.glob(os.path.join(ROOT, "examples", "[0-9][0-9]_*.py"))) == 7


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_pyflakes(path):
    r = _Collect()
    api.checkPath(path, r)
    assert r.messages == []


def test_the_check_catches_an_unused_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    r = _Collect()
    api.checkPath(str(bad), r)
    assert r.messages and "imported but unused" in r.messages[0]
