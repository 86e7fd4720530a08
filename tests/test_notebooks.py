"""Every notebook in examples/ runs top to bottom, headless, without error (nbclient +
ipykernel, from the test extra). Each ends with a cell that asserts its key results (06 and 07 train
their models here: accuracy thresholds, the loss's drop)."""
import glob
import os

import pytest

from conftest import AVAILABLE

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
NOTEBOOKS = sorted(glob.glob(os.path.join(EXAMPLES, "*.ipynb")))


def test_the_seven_notebooks_are_there():
    names = [os.path.basename(p) for p in NOTEBOOKS]
    assert names == ["01_seq2seq_bottleneck.ipynb", "02_dot_product_and_matmul.ipynb",
                     "03_qkv_step_by_step.ipynb", "04_self_and_multi_head.ipynb",
                     "05_why_it_is_fast.ipynb", "06_learning_to_align.ipynb",
                     "07_tiny_transformer.ipynb"]


# The lessons that train (06, 07) must reach their key results on every code path: a model's
# training follows the rounding of its kernels, so a claim that holds on one level can fail on
# another.  They run on each level this machine and build offer (one when CATTN_ARCH names it:
# scripts/emulate.sh runs them on an emulated level); the other notebooks on the default level.
TRAINING = ("06_learning_to_align.ipynb", "07_tiny_transformer.ipynb")
RUNS = [(p, lv) for p in NOTEBOOKS for lv in
        (AVAILABLE if os.path.basename(p) in TRAINING else [None])]


def run_notebook(path, level, monkeypatch):
    """Execute the notebook headless (on `level`, or the default one); returns the text its last
    cell printed and the level its kernel ran on."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if level is not None:
        monkeypatch.setenv("CATTN_ARCH", level)  # the kernel process starts on it
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "from cattn import _cattn as _c; print('level:', _c.get_config()['level'])"))
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": EXAMPLES}})
    client.execute()  # raises CellExecutionError on the first failing cell
    code = [c for c in nb.cells if c.cell_type == "code"]
    last, probe = code[-2], code[-1]
    assert "# key results" in last.source

    def text(cell):
        return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
    return text(last), text(probe).split()[-1]


@pytest.mark.parametrize("path,level", RUNS,
                         ids=[os.path.basename(p)[:-6] + (f"-{lv}" if lv else "") for p, lv in RUNS])
def test_notebook_runs(path, level, monkeypatch):
    printed, ran_on = run_notebook(path, level, monkeypatch)
    print(f"{os.path.basename(path)} on {ran_on}:\n{printed}")  # the key numbers: pytest -rP
    assert "ok" in printed
    if level is not None:
        assert ran_on == level  # the lesson ran on the level it names, not a fallback


def test_notebooks_match_their_sources():
    """Each examples/NN_name.ipynb is written from its readable source, examples/NN_name.py
    (percent format; scripts/make_notebooks.py): an edit to one without the other would drift
    (run the script after changing a source)."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location(
        "make_notebooks", os.path.join(EXAMPLES, "..", "scripts", "make_notebooks.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    sources = gen.sources()
    assert [os.path.basename(p)[:-3] + ".ipynb" for p in sources] == \
        [os.path.basename(p) for p in NOTEBOOKS]
    for src in sources:
        with open(src[:-3] + ".ipynb", encoding="utf-8") as f:
            have = [(c["cell_type"], "".join(c["source"])) for c in json.load(f)["cells"]]
        assert have == gen.cells_of(src), src
        assert have[0][0] == "markdown" and any(k == "code" for k, _ in have)
