"""Write the teaching notebooks in examples/ from the cell lists below (run: python
scripts/make_notebooks.py). The notebooks follow ../shared/notes (the lecture notes); each runs
top to bottom in well under a minute with fixed seeds and ends with a cell that asserts its key
results. tests/test_notebooks.py executes every one headless."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "examples")


def md(text):
    return ("markdown", text.strip("\n"))


def code(text):
    return ("code", text.strip("\n"))


SETUP = code("""
import numpy as np
import matplotlib
import matplotlib.pyplot as plt
import cattn
np.set_printoptions(precision=3, suppress=True)
""")

NOTEBOOKS = {}

NOTEBOOKS["01_seq2seq_bottleneck"] = [
    md("""
# 1 · The information bottleneck of plain seq2seq, and how attention breaks it

*Sections 1–2 of the notes (朴素seq2seq的信息瓶颈 · 注意力机制打破信息瓶颈).*

A plain encoder–decoder squeezes the whole source sentence into the encoder's **last hidden state**,
the *context vector*. Every decoder step starts from that one vector. Attention instead wires every
decoder step to **every** encoder hidden state. We build a tiny RNN encoder and decoder with fixed
random weights (nothing is trained: the point is the wiring, not the translation).
"""),
    SETUP,
    code("""
rng = np.random.default_rng(0)
source = ["Jane", "visite", "l'Afrique", "en", "septembre"]
target = ["Jane", "visits", "Africa", "in", "September"]
E, Hd = 8, 6                                # embedding and hidden sizes
embed = {w: rng.standard_normal(E) for w in source + target}
W_x, W_h = rng.standard_normal((E, Hd)) * 0.5, rng.standard_normal((Hd, Hd)) * 0.5

def rnn(words, h0):
    \"\"\"A plain tanh RNN: one hidden state per word.\"\"\"
    states, h = [], h0
    for w in words:
        h = np.tanh(embed[w] @ W_x + h @ W_h)
        states.append(h)
    return np.array(states)

enc = rnn(source, np.zeros(Hd))             # (5, Hd): one state per source word
context = enc[-1]                           # the bottleneck: the last state only
dec = rnn(target, context)                  # (5, Hd): the decoder starts from the context
enc.shape, context.shape, dec.shape
"""),
    md("""
## Without attention
Whatever the decoder step, the only information about the source it was given is `context`: five
words in six numbers. Long sentences lose information this way.
"""),
    code("""
print("numbers carrying the whole source sentence:", context.size)
print("numbers the encoder produced:              ", enc.size)
"""),
    md("""
## With attention
Each decoder state (the **query**) is compared with every encoder state (the **keys**), and reads a
weighted mix of them (the **values**): `cattn.Attention()` with no parameters is exactly that,
`softmax(q kᵀ / √d) v`.
"""),
    code("""
attn = cattn.Attention()
read, weights = attn(dec, enc, return_weights=True)   # queries: decoder, keys = values: encoder
weights
"""),
    code("""
cattn.plot_attention(weights, target, source, title="each decoder step reads every encoder state")
plt.show()
"""),
    md("""
Every row is a probability distribution over the source words, and every decoder step gets its own
mix (`read[t]`), instead of the same single context vector.
"""),
    code("""
# key results
assert weights.shape == (len(target), len(source))
assert np.allclose(weights.sum(axis=1), 1.0)
assert np.allclose(read, weights @ enc)                      # a weighted sum of encoder states
assert not np.allclose(read[0], read[1])                      # each step reads something different
assert context.size < enc.size
print("ok")
"""),
]

NOTEBOOKS["02_dot_product_and_matmul"] = [
    md("""
# 2 · Dot product = similarity, matrix product = many dot products

*Section 3 of the notes (向量的点积 · 矩阵的乘法).*

The dot product of two vectors multiplies matching entries and adds them up: a scalar that is large
when the vectors point the same way. A matrix product is many dot products at once.
"""),
    SETUP,
    code("""
