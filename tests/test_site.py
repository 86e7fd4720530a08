"""The documentation site's sources (issue 25), checked without building it (CI builds it with
-W, which also fails on a public name without a page, docs/_ext.py): every public name is listed
in the API reference, every page is reachable from the index, and the lessons are the notebooks."""
import os
import re

import cattn
import cattn.nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DOCS = os.path.join(ROOT, "docs")


def read(*path):
    with open(os.path.join(DOCS, *path), encoding="utf-8") as f:
        return f.read()


def test_every_public_name_is_in_the_api_reference():
    api = read("api.rst")
    listed = {}
    module = "cattn"
    for line in api.splitlines():
        m = re.match(r"\.\. currentmodule:: (\S+)", line)
        if m:
            module = m.group(1)
        elif re.match(r"   [A-Za-z_]\w*$", line):
            listed[f"{module}.{line.strip()}"] = True
    documented = {id(eval(n, {"cattn": cattn})) for n in listed}  # noqa: S307 -- our names
    for name in [f"cattn.{n}" for n in cattn.__all__ if n != "nn"] + \
            [f"cattn.nn.{n}" for n in cattn.nn.__all__]:
        assert id(eval(name, {"cattn": cattn})) in documented, name


def test_every_page_is_in_the_index():
    index = read("index.md")
    for page in os.listdir(DOCS):
        stem, ext = os.path.splitext(page)
        if ext in (".md", ".rst") and stem != "index":
            assert re.search(rf"^{stem}$", index, flags=re.M), page


def test_the_lessons_page_lists_every_notebook():
    lessons = read("lessons.md")
    notebooks = sorted(f[:-6] for f in os.listdir(os.path.join(ROOT, "examples"))
                       if f.endswith(".ipynb"))
    assert re.findall(r"^lessons/(\S+)$", lessons, flags=re.M) == notebooks


def test_the_build_command_is_documented_and_the_site_is_source_only():
    cmd = "python -m sphinx -W --keep-going -b html docs docs/_build/html"
    assert cmd in read("conf.py") and cmd in read("contributing.md")
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert cmd in f.read()
    with open(os.path.join(ROOT, ".gitignore"), encoding="utf-8") as f:
        ignored = f.read().split()
    assert {"docs/_build/", "docs/lessons/", "docs/api/"} <= set(ignored)
