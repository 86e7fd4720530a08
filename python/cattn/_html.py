"""_html.py -- how cattn's objects show themselves in Jupyter (``_repr_html_``): a layer's
parameters as a table, a structured mask as a small grid, a KV cache as how full it is.

Plain HTML with inline styles only (no script, no stylesheet to load), so it looks the same in
JupyterLab, the classic notebook, VS Code and a static page, and it is escaped throughout."""
import html

import numpy as np

_BOX = ("font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; "
        "line-height: 1.4")
_CELL = "padding: 1px 8px; text-align: {}; border-bottom: 1px solid #ddd"


def esc(x):
    return html.escape(str(x), quote=True)


def table(header, rows, align):
    """An HTML table: header (names), rows (tuples of cells), align ("l"/"r" per column)."""
    side = {"l": "left", "r": "right"}
    head = "".join(f'<th style="{_CELL.format(side[a])}">{esc(h)}</th>'
                   for h, a in zip(header, align))
    body = "".join("<tr>" + "".join(f'<td style="{_CELL.format(side[a])}">{esc(c)}</td>'
                                    for c, a in zip(row, align)) + "</tr>" for row in rows)
    return (f'<table style="border-collapse: collapse; margin: 4px 0"><thead><tr>{head}</tr>'
            f"</thead><tbody>{body}</tbody></table>")


def box(title, *parts):
    """A titled block: the object's repr in bold, then the parts."""
    return (f'<div style="{_BOX}"><div style="font-weight: bold">{esc(title)}</div>'
            + "".join(parts) + "</div>")


def note(text):
    return f'<div style="color: #555">{esc(text)}</div>'


def module_html(module):
    """A layer: its repr, then each parameter's name, shape, count and dtype, and the total."""
    params = getattr(module, "_params", {})
    rows = [(name, "×".join(map(str, a.shape)) or "()", f"{a.size:,}", a.dtype.name)
            for name, a in params.items()]
    total = sum(a.size for a in params.values())
    if not rows:
        return box(repr(module), note("no parameters"))
    return box(repr(module), table(("parameter", "shape", "count", "dtype"), rows, "llrl"),
               note(f"{total:,} parameters"))


def grid(allowed, cell=10, most=32):
    """A boolean (L, S) array as a grid of squares (filled = may attend), at most `most` rows and
    columns (the top-left corner of a larger one)."""
    a = np.asarray(allowed, bool)[:most, :most]
    fill = {True: "#3b6fb6", False: "#eeeeee"}
    rows = "".join(
        "<tr>" + "".join(f'<td style="width: {cell}px; height: {cell}px; padding: 0; '
                         f'background: {fill[bool(v)]}; border: 1px solid #fff"></td>'
                         for v in row) + "</tr>" for row in a)
    return f'<table style="border-collapse: collapse; margin: 4px 0">{rows}</table>'


def mask_html(mask):
    """A structured mask: its repr, the (L, S) grid, its shape and its rule."""
    L, S = mask.shape
    rule = f"query i attends keys j with j ≤ i + {mask.hi}" if mask.lo is None else \
        f"query i attends keys j with i {mask.lo:+d} ≤ j ≤ i {mask.hi:+d}"
    shown = "" if max(L, S) <= 32 else f" (the top-left 32 × 32 of {L} × {S} shown)"
    return box(repr(mask), grid(mask), note(f"(L, S) = ({L}, {S}), {mask.name}: {rule}{shown}"))


def cache_html(cache):
    """A KV cache: its repr, then per batch item a bar of the positions filled out of max_len."""
    frac = cache.length / cache.max_len if cache.max_len else 0.0
    items = int(np.prod(cache.batch_shape)) if cache.batch_shape else 1
    index = list(np.ndindex(*cache.batch_shape))[:16] if cache.batch_shape else [()]
    bar = (f'<div style="display: inline-block; width: 200px; height: 10px; background: #eee; '
           f'vertical-align: middle"><div style="width: {200 * frac:.0f}px; height: 10px; '
           f'background: #3b6fb6"></div></div>')
    rows = "".join(f"<div>item {esc(i if i else '()')} {bar} {cache.length} / {cache.max_len}"
                   f"</div>" for i in index)
    more = note(f"… and {items - len(index)} more items, filled alike") if items > len(index) \
        else ""
    k = cache.k
    return box(repr(cache), rows, more,
               note(f"k and v: {'×'.join(map(str, k.shape))} {k.dtype.name} each, "
                    f"{2 * k.nbytes / 2**20:.2f} MiB"))
