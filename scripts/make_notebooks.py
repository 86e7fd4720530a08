"""Write examples/NN_name.ipynb from its source, examples/NN_name.py (run: python
scripts/make_notebooks.py). Each source is a plain Python file in the percent format of jupytext
and VS Code: a line ``# %%`` starts a code cell, ``# %% [markdown]`` a text cell whose lines are
comments (``# `` taken off). So a lesson is read, linted and diffed as Python, and opened as a
notebook by Jupyter. tests/test_notebooks.py checks each .ipynb against its source and executes
every one headless.

The lessons teach attention in order, in the project's own words, with the Chinese terms of our
course beside the English ones; each runs top to bottom with fixed seeds (01-05 in well under a
minute, 06-07 train in under two minutes on 2 cores) and ends with a cell that asserts its key
results."""
import glob
import json
import os

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")


def cells_of(path):
    """[(kind, source)] of a percent-format file: kind "code" or "markdown"."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    cells, kind, body = [], None, []

    def close():
        if kind is not None:
            cells.append((kind, "\n".join(body).strip("\n")))

    for line in lines:
        if line.startswith("# %%"):
            close()
            kind, body = ("markdown" if "[markdown]" in line else "code"), []
        elif kind == "markdown":
            body.append("" if line == "#" else line[2:] if line.startswith("# ") else line)
        elif kind is not None:
            body.append(line)
    close()
    return cells


def notebook(cells):
    out = []
    for i, (kind, src) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"cell-{i:02d}", "metadata": {},
                "source": src.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)
    return {"cells": out, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}}}


def sources():
    return sorted(glob.glob(os.path.join(EXAMPLES, "[0-9][0-9]_*.py")))


def main():
    for src in sources():
        path = src[:-3] + ".ipynb"
        with open(path, "w", encoding="utf-8") as f:
            json.dump(notebook(cells_of(src)), f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("wrote", os.path.relpath(path))


if __name__ == "__main__":
    main()
