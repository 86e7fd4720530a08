"""One signature per gufunc, with real argument names.

NumPy prepends a generated signature (``attention(x1, x2, x3, x4, /, out=None, *, casting=...``)
to a ufunc's docstring, so ``help()`` and Jupyter's tooltip would show two. Each docstring in
``csrc/glue/docs.h`` opens with the call's own signature (``attention(q, k, v, scale, /,
out=None)``): this module makes that line the ufunc's ``__doc__`` opening and its
``__signature__`` (NumPy 2 lets both be set; older NumPy keeps its generated line)."""
import inspect

import numpy as np


def _parse(line):
    """inspect.Signature of "name(params)" -- the first line of one of cattn's own docstrings."""
    params = line[line.index("(") + 1:line.rindex(")")]
    ns = {}
    exec(f"def f({params}): pass", ns)  # noqa: S102 -- constant text from csrc/glue/docs.h
    return inspect.signature(ns["f"])


def own_doc(uf):
    """The docstring cattn wrote for a ufunc, without NumPy's generated signature line."""
    doc = uf.__doc__ or ""
    first, _, rest = doc.partition("\n\n")
    return rest if "casting=" in first else doc


def apply(ufuncs):
    for uf in ufuncs:
        doc = own_doc(uf)
        first, _, body = doc.partition("\n\n")
        if uf.__name__.endswith("_ref"):
            base = uf.__name__[:-4]
            first = uf.__name__ + first[len(base):]
            body = (f"The reference-kernel twin of {base}: the same call on the plain C kernels "
                    f"(the oracle the tests compare the fast kernels with).")
        try:
            uf.__doc__ = f"{first}\n\n{body}"
            uf.__signature__ = _parse(first)
        except (AttributeError, TypeError):  # NumPy < 2: read-only; its generated line stays
            return


def ufuncs_of(module):
    return [getattr(module, n) for n in dir(module) if isinstance(getattr(module, n), np.ufunc)]