a = np.array([1.0, 2.0, 3.0])
b = np.array([2.0, 4.0, 6.0])      # same direction as a
c = np.array([3.0, 0.0, -1.0])     # orthogonal to a
print("a·b =", a @ b, "  a·c =", a @ c)
print("by hand:", sum(x * y for x, y in zip(a, b)))
"""),
    md("""
Several queries against several keys: entry `(i, j)` of `Q @ K.T` is the dot product of query `i`
with key `j`. `cattn.matmul` is a NumPy generalized ufunc with `np.matmul`'s contract.
"""),
    code("""
rng = np.random.default_rng(1)
Q = rng.standard_normal((3, 4))    # 3 queries of size 4
K = rng.standard_normal((5, 4))    # 5 keys of size 4
S = cattn.matmul(Q, K.T)           # (3, 5): every query against every key
loops = np.array([[Q[i] @ K[j] for j in range(5)] for i in range(3)])
print(S)
print("same as 15 separate dot products:", np.allclose(S, loops))
print(cattn.matmul, "signature", cattn.matmul.signature)
"""),
    md("## Batches broadcast, as in `np.matmul`"),
    code("""
Qb = rng.standard_normal((2, 8, 3, 4))          # (batch, heads, queries, size)
Kb = rng.standard_normal((2, 8, 5, 4))
Sb = cattn.matmul(Qb, np.swapaxes(Kb, -1, -2))
Sb.shape, np.allclose(Sb, Qb @ np.swapaxes(Kb, -1, -2))
"""),
    code("""
# key results
assert a @ b > 0 and a @ c == 0
assert np.allclose(S, loops)
assert np.allclose(cattn.matmul(Q, K.T), np.matmul(Q, K.T))
assert Sb.shape == (2, 8, 3, 5) and np.allclose(Sb, Qb @ np.swapaxes(Kb, -1, -2))
assert cattn.matmul(np.arange(3), np.arange(3)) == 5.0           # 1-D · 1-D, like np.matmul
print("ok")
"""),
]

NOTEBOOKS["03_qkv_step_by_step"] = [
    md("""
# 3 · Q, K, V and the steps of attention, on the notes' two-word example

*Sections 4–5 of the notes (QKV · Attention机制的步骤).*

`softmax(Q Kᵀ / √d_k) · V`, one step at a time, for the two words "Thinking" and "Machines" with
d_k = 64. The query of "Thinking" scores 112 against its own key and 96 against "Machines".
"""),
    SETUP,
    code("""
from cattn.__main__ import example, WORDS
q, k, v = example()            # (2, 64) each: one row per word
s = cattn.Attention().steps(q, k, v)
s                              # the steps object: shapes, and the weights of the one head
"""),
    md("## Step 1 · attention score (注意力得分): the query against every key, then the scaling by √d_k = 8"),
    code("""
print("scores        ", s.scores[0])
print("scaled scores ", s.scaled_scores[0], "  (scale =", s.scale, ")")
assert np.allclose(s.scores[0], q @ k.T)
"""),
    md("## Step 2 · attention distribution (注意力分布): softmax turns each row of scores into probabilities"),
    code("""
by_hand = np.exp(s.scaled_scores[0] - s.scaled_scores[0].max(axis=1, keepdims=True))
by_hand /= by_hand.sum(axis=1, keepdims=True)
print(s.weights[0])
print("matches NumPy:", np.allclose(s.weights[0], by_hand))
"""),
    md("## Step 3 · attention output (注意力输出): the weights average the values — an expectation"),
    code("""
print(s.output[:, :6])
print("= weights @ V:", np.allclose(s.output, s.weights[0] @ v))
"""),
    md("In Jupyter the steps object draws itself as a table (no matplotlib needed); `.plot()` draws a heatmap:"),
    code("""
from IPython.display import HTML
HTML(s._repr_html_())
"""),
    code("""
