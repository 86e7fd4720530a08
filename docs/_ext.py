"""The site's own Sphinx extension.

- The gufuncs are documented as functions (``autoufunc``): autodoc would take a ``np.ufunc`` for
  data; their signatures are the hand-written ones NumPy shows (``inspect.signature``).
- Every public name (``cattn.__all__`` and ``cattn.nn.__all__``) has an API page: a name
  without one is a build warning, so ``-W`` fails the build.
- Screenshots of the viewer (``cattn.view``) in lessons 04, 06 and 07, taken from the built pages
  with headless Chromium (a token hovered), for the viewer's page: ``_static/viewer/NN.png``.
  Where no browser is installed the page says so; where one is and fails, the build warns.
"""
import base64
import importlib
import inspect
import os

import numpy as np
from sphinx.ext.autodoc import FunctionDocumenter
from sphinx.util import logging

from _browser import browser

LOG = logging.getLogger(__name__)


def public_names():
    import cattn
    import cattn.nn

    names = [f"cattn.{n}" for n in cattn.__all__ if n != "nn"]
    names += [f"cattn.nn.{n}" for n in cattn.nn.__all__]
    return names


class UfuncDocumenter(FunctionDocumenter):
    """A gufunc, documented as the function it is to its users."""

    objtype = "ufunc"
    directivetype = "function"
    priority = FunctionDocumenter.priority + 10

    @classmethod
    def can_document_member(cls, member, membername, isattr, parent):
        return isinstance(member, np.ufunc)

    def format_args(self, **kwargs):
        return str(inspect.signature(self.object))


def resolve(name):
    """The object a dotted name stands for, or None."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for p in parts[i:]:
                obj = getattr(obj, p)
        except AttributeError:
            return None
        return obj
    return None


def check_api_pages(app, env):
    """A public name has a page when the object it names is documented (under any of its
    names: cattn.nn.MultiHeadAttention is cattn.MultiHeadAttention)."""
    documented = {id(resolve(n)) for n in env.domaindata.get("py", {}).get("objects", {})}
    for name in public_names():
        if id(resolve(name)) not in documented:
            LOG.warning("the public name %s has no API page (add it to docs/api.rst)", name)


SCREENSHOTS = {"04": "04_self_and_multi_head", "06": "06_learning_to_align",
               "07": "07_tiny_transformer"}


def viewer_screenshots(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    b = browser()  # _browser.py
    if b is None:
        LOG.info("no headless Chromium: the viewer's screenshots are not made")
        return
    from selenium.webdriver import ActionChains
    from selenium.webdriver.common.by import By

    out = os.path.join(app.outdir, "_static", "viewer")
    os.makedirs(out, exist_ok=True)
    try:
        for key, page in SCREENSHOTS.items():
            b.get("file://" + os.path.join(app.outdir, "lessons", page + ".html"))
            # the theme's sticky header and back-to-top button would cover the view
            b.execute_script("document.querySelectorAll('header, #pst-back-to-top, "
                             ".bd-sidebar-primary').forEach(function (e) { e.remove(); });")
            view = b.find_element(By.CSS_SELECTOR, ".cattn-view")
            # an output area scrolls past a height: show the whole view for the picture
            b.execute_script("for (var e = arguments[0].parentElement; e; e = e.parentElement)"
                             " { e.style.maxHeight = 'none'; e.style.overflow = 'visible'; }"
                             "arguments[0].scrollIntoView();", view)
            tokens = view.find_elements(By.CSS_SELECTOR, "g.tok.q")
            ActionChains(b).move_to_element(tokens[len(tokens) // 2]).perform()
            r = b.execute_script("var r = arguments[0].getBoundingClientRect();"
                                 "return [r.left + window.scrollX, r.top + window.scrollY,"
                                 " r.width, r.height];", view)
            shot = b.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": r[0], "y": r[1], "width": r[2], "height": r[3], "scale": 1}})
            with open(os.path.join(out, key + ".png"), "wb") as f:
                f.write(base64.b64decode(shot["data"]))
    except Exception as e:  # noqa: BLE001 -- any failure is the build's warning
        LOG.warning("the viewer's screenshots failed: %s", e)
    finally:
        b.quit()


def setup(app):
    app.add_autodocumenter(UfuncDocumenter)
    app.connect("env-updated", check_api_pages)
    app.connect("build-finished", viewer_screenshots)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
