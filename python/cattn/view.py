"""cattn.view: an interactive attention viewer for the notebook, in one self-contained piece of
HTML and JavaScript -- no server, no internet, no widget extension, no PyTorch.

Queries are listed on the left, keys on the right. Hover (or tap) a query to see its weights to
every key as lines, their opacity the weight; hover a key for the reverse. Tick heads to compare
them (each has its colour), pick a layer when there are several. Below, each ticked head's weights
as a grid on one colour scale shared by every head and layer; a masked cell is drawn as masked
(hatched, no line), never as a weight of 0.

The page keeps every weight as data (``data-weight`` on each line and cell), which is how the
browser test (tests/test_view.py) checks that what is drawn is the array."""
import html
import itertools
import json

import numpy as np

__all__ = ["view", "AttentionView"]

_MAX_VALUES = 2_000_000  # weights a page carries; beyond that, slice the array first
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
            "#e377c2", "#7f7f7f", "#bcbd22")
_ids = itertools.count()


def _labels(name, labels, n):
    if labels is None:
        return [str(i) for i in range(n)]
    labels = [str(x) for x in labels]
    if len(labels) != n:
        raise ValueError(f"view: {name} has {len(labels)} labels for {n} positions")
    return labels


def view(weights, query_labels=None, key_labels=None, *, heads=None, mask=None):
    """An interactive view of attention weights (``AttentionView``: Jupyter shows it).

    Parameters
    ----------
    weights : (L, S), (H, L, S) or (layers, H, L, S) -- each row a distribution over keys
    query_labels, key_labels : L and S labels (the tokens), or None for positions
    heads : the heads ticked at first (indices), None for all
    mask : boolean, broadcastable to weights, True = may attend: the cells it removes are drawn
        as masked (hatched, no line)

    Examples
    --------
    >>> import numpy as np, cattn
    >>> w = cattn.softmax(np.random.default_rng(0).standard_normal((2, 3, 3)))
    >>> v = cattn.view(w, ["I", "love", "you"], ["我", "爱", "你"])
    >>> v.shape
    (1, 2, 3, 3)
    >>> "<script>" in v._repr_html_()
    True
    """
    w = np.asarray(weights)
    if w.dtype == bool or not (np.issubdtype(w.dtype, np.floating) or
                               np.issubdtype(w.dtype, np.integer)):
        raise TypeError(f"view: weights must be real numbers, got dtype {w.dtype}")
    if not 2 <= w.ndim <= 4:
        raise ValueError(f"view: weights must be (L, S), (H, L, S) or (layers, H, L, S), got "
                         f"shape {w.shape}")
    w4 = w.reshape((1,) * (4 - w.ndim) + w.shape).astype(np.float64)
    nl, H, L, S = w4.shape
    if w4.size > _MAX_VALUES:
        raise ValueError(f"view: {w4.size:,} weights (shape {w.shape}) are too many for one "
                         f"page (at most {_MAX_VALUES:,}); view a slice")
    if mask is None:
        m4 = np.ones(w4.shape, bool)
    else:
        m = np.asarray(mask)
        if m.dtype != bool:
            raise TypeError(f"view: mask must be boolean (True = may attend), got dtype {m.dtype}")
        try:
            m4 = np.broadcast_to(m, w.shape).reshape(w4.shape)
        except ValueError:
            raise ValueError(f"view: mask of shape {m.shape} does not broadcast to the weights' "
                             f"shape {w.shape}") from None
    if heads is None:
        shown = list(range(H))
    else:
        shown = sorted({int(h) for h in np.atleast_1d(heads)})
        if any(not 0 <= h < H for h in shown):
            raise ValueError(f"view: heads {list(np.atleast_1d(heads))} are not among the "
                             f"{H} heads")
    return AttentionView(w4, m4, _labels("query_labels", query_labels, L),
                         _labels("key_labels", key_labels, S), shown)