s.plot(query_labels=WORDS, key_labels=WORDS)
plt.show()
"""),
    code("""
# key results
assert np.allclose(s.scores[0, 0], [112, 96])
assert np.allclose(s.scaled_scores[0, 0], [14, 12])
assert np.allclose(s.weights[0, 0], [0.8808, 0.1192], atol=1e-4)
assert np.allclose(s.output, cattn.scaled_dot_product_attention(q, k, v))
print("ok")
"""),
]

NOTEBOOKS["04_self_and_multi_head"] = [
    md("""
# 4 · Self-attention and multi-head attention

*Sections 6–7 of the notes (自注意力 · 多头注意力).*

Self-attention is the same mechanism with queries, keys and values from **one** sequence.
Multi-head attention runs several heads, each with its own W_q, W_k, W_v ("what happens? when?
who?"), concatenates their outputs and multiplies by W_o. The example is the notes' sentence
"Jane visite l'Afrique en septembre" → "Jane visits Africa in September" (random embeddings and
weights, fixed seeds: nothing is trained).
"""),
    SETUP,
    code("""
from cattn.__main__ import FRENCH, ENGLISH, jane_embeddings
fr, en = jane_embeddings()                       # (5, 16) each
self_attn = cattn.Attention()
out, w = self_attn(fr, return_weights=True)        # key = value = query: self-attention
cattn.plot_attention(w, FRENCH, FRENCH, title="self-attention, no parameters")
plt.show()
"""),
    md("## Four heads, each with its own projections"),
    code("""
mha = cattn.MultiHeadAttention(16, 4, seed=0, dtype=np.float64)
print(mha)
s = mha.steps(fr)
fig = s.plot(query_labels=FRENCH, key_labels=FRENCH)
plt.show()
"""),
    md("""
The heads' outputs (`head_outputs`, one (5, 4) block per head) are concatenated side by side into
(5, 16) and multiplied by W_o:
"""),
    code("""
print("head outputs", s.head_outputs.shape, "-> concat", s.concat.shape, "-> output", s.output.shape)
W_o = mha.state_dict()["out_proj.weight"]
b_o = mha.state_dict()["out_proj.bias"]
print("output = concat @ W_o.T + b_o:", np.allclose(s.output, s.concat @ W_o.T + b_o))
"""),
    md("## Cross-attention: the English words attend the French ones"),
    code("""
c = mha.steps(en, fr)
fig = cattn.plot_attention(c.weights, ENGLISH, FRENCH, title="cross-attention, per head")
plt.show()
"""),
    md("""
## Counting the learnable parameters
heads × 3 projection matrices (each 16 × 4) + the output matrix (16 × 16), plus the biases:
"""),
    code("""
H, E, d = 4, 16, 4
matrices = H * 3 * (E * d) + E * E
biases = 3 * E + E
print(matrices, "+", biases, "=", matrices + biases, "; mha.num_parameters =", mha.num_parameters)
print("the Transformer base model's layer:", cattn.MultiHeadAttention(512, 8).num_parameters)
"""),
    code("""
# key results
assert np.allclose(w.sum(-1), 1)
assert s.weights.shape == (4, 5, 5) and c.weights.shape == (4, 5, 5)
assert np.allclose(s.output, mha(fr)) and np.allclose(c.output, mha(en, fr))
assert not np.allclose(s.weights[0], s.weights[1])          # heads look from different angles
assert mha.num_parameters == matrices + biases == 1088
assert cattn.MultiHeadAttention(512, 8).num_parameters == 1_050_624
print("ok")
"""),
]

NOTEBOOKS["05_why_it_is_fast"] = [
    md("""
# 5 · Why cattn is fast

*Section 8 of the notes, and beyond.*

The NumPy composite `softmax(q kᵀ/√d) v` builds the whole N × N score matrix (and a few more of
the same size). cattn's fused kernel walks the queries in blocks of 72 rows: per block it computes
a 72 × N tile of scores with a register-blocked GEMM, turns it into weights in place, and multiplies
by V — so memory grows like N, not N², and the work stays in cache.
"""),
    SETUP,
    code("""
import time

def numpy_sdpa(q, k, v):
    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    e = np.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)) @ v

