"""Write the teaching notebooks in examples/ from the cell lists below (run: python
scripts/make_notebooks.py). They teach attention in order, in the project's own words, with the
Chinese terms of our course beside the English ones; each runs top to bottom with fixed seeds (01-05
in well under a minute, 06-07 train in under two minutes on 2 cores) and ends with a cell that
asserts its key results. tests/test_notebooks.py executes every one headless."""
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

*朴素seq2seq的信息瓶颈 · 注意力机制打破信息瓶颈 — the bottleneck of plain seq2seq, and how attention breaks it.*

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
cattn.plot_attention(weights, target, source,
                     title="注意力分布 attention distribution: each decoder step reads every encoder state")
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

*向量的点积 · 矩阵的乘法 — the dot product of vectors, the product of matrices.*

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
    md("The same 15 numbers as a picture: large where a query and a key point the same way."),
    code("""
cattn.use_cjk_font()
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
im = ax.imshow(S, cmap="RdBu_r", vmin=-abs(S).max(), vmax=abs(S).max())
ax.set_xticks(range(5), [f"key {j}" for j in range(5)])
ax.set_yticks(range(3), [f"query {i}" for i in range(3)])
ax.set_xlabel("key"); ax.set_ylabel("query")
ax.set_title("向量的点积 dot products: every query against every key")
fig.colorbar(im, ax=ax, label="q · k")
plt.show()
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
# 3 · Q, K, V and the steps of attention, on a two-word example

*QKV · Attention机制的步骤 — queries, keys, values, and the steps of the attention mechanism.*

`softmax(Q Kᵀ / √d_k) · V`, one step at a time, for the two words "Thinking" and "Machines" with
d_k = 64. The query of "Thinking" scores 112 against its own key and 96 against "Machines".
"""),
    SETUP,
    code("""
WORDS = ["Thinking", "Machines"]
d_k = 64
rng = np.random.default_rng(0)
q, k, v = (rng.standard_normal((2, d_k)) for _ in range(3))   # one row per word
# move each key along q_Thinking so that q_Thinking . k = (112, 96), round numbers to follow
target = np.array([112.0, 96.0])
k += np.outer((target - k @ q[0]) / (q[0] @ q[0]), q[0])
print(q[0] @ k.T)
s = cattn.Attention().steps(q, k, v, query_labels=WORDS, key_labels=WORDS)
s                              # the steps object: shapes, and the weights of the one head
"""),
    md("## Step 1 · attention score (注意力得分): the query against every key, then the scaling by √d_k = 8"),
    code("""
print("scores        ", s.scores)
print("scaled scores ", s.scaled_scores, "  (scale =", s.scale, ")")
assert np.allclose(s.scores, q @ k.T)
"""),
    md("## Step 2 · attention distribution (注意力分布): softmax turns each row of scores into probabilities"),
    code("""
by_hand = np.exp(s.scaled_scores - s.scaled_scores.max(axis=1, keepdims=True))
by_hand /= by_hand.sum(axis=1, keepdims=True)
print(s.weights)
print("matches NumPy:", np.allclose(s.weights, by_hand))
"""),
    md("## Step 3 · attention output (注意力输出): the weights average the values — an expectation"),
    code("""
print(s.output[:, :6])
print("= weights @ V:", np.allclose(s.output, s.weights @ v))
"""),
    md("In Jupyter the steps object draws itself as a table (no matplotlib needed); `.plot()` draws a heatmap:"),
    code("""
s     # Jupyter shows the steps object as its table
"""),
    code("""
s.plot()                       # labelled by the words given to steps()
plt.show()
"""),
    code("""
# key results
assert np.allclose(s.scores[0], [112, 96])
assert np.allclose(s.scaled_scores[0], [14, 12])
assert np.allclose(s.weights[0], [0.8808, 0.1192], atol=1e-4)
assert np.allclose(s.output, cattn.scaled_dot_product_attention(q, k, v))
print("ok")
"""),
]