class AttentionView:
    """What ``cattn.view`` returns: Jupyter shows it (``_repr_html_``); ``html`` is the page's
    HTML, ``save(path)`` writes it as a file a browser opens on its own.

    >>> import numpy as np, cattn
    >>> v = cattn.view(np.full((2, 4, 4), 0.25), heads=[1])
    >>> v, v.heads
    (AttentionView(1 layer(s), 2 head(s), 4 queries, 4 keys), [1])
    """

    def __init__(self, weights, mask, query_labels, key_labels, heads):
        self.weights, self.mask = weights, mask
        self.query_labels, self.key_labels, self.heads = query_labels, key_labels, heads
        self.shape = weights.shape

    def __repr__(self):
        nl, H, L, S = self.shape
        return f"AttentionView({nl} layer(s), {H} head(s), {L} queries, {S} keys)"

    def _repr_html_(self):
        return self.html

    def save(self, path):
        """Write a stand-alone page (UTF-8) that any browser opens, offline."""
        with open(path, "w", encoding="utf-8") as f:
            f.write('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>cattn.view'
                    f"</title></head><body>{self.html}</body></html>\n")

    @property
    def html(self):
        w, ok = self.weights, np.isfinite(self.weights)
        finite = w[self.mask & ok]
        data = {
            "w": np.where(ok, w, None).tolist(),  # JSON has no NaN: a non-finite weight is null
            "m": self.mask.astype(int).tolist(),
            "q": self.query_labels, "k": self.key_labels, "heads": self.heads,
            "vmax": float(finite.max()) if finite.size and finite.max() > 0 else 1.0,
            "colours": list(_COLOURS),
        }
        uid = f"cattn-view-{next(_ids)}-{np.random.default_rng().integers(1 << 30)}"
        payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
        return _TEMPLATE.replace("@ID@", uid).replace("@DATA@", payload).replace(
            "@TITLE@", html.escape(repr(self)))