def best_time(f, repeat=3):
    f()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)

try:
    import torch
except ImportError:
    torch = None
rng = np.random.default_rng(0)
sizes = [128, 256, 512, 1024]
rows = []
for n in sizes:
    q, k, v = (rng.standard_normal((4, n, 64)).astype(np.float32) for _ in range(3))
    assert np.allclose(cattn.scaled_dot_product_attention(q, k, v), numpy_sdpa(q, k, v), atol=1e-4)
    row = {"n": n, "cattn": best_time(lambda: cattn.scaled_dot_product_attention(q, k, v)),
           "numpy": best_time(lambda: numpy_sdpa(q, k, v))}
    if torch is not None:
        tq, tk, tv = map(torch.from_numpy, (q, k, v))
        row["torch"] = best_time(lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv))
    rows.append(row)
for r in rows:
    print(f"N={r['n']:5d}  cattn {r['cattn']*1e3:7.2f} ms   numpy {r['numpy']*1e3:7.2f} ms   "
          f"(x{r['numpy']/r['cattn']:.1f})" + (f"   torch {r['torch']*1e3:7.2f} ms" if 'torch' in r else ""))
"""),
    code("""
fig, ax = plt.subplots(figsize=(6, 3.5))
for who in ("cattn", "numpy", "torch"):
    if who in rows[0]:
        ax.plot(sizes, [r[who] * 1e3 for r in rows], "o-", label=who)
ax.set_xscale("log", base=2); ax.set_yscale("log")
ax.set_xlabel("sequence length N"); ax.set_ylabel("ms (4 heads, d = 64)"); ax.legend()
plt.show()
"""),
    md("""
## Memory
The composite needs at least one float32 N × N matrix per head for the scores; cattn needs one
72 × N tile per thread plus packed copies of K and V.
"""),
    code("""
heads, d, threads = 8, 64, cattn.get_num_threads()
for n in (1024, 4096, 16384):
    composite = heads * n * n * 4
    fused = threads * 72 * n * 4 + 2 * n * d * 4
    print(f"N={n:6d}: NumPy's scores {composite / 2**20:10.1f} MiB   cattn's scratch {fused / 2**20:6.2f} MiB")
"""),
    code("""
# key results (timings vary by machine; the correctness and the memory model do not)
q, k, v = (rng.standard_normal((2, 300, 64)) for _ in range(3))
assert np.allclose(cattn.scaled_dot_product_attention(q, k, v), numpy_sdpa(q, k, v))

# the memory model, measured: the peak memory one call adds (Linux: /proc resets the peak)
import os
def peak_growth_mib(f):
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")                            # the peak (VmHWM) := the current size
    status = lambda: dict(l.split(":") for l in open("/proc/self/status"))
    before = int(status()["VmRSS"].split()[0])
    f()
    return (int(status()["VmHWM"].split()[0]) - before) / 1024

if os.path.exists("/proc/self/clear_refs"):
    n = 4096
    q, k, v = (rng.standard_normal((8, n, 64)).astype(np.float32) for _ in range(3))
    out = np.zeros_like(q)
    grown = peak_growth_mib(lambda: cattn.scaled_dot_product_attention(q, k, v, out=out))
    scores = 8 * n * n * 4 / 2**20               # MiB of scores NumPy's composite needs
    print(f"N={n}, 8 heads: cattn's call added {grown:.1f} MiB at its peak; the scores alone are {scores:.0f} MiB")
    assert grown < scores / 20
print("ok")
"""),
]


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


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        path = os.path.join(OUT, name + ".ipynb")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(notebook(cells), f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("wrote", os.path.relpath(path))


if __name__ == "__main__":
    main()