NOTEBOOKS["04_self_and_multi_head"] = [
    md("""
# 4 · Self-attention and multi-head attention

*自注意力 · 多头注意力 — self-attention, multi-head attention.*

Self-attention is the same mechanism with queries, keys and values from **one** sequence.
Multi-head attention runs several heads, each with its own W_q, W_k, W_v ("what happens? when?
who?"), concatenates their outputs and multiplies by W_o. The example is the sentence
"Jane visite l'Afrique en septembre" → "Jane visits Africa in September" (random embeddings and
weights, fixed seeds: nothing is trained).
"""),
    SETUP,
    code("""
FRENCH = ["Jane", "visite", "l'Afrique", "en", "septembre"]
ENGLISH = ["Jane", "visits", "Africa", "in", "September"]
rng = np.random.default_rng(7)                   # a fixed random 16-number embedding per word
vocab = {w: rng.standard_normal(16) for w in FRENCH + ENGLISH}
fr = np.array([vocab[w] for w in FRENCH])        # (5, 16)
en = np.array([vocab[w] for w in ENGLISH])
self_attn = cattn.Attention()
out, w = self_attn(fr, return_weights=True)        # key = value = query: self-attention
cattn.plot_attention(w, FRENCH, FRENCH, title="自注意力 self-attention, no parameters")
plt.show()
"""),
    md("## Four heads, each with its own projections"),
    code("""
mha = cattn.MultiHeadAttention(16, 4, seed=0, dtype=np.float64)
print(mha)
s = mha.steps(fr, query_labels=FRENCH, key_labels=FRENCH)
fig = s.plot(title="多头注意力 multi-head self-attention: each head's 注意力分布")
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
fig = cattn.plot_attention(c.weights, ENGLISH, FRENCH,
                           title="多头注意力 multi-head cross-attention, one panel per head")
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

*Why the fused kernel is fast, and why it needs no N × N matrix.*

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

def median_time(f, repeat=7):
    # (median, fastest, slowest) seconds of `repeat` runs after one warm-up run: one run alone
    # can be off by 10-50 % on a laptop (clock boost, other programs); the median is steady
    f()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), min(ts), max(ts)

try:
    import torch
except ImportError:
    torch = None
rng = np.random.default_rng(0)
sizes = [128, 256, 512, 1024, 2048]
rows = []
for n in sizes:
    q, k, v = (rng.standard_normal((4, n, 64)).astype(np.float32) for _ in range(3))
    assert np.allclose(cattn.scaled_dot_product_attention(q, k, v), numpy_sdpa(q, k, v), atol=1e-4)
    row = {"n": n, "cattn": median_time(lambda: cattn.scaled_dot_product_attention(q, k, v)),
           "numpy": median_time(lambda: numpy_sdpa(q, k, v))}
    if torch is not None:
        tq, tk, tv = map(torch.from_numpy, (q, k, v))
        row["torch"] = median_time(lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv))
    rows.append(row)
print("median of 7 runs [fastest - slowest], 4 heads, d = 64, float32")
for r in rows:
    line = f"N={r['n']:5d}"
    for who in ("cattn", "numpy", "torch"):
        if who in r:
            m, lo, hi = r[who]
            line += f"   {who} {m*1e3:7.2f} ms [{lo*1e3:.2f}-{hi*1e3:.2f}]"
    print(line + f"   numpy/cattn x{r['numpy'][0] / r['cattn'][0]:.1f}")
"""),
    code("""
cattn.use_cjk_font()
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for who in ("cattn", "numpy", "torch"):
    if who in rows[0]:
        med = np.array([r[who][0] for r in rows]) * 1e3
        lo = np.array([r[who][1] for r in rows]) * 1e3
        hi = np.array([r[who][2] for r in rows]) * 1e3
        ax.errorbar(sizes, med, yerr=[med - lo, hi - med], fmt="o-", capsize=3, label=who)
ax.set_xscale("log", base=2); ax.set_yscale("log")
ax.set_xlabel("sequence length N"); ax.set_ylabel("ms per call (median; bars: fastest-slowest)")
ax.set_title("缩放点积注意力 scaled dot-product attention, 4 heads, d = 64"); ax.legend()
plt.show()
"""),
    md("""
## What the numbers say, and what they do not

Each time is a median of seven runs; the bars show how far single runs stray — one run alone can
be off by a factor that would change the story. The *ratio* to NumPy is not one number: it depends
on N and on the machine (its cache sizes, its BLAS, its vector unit), and it need not grow with N.
Both cattn and NumPy spend most of the time in the two matrix products once N is large, and there
NumPy's BLAS is fast too; what NumPy adds is writing and reading the N × N score matrix (and the
`exp`, the sum and the division, each another N × N pass through memory).

What holds on every machine is the memory: the next cell counts it, and the last one measures it.

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
    md("""
## A new array costs more than you think: pass `out=` in loops

Every call that returns a large new array (tens of MiB) asks the operating system for fresh memory,
and the system clears each new page to zero before the call may write it. That clearing is one more
pass over memory: for softmax, which reads and writes each number only once, it adds a good part of
the softmax's own time. (How large is large depends on the C library: on Linux, glibc keeps freed
blocks below 32 MiB for reuse, so a 16 MiB result costs no clearing, and hands larger ones back to
the system, so a 64 MiB result always does.) A loop that calls the same function again and again (a
training step, an animation, a benchmark) can allocate its result once and hand it back with
`out=`. Every cattn function and gufunc takes `out=`, like NumPy's ufuncs.
"""),
    code("""
x = rng.standard_normal((64, 512, 512)).astype(np.float32)      # 64 MiB
y = np.empty_like(x)
t_new = median_time(lambda: cattn.softmax(x))                  # a new 64 MiB array every call
t_out = median_time(lambda: cattn.softmax(x, out=y))           # the same array every call
t_copy = median_time(lambda: np.copyto(y, x))                  # reading and writing 64 MiB, nothing else
assert np.array_equal(cattn.softmax(x, out=y), cattn.softmax(x))
print(f"softmax into a new array {t_new[0]*1e3:6.2f} ms")
print(f"softmax with out=        {t_out[0]*1e3:6.2f} ms   ({t_new[0] / t_out[0]:.1f}x faster)")
print(f"np.copyto, for scale     {t_copy[0]*1e3:6.2f} ms   (softmax with out= takes {t_out[0] / t_copy[0]:.1f}x a copy)")
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


NOTEBOOKS["06_learning_to_align"] = [
md("""
# 06 · Learning to align: watch attention learn to translate dates

Until now every heatmap showed *untrained* weights. Here a small model learns a real task — turn a
date written the way people write it (`"tuesday 9 may 2018"`, `"09.05.18"`, `"may 9, 2018"`) into
ISO `2018-05-09` — and its attention distribution (注意力分布) learns **which input characters each
output character should read**. That alignment is the picture Bahdanau et al. (2015) drew for
translation: nobody tells the model where the day is; the gradient does.

Everything below runs on a laptop CPU in well under two minutes: two models of about 55,000
parameters each, trained for 500 steps, with the attention computed by cattn's C kernels and the
gradients by `vjp` pullbacks.
"""),
code("""
import time
import numpy as np
import matplotlib.pyplot as plt
import cattn
from cattn import dates

cattn.use_cjk_font()   # Chinese titles render (see the README if it warns)
print(cattn.__version__, '|', cattn.get_num_threads(), 'threads')
"""),
md("""
## 1. The data: dates in eight human formats

Each example is a random day between 1950 and 2049 written in one of `dates.FORMATS`, paired with
its ISO form. Two-digit years (`"09.05.18"`) mean 1950–2049, so `18` is 2018 and `57` is 1957.
The held-out set contains no input string seen in training.
"""),
code("""
train_pairs = dates.make_dates(20_000, seed=0)
test_pairs = dates.make_dates(1_000, seed=1, exclude={h for h, _ in train_pairs})
for human, iso in train_pairs[:8]:
    print(f'{human:>28}  ->  {iso}')
"""),
md("""
## 2. Characters to numbers

The model reads characters. Each input character gets an index in `dates.INPUT_CHARS` (index 0,
`<`, pads short inputs to 30 characters); the output alphabet is just `-0123456789`. The padding
never takes part: its positions are excluded from attention with `key_lengths`.
"""),
code("""
x, lengths = dates.encode(['tuesday 9 may 2018'], dates.INPUT_CHARS, dates.IN_LEN)
print(x[0])
print('length:', lengths[0])
"""),
md("""
## 3. The model

* **Encoder** — an embedding per character plus sinusoidal positions (`cattn.nn.PositionalEncoding`),
  then one self-attention layer (`cattn.MultiHeadAttention`, 4 heads) and a feed-forward layer, each
  with a residual connection and `LayerNorm`. After it, each character's vector knows its
  neighbours: the `9` in `"9 may"` knows it is a day.
* **Decoder** — one learned query per output position (10 of them: `YYYY-MM-DD`). Each query
  attends over the encoder's states: **this attention is the alignment we will look at**. We train
  it twice, once with additive attention (`cattn.AdditiveAttention`, score `w_vᵀ tanh(W_q q + W_k k)`)
  and once with scaled dot-product attention (`cattn.Attention`, score `q·k/√d`). A small
  feed-forward layer reads the output character from the attended context.

The backward pass is the chain of every layer's `vjp` pullback, in reverse order:
"""),
code("""
import inspect
print(inspect.getsource(dates.DateTranslator.vjp))
"""),
md("""
## 4. Before training: attention is spread everywhere

An untrained model attends almost uniformly. Rows are output characters, columns input characters.
"""),
code("""
example = 'tuesday 9 may 2018'

def show_alignment(model, text, ax, title):
    out, w = model.translate([text])
    n = len(text)
    chars = [c if c != ' ' else '␣' for c in text]     # a space, made visible
    cattn.plot_attention(w[0][:, :n], list(out[0]), chars, ax=ax, annotate=False,
                         title=title, fontsize=11)
    ax.set_xlabel('input character (key)')
    ax.set_ylabel('output character (query)')
    return out[0]

additive = dates.DateTranslator('additive', seed=0)
fig, ax = plt.subplots(figsize=(11, 4.5), layout='constrained')
print('untrained output:', show_alignment(additive, example, ax,
                                          '注意力分布 before training (additive attention)'))
"""),
md("""
## 5. Train with additive attention

Adam, batches of 128, the learning rate decaying from 0.01 over 500 steps; `cross_entropy` compares
the 10 output characters with the ISO answer. A progress bar shows the loss (`tqdm`, when it is
installed).
"""),
code("""
t0 = time.perf_counter()
losses_add = dates.train(additive, train_pairs, steps=500, batch=128, lr=1e-2, seed=0)
print(f'{time.perf_counter() - t0:.1f} s')
"""),
md("""
## 6. Train the same model with scaled dot-product attention
"""),
code("""
dot = dates.DateTranslator('dot', seed=0)
t0 = time.perf_counter()
losses_dot = dates.train(dot, train_pairs, steps=500, batch=128, lr=1e-2, seed=0)
print(f'{time.perf_counter() - t0:.1f} s')
"""),
code("""
def smooth(v, k=20):
    return np.convolve(v, np.ones(k) / k, mode='valid')

fig, ax = plt.subplots(figsize=(8, 4), layout='constrained')
ax.semilogy(smooth(losses_add), label='additive attention')
ax.semilogy(smooth(losses_dot), label='scaled dot-product attention')
ax.set_xlabel('training step')
ax.set_ylabel('cross-entropy loss (20-step mean, log scale)')
ax.set_title('训练损失 training loss')
ax.legend();
"""),
md("""
## 7. How well does it translate dates it has never seen?
"""),
code("""
acc_add = additive.accuracy(test_pairs)
acc_dot = dot.accuracy(test_pairs)
print(f'exact match on 1,000 held-out dates: additive {acc_add:.1%}, dot-product {acc_dot:.1%}')
samples = ['tuesday 9 may 2018', '3 march 1999', '1984-07-30', '09.05.18', 'may 9, 2018',
           'sat 1 jan 2000', '25/12/1975', '7 jul 49']
got_add, _ = additive.translate(samples)
got_dot, _ = dot.translate(samples)
for s, a, d in zip(samples, got_add, got_dot):
    print(f'{s:>20}  ->  {a}   (dot-product: {d})')
"""),
md("""
## 8. After training: the alignment

Now each output character looks at the input characters it needs: the year digits at `2018`, the
month digits at the month's **name** (`may` becomes `05`), the day digits at `9`, while `tuesday`
is ignored — it carries no information the answer needs. (Where an output does not depend on one
input character — the `-` separators, the century `20` — the model is free to look anywhere.) The two kinds of attention learn the same
alignment; the scores differ (a learned tanh layer vs. a dot product), the idea does not.
"""),
code("""
fig, axes = plt.subplots(2, 1, figsize=(11, 9), layout='constrained')
show_alignment(additive, example, axes[0], '注意力分布 after training — additive attention')
show_alignment(dot, example, axes[1], '注意力分布 after training — scaled dot-product attention');
"""),
code("""
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout='constrained')
show_alignment(additive, '09.05.18', axes[0], "additive: '09.05.18'")
show_alignment(additive, 'may 9, 2018', axes[1], "additive: 'may 9, 2018'");
"""),
md("""
## Key results

The alignment, measured on 200 held-out dates written with their weekday (`"tuesday 9 may 2018"`):
for the output characters that carry information (the year's four digits, the month's two, the
day's two), the share of their attention that falls on the input word they must read, and the
share that falls on the weekday, which the answer does not need. The separators `-` are left out:
they depend on no input character, so the model may look anywhere for them. Averaged over many
dates, the claim holds by a wide margin, for both kinds of attention and on every code path
(`cattn.show_config()` names the one in use).
"""),
code("""
# key results
print(dates.alignment.__doc__)                  # what is measured, and how
train_texts = {h for h, _ in train_pairs}

for name, model in (('additive', additive), ('dot-product', dot)):
    share, on_weekday = dates.alignment(model, exclude=train_texts)
    print(f'{name:>11}: attention on the right word', {g: round(v, 2) for g, v in share.items()},
          f'| on the weekday {on_weekday:.3f}')
    assert min(share.values()) > 0.5 and on_weekday < 0.1, (name, share, on_weekday)
print(f'accuracy: additive {acc_add:.3f}, dot-product {acc_dot:.3f}')
assert acc_add >= 0.95 and acc_dot >= 0.95, (acc_add, acc_dot)
for losses in (losses_add, losses_dot):
    assert np.mean(losses[-20:]) < np.mean(losses[:20]) / 20    # the loss dropped 20-fold
print('ok')
"""),
]


NOTEBOOKS["07_tiny_transformer"] = [
md("""
# 07 · A tiny transformer: watch its heads specialise

A causal transformer — the decoder of GPT, shrunk to one layer — learns to **reverse** a sequence:
after reading `3 1 4 1 5 9 2 6 |` it must write `6 2 9 5 1 4 1 3`. To write the k-th output it has to
look back at one particular input position, counted from the separator. Nothing in the model says
so: self-attention (自注意力) discovers it, and its heads split the work between them.

The whole model is written below from cattn's layers: `Embedding`, `PositionalEncoding`,
`MultiHeadAttention` (causal), `LayerNorm`, `Linear`, trained with `Adam` through `vjp`.
"""),
code("""
import time
import numpy as np
import matplotlib.pyplot as plt
import cattn
from cattn import nn

cattn.use_cjk_font()
rng = np.random.default_rng(0)
"""),
md("""
## 1. The task

Sequences of `N = 8` digits, a separator token `|` (index 10), then the digits reversed. The model
predicts every next token; only the predictions of the reversed half count in the loss (the other
targets are `ignore_index`, as in PyTorch).
"""),
code("""
N, SEP, VOCAB = 8, 10, 11
TOKENS = [str(i) for i in range(10)] + ['|']

def make_batch(n, rng):
    digits = rng.integers(0, 10, (n, N))
    seq = np.concatenate([digits, np.full((n, 1), SEP), digits[:, ::-1]], axis=1)  # (n, 2N+1)
    inputs, targets = seq[:, :-1], seq[:, 1:].copy()
    targets[:, :N] = -100          # predicting the first half is impossible: not counted
    return inputs, targets

x, y = make_batch(1, rng)
print('input :', ' '.join(TOKENS[t] for t in x[0]))
print('target:', ' '.join('·' if t < 0 else TOKENS[t] for t in y[0]))
"""),
md("""
## 2. The model: one pre-norm transformer block

`h = x + MHA(LN(x))` (causal: position i sees positions ≤ i), then `h + FF(LN(h))`, then a linear
read-out over the vocabulary. Its `vjp` runs the layers forward, and returns a pullback that runs
their pullbacks backward.
"""),
code("""
class TinyTransformer:
    def __init__(self, d=64, heads=4, seed=0):
        s = np.random.SeedSequence(seed).generate_state(6)
        self.embed = nn.Embedding(VOCAB, d, seed=s[0])
        self.pos = nn.PositionalEncoding(d, max_len=2 * N + 1)
        self.ln1, self.ln2, self.ln_out = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = cattn.MultiHeadAttention(d, heads, seed=s[1])
        self.ff1, self.ff2 = nn.Linear(d, 4 * d, seed=s[2]), nn.Linear(4 * d, d, seed=s[3])
        self.head = nn.Linear(d, VOCAB, seed=s[4])
        self.modules = [self.embed, self.ln1, self.ln2, self.ln_out, self.attn, self.ff1,
                        self.ff2, self.head]

    def vjp(self, tokens):
        e, b_embed = self.embed.vjp(tokens)
        x = self.pos(e)
        a_in, b_ln1 = self.ln1.vjp(x)
        a, b_attn = self.attn.vjp(a_in, is_causal=True)
        h = x + a
        f_in, b_ln2 = self.ln2.vjp(h)
        f1, b_ff1 = self.ff1.vjp(f_in)
        r = np.maximum(f1, 0)
        f2, b_ff2 = self.ff2.vjp(r)
        h2 = h + f2
        o, b_lno = self.ln_out.vjp(h2)
        logits, b_head = self.head.vjp(o)

        def pullback(dlogits):
            dh2 = b_lno(b_head(dlogits))
            dh = dh2 + b_ln2(b_ff1(b_ff2(dh2) * (f1 > 0)))
            dx = dh + b_ln1(b_attn(dh)[0])
            b_embed(dx)
        return logits, pullback

    def weights(self, tokens):
        # the attention distribution of every head: (H, L, L) for one sequence
        x = self.pos(self.embed(tokens))
        _, w = self.attn(self.ln1(x), is_causal=True, return_weights=True,
                         average_attn_weights=False)
        return w

model = TinyTransformer(seed=0)
print(sum(m.num_parameters for m in model.modules), 'parameters')
"""),
md("""
## 3. Train

400 steps of Adam on fresh random batches of 64 sequences.
"""),
code("""
try:
    from tqdm.auto import trange
except ImportError:                      # a plain line instead of a bar
    def trange(n, desc=''):
        for i in range(n):
            if i % 100 == 0 or i == n - 1:
                print(f'{desc} {i + 1}/{n}')
            yield i

opt = nn.Adam(model.modules, lr=3e-3)
losses = []
t0 = time.perf_counter()
for step in trange(400, desc='training'):
    x, y = make_batch(64, rng)
    logits, pullback = model.vjp(x)
    loss, dloss = cattn.vjp(nn.cross_entropy, logits, y)
    pullback(dloss(1.0)[0])
    opt.step()
    opt.zero_grad()
    losses.append(float(loss))
print(f'{time.perf_counter() - t0:.1f} s, final loss {np.mean(losses[-20:]):.4f}')
"""),
code("""
fig, ax = plt.subplots(figsize=(8, 4), layout='constrained')
ax.semilogy(losses)
ax.set_xlabel('training step')
ax.set_ylabel('cross-entropy loss (log scale)')
ax.set_title('训练损失 training loss: reversing 8 digits');
"""),
md("""
## 4. Greedy generation

Give the model the digits and the separator; it writes one token at a time, each time feeding back
the token it chose (greedy: the most likely one).
"""),
code("""
def generate(model, digits):
    seq = list(digits) + [SEP]
    for _ in range(N):
        logits, _ = model.vjp(np.array([seq]))
        seq.append(int(logits[0, -1].argmax()))
    return seq[N + 1:]

test_x = rng.integers(0, 10, (200, N))
correct = 0
for i, digits in enumerate(test_x):
    out = generate(model, digits)
    correct += out == list(digits[::-1])
    if i < 5:
        print(' '.join(map(str, digits)), '|', ' '.join(map(str, out)))
accuracy = correct / len(test_x)
print(f'{accuracy:.1%} of 200 new sequences reversed exactly')
"""),
md("""
## 5. What each head learned

The attention distribution (注意力分布) of the four heads for one sequence. Rows are the positions
that predict (queries), columns the positions they read (keys); the upper triangle is masked
(causal). In the second half the weights form an **anti-diagonal**: the position that writes the
k-th reversed digit reads input digit N − k. The heads share that work — some read the digit to
copy, some keep track of the position — on one colour scale for comparison.
"""),
code("""
x, _ = make_batch(1, np.random.default_rng(7))
labels = [TOKENS[t] for t in x[0]]
w = model.weights(x)[0]
causal = np.tri(len(labels), dtype=bool)
fig = cattn.plot_attention(w, labels, labels, mask=causal, annotate=False, cell=0.3,
                           title='多头注意力 each head after training (causal self-attention)')
"""),
md("""
## Key results
"""),
code("""
# key results
# the reading pattern: the position that writes output k attends most to input N-1-k
rows = np.arange(N, 2 * N)                 # the positions that predict the reversed digits
want = (N - 1) - (rows - N)                # ... and the inputs they must copy
found = w[:, rows].argmax(-1) == want      # (heads, rows): this head reads that row's digit
hits = float(found.any(axis=0).mean())     # the heads share the work: some head finds each one
print(f'loss {np.mean(losses[:20]):.3f} -> {np.mean(losses[-20:]):.4f}; accuracy {accuracy:.1%};'
      f' rows on the anti-diagonal, per head: {found.mean(1)}; by some head: {hits:.0%}')
assert np.mean(losses[-20:]) < np.mean(losses[:20]) / 20
assert accuracy >= 0.95
assert hits >= 0.85
print('ok')
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
