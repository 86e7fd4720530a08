"""Every public name carries a docstring with a runnable example, and the examples run.
(pytest's --doctest-modules runs those of the Python modules; the gufuncs' docstrings live in C,
so they are run here.)"""
import doctest

import numpy as np
import pytest

import cattn

PUBLIC = [getattr(cattn, n) for n in cattn.__all__]


@pytest.mark.parametrize("obj", PUBLIC, ids=lambda o: getattr(o, "__name__", repr(o)))
def test_has_a_docstring(obj):
    assert (obj.__doc__ or "").strip(), f"{obj} has no docstring"


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
    assert ">>>" in obj.__doc__, obj
