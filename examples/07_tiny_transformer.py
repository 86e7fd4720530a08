# %% [markdown]
# # 07 · A tiny transformer: watch its heads specialise
#
# A causal transformer — the decoder of GPT, shrunk to one layer — learns to **reverse** a sequence:
# after reading `3 1 4 1 5 9 2 6 |` it must write `6 2 9 5 1 4 1 3`. To write the k-th output it has to
# look back at one particular input position, counted from the separator. Nothing in the model says
# so: self-attention (自注意力) discovers it, and its heads split the work between them.
#
# The whole model is written below from cattn's layers: `Embedding`, `PositionalEncoding`,
# `MultiHeadAttention` (causal), `LayerNorm`, `Linear`, trained with `Adam` through `vjp`.

# %%
import time
import numpy as np
import matplotlib.pyplot as plt
import cattn
from cattn import nn

cattn.use_cjk_font()
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The task
#
# Sequences of `N = 8` digits, a separator token `|` (index 10), then the digits reversed. The model
# predicts every next token; only the predictions of the reversed half count in the loss (the other
# targets are `ignore_index`, as in PyTorch).

# %%
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

# %% [markdown]
# ## 2. The model: one pre-norm transformer block
#
# `h = x + MHA(LN(x))` (causal: position i sees positions ≤ i), then `h + FF(LN(h))`, then a linear
# read-out over the vocabulary. Its `vjp` runs the layers forward, and returns a pullback that runs
# their pullbacks backward.

# %%
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

# %% [markdown]
# ## 3. Train
#
# 400 steps of Adam on fresh random batches of 64 sequences.

# %%
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

# %%
fig, ax = plt.subplots(figsize=(8, 4), layout='constrained')
ax.semilogy(losses)
ax.set_xlabel('training step')
ax.set_ylabel('cross-entropy loss (log scale)')
ax.set_title('训练损失 training loss: reversing 8 digits');

# %% [markdown]
# ## 4. Greedy generation
#
# Give the model the digits and the separator; it writes one token at a time, each time feeding back
# the token it chose (greedy: the most likely one).

# %%
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

# %% [markdown]
# ## 5. What each head learned
#
# The attention distribution (注意力分布) of the four heads for one sequence. Rows are the positions
# that predict (queries), columns the positions they read (keys); the upper triangle is masked
# (causal). In the second half the weights form an **anti-diagonal**: the position that writes the
# k-th reversed digit reads input digit N − k. The heads share that work — some read the digit to
# copy, some keep track of the position — on one colour scale for comparison.

# %%
x, _ = make_batch(1, np.random.default_rng(7))
labels = [TOKENS[t] for t in x[0]]
w = model.weights(x)[0]
causal = np.tri(len(labels), dtype=bool)
fig = cattn.plot_attention(w, labels, labels, mask=causal, annotate=False, cell=0.3,
                           title='多头注意力 each head after training (causal self-attention)')

# %% [markdown]
# Explore the heads: hover a position to see what it reads (one colour per head), tick heads on and
# off to see how they share the work; the masked (future) positions are drawn hatched.

# %%
cattn.view(w, labels, labels, mask=causal)

# %% [markdown]
# ## Key results

# %%
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
