"""Every public name carries a docstring with a runnable example, and the examples run.
(pytest's --doctest-modules runs those of the Python modules; the gufuncs' docstrings live in C,
so they are run here.)  Each gufunc shows one signature, with real argument names."""
import doctest
import inspect
import pydoc

import numpy as np
import pytest

import cattn

PUBLIC = [getattr(cattn, n) for n in cattn.__all__]


UFUNCS = [n for n in cattn.__all__ if isinstance(getattr(cattn, n), np.ufunc)]


@pytest.mark.parametrize("name", UFUNCS)
def test_gufunc_docstring_examples_run(name):
    uf = getattr(cattn, name)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(uf.__doc__, {"np": np, "cattn": cattn}, name, None, 0)
    assert test.examples, f"{name} has no example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.parametrize("obj", PUBLIC, ids=lambda o: getattr(o, "__name__", repr(o)))
def test_every_public_name_has_an_example(obj):
    assert ">>>" in (obj.__doc__ or ""), obj


ALL_UFUNCS = [getattr(cattn._cattn, n) for n in dir(cattn._cattn)
              if isinstance(getattr(cattn._cattn, n), np.ufunc)]
NUMPY_2 = int(np.__version__.split(".")[0]) >= 2


@pytest.mark.skipif(not NUMPY_2, reason="NumPy < 2 keeps its generated ufunc signature")
@pytest.mark.parametrize("uf", ALL_UFUNCS, ids=lambda u: u.__name__)
def test_one_signature_with_real_names(uf):
    """help() shows the hand-written signature once, without NumPy's x1, x2, ... line, and
    inspect.signature (Jupyter's tooltip) gives the same names."""
    text = pydoc.render_doc(uf, renderer=pydoc.plaintext)
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(uf.__name__ + "(")]
    assert len(lines) == 1, lines
    assert "x1" not in lines[0] and "casting=" not in lines[0], lines[0]
    params = list(inspect.signature(uf).parameters)
    assert "out" in params and not any(p.startswith("x") and p[1:].isdigit() for p in params)
    assert params[: uf.nin] == [p.strip() for p in lines[0].split("(", 1)[1].split(",")][: uf.nin]


def test_attention_names_scale_and_points_to_sdpa():
    assert list(inspect.signature(cattn.attention).parameters)[:4] == ["q", "k", "v", "scale"]
    assert "scaled_dot_product_attention" in cattn.attention.__doc__


CLASSES = [getattr(cattn, n) for n in cattn.__all__ if isinstance(getattr(cattn, n), type)]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_public_method_has_a_docstring(cls):
    missing = [name for name, f in inspect.getmembers(cls, callable)
               if not name.startswith("_") and not (f.__doc__ or "").strip()]
    assert not missing, f"{cls.__name__}: {missing}"


def test_the_lessons_are_installed_but_not_api():
    """cattn.lessons (the date model, the walk-through) ships with cattn for python -m cattn and
    the notebooks, outside cattn.__all__ and so outside the API reference (issue 23)."""
    import cattn.lessons.dates
    import cattn.lessons.walkthrough  # noqa: F401

    assert not {"dates", "lessons", "walkthrough"} & set(cattn.__all__)
    assert callable(cattn.lessons.dates.alignment)
