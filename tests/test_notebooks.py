"""Every notebook in examples/ runs top to bottom, headless, without error (nbclient +
ipykernel, from the test extra). Each ends with a cell that asserts its key results (06 and 07 train
their models here: accuracy thresholds, the loss's drop)."""
import glob
import os

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
NOTEBOOKS = sorted(glob.glob(os.path.join(EXAMPLES, "*.ipynb")))


def test_the_seven_notebooks_are_there():
    names = [os.path.basename(p) for p in NOTEBOOKS]
    assert names == ["01_seq2seq_bottleneck.ipynb", "02_dot_product_and_matmul.ipynb",
                     "03_qkv_step_by_step.ipynb", "04_self_and_multi_head.ipynb",
                     "05_why_it_is_fast.ipynb", "06_learning_to_align.ipynb",
                     "07_tiny_transformer.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs(path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": EXAMPLES}})
    client.execute()  # raises CellExecutionError on the first failing cell
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert "# key results" in last.source
    text = "".join(o.get("text", "") for o in last.outputs if o.get("output_type") == "stream")
    assert "ok" in text


def test_notebooks_match_their_generator():
    """examples/*.ipynb are written by scripts/make_notebooks.py: an edit to one without the
    other would drift (run the script after changing its cells)."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location(
        "make_notebooks", os.path.join(EXAMPLES, "..", "scripts", "make_notebooks.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert sorted(gen.NOTEBOOKS) == [os.path.basename(p)[:-6] for p in NOTEBOOKS]
    for name, cells in gen.NOTEBOOKS.items():
        with open(os.path.join(EXAMPLES, name + ".ipynb"), encoding="utf-8") as f:
            have = [(c["cell_type"], "".join(c["source"])) for c in json.load(f)["cells"]]
        assert have == list(cells), name