# The page. Element ids are prefixed with the view's id, so several views live in one notebook.
_TEMPLATE = """<div id="@ID@" class="cattn-view" style="font-family: sans-serif; font-size: 13px">
<style>
#@ID@ .tok { cursor: pointer; }
#@ID@ .tok rect { fill: transparent; }
#@ID@ .tok.on rect { fill: #ffe8a3; }
#@ID@ .grid { display: inline-block; margin: 6px 10px 0 0; vertical-align: top; }
#@ID@ .grid td { width: 14px; height: 14px; padding: 0; border: 1px solid #fff; }
#@ID@ .grid td.masked { background: repeating-linear-gradient(45deg, #ddd 0 2px, #fff 2px 4px); }
#@ID@ .grid th { font-weight: normal; font-size: 11px; padding: 0 3px; }
</style>
<div class="title" style="color: #555">@TITLE@: hover or tap a token</div>
<div class="controls"></div>
<svg class="lines" xmlns="http://www.w3.org/2000/svg"></svg>
<div class="grids"></div>
<script type="application/json" class="cattn-data">@DATA@</script>
<script>
(function () {
  var root = document.getElementById("@ID@");
  var D = JSON.parse(root.querySelector(".cattn-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var layer = 0, heads = D.heads.slice(), held = null;
  var L = D.q.length, S = D.k.length, H = D.w[0].length, ROW = 22, X0 = 150, X1 = 330;
  var svg = root.querySelector("svg.lines");
  svg.setAttribute("width", X1 + 160);
  svg.setAttribute("height", Math.max(L, S) * ROW + 10);
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var a in attrs) e.setAttribute(a, attrs[a]);
    if (parent) parent.appendChild(e);
    return e;
  }
  // 1. the tokens: queries on the left, keys on the right
  var toks = {q: [], k: []};
  function token(side, i, text) {
    var g = el("g", {"class": "tok " + side, "data-index": i}, svg);
    var x = side === "q" ? X0 : X1, y = 8 + i * ROW;
    el("rect", {x: side === "q" ? 0 : X1, y: y, width: X0, height: ROW - 2}, g);
    var t = el("text", {x: side === "q" ? X0 - 6 : X1 + 6, y: y + 15,
                        "text-anchor": side === "q" ? "end" : "start"}, g);
    t.textContent = text;
    g.addEventListener("mouseenter", function () { if (held === null) show(side, i); });
    g.addEventListener("mouseleave", function () { if (held === null) clear(); });
    g.addEventListener("click", function () {  // tap: hold, tap again to release
      held = held === side + i ? null : side + i;
      if (held === null) clear(); else show(side, i);
    });
    toks[side].push(g);
  }
  D.q.forEach(function (t, i) { token("q", i, t); });
  D.k.forEach(function (t, j) { token("k", j, t); });
  var lines = el("g", {"class": "weights"}, svg);
  // 2. the lines of one token: its weights, per ticked head, masked pairs left out
  function show(side, i) {
    clear();
    toks[side][i].classList.add("on");
    heads.forEach(function (h) {
      var n = side === "q" ? S : L;
      for (var o = 0; o < n; o++) {
        var qi = side === "q" ? i : o, kj = side === "q" ? o : i;
        if (!D.m[layer][h][qi][kj]) continue;
        var x = D.w[layer][h][qi][kj];
        if (x === null) continue;
        el("line", {x1: X0, y1: 8 + qi * ROW + 10, x2: X1, y2: 8 + kj * ROW + 10,
                    stroke: D.colours[h % D.colours.length], "stroke-width": 2.5,
                    "stroke-opacity": Math.max(0, Math.min(1, x / D.vmax)),
                    "data-head": h, "data-query": qi, "data-key": kj, "data-weight": x}, lines);
      }
    });
  }
  function clear() {
    while (lines.firstChild) lines.removeChild(lines.firstChild);
    toks.q.concat(toks.k).forEach(function (g) { g.classList.remove("on"); });
  }
  // 3. the controls: a layer picker (several layers), a box per head
  var controls = root.querySelector(".controls");
  if (D.w.length > 1) {
    var sel = document.createElement("select");
    sel.className = "layer";
    D.w.forEach(function (_, l) {
      var o = document.createElement("option"); o.value = l; o.textContent = "layer " + l;
      sel.appendChild(o);
    });
    sel.addEventListener("change", function () { layer = +sel.value; redraw(); });
    controls.appendChild(sel);
  }
  for (var h = 0; h < H; h++) (function (h) {
    var lab = document.createElement("label");
    lab.style.marginRight = "8px";
    lab.style.color = D.colours[h % D.colours.length];
    var box = document.createElement("input");
    box.type = "checkbox"; box.className = "head"; box.setAttribute("data-head", h);
    box.checked = heads.indexOf(h) >= 0;
    box.addEventListener("change", function () {
      heads = heads.filter(function (x) { return x !== h; });
      if (box.checked) heads.push(h);
      heads.sort(function (a, b) { return a - b; });
      redraw();
    });
    lab.appendChild(box);
    lab.appendChild(document.createTextNode(" head " + h));
    controls.appendChild(lab);
  })(h);
  // 4. the grids: each ticked head's weights, one colour scale for all
  var grids = root.querySelector(".grids");
  function redraw() {
    grids.innerHTML = "";
    heads.forEach(function (h) {
      var t = document.createElement("table");
      t.className = "grid"; t.setAttribute("data-head", h);
      var cap = t.createCaption(); cap.textContent = "head " + h;
      cap.style.color = D.colours[h % D.colours.length];
      for (var i = 0; i < L; i++) {
        var tr = t.insertRow(), th = document.createElement("th");
        th.textContent = D.q[i]; tr.appendChild(th);
        for (var j = 0; j < S; j++) {
          var td = tr.insertCell(), x = D.w[layer][h][i][j];
          td.setAttribute("data-query", i); td.setAttribute("data-key", j);
          if (!D.m[layer][h][i][j]) {
            td.className = "masked"; td.title = D.q[i] + " → " + D.k[j] + ": masked";
          } else {
            td.setAttribute("data-weight", x);
            var a = x === null ? 0 : Math.max(0, Math.min(1, x / D.vmax));
            td.style.background = "rgba(31, 119, 180, " + a.toFixed(3) + ")";
            td.title = D.q[i] + " → " + D.k[j] + ": " + (x === null ? "nan" : x.toFixed(4));
          }
        }
      }
      grids.appendChild(t);
    });
    if (held !== null) show(held[0], +held.slice(1)); else clear();
  }
  redraw();
})();
</script>
</div>"""
