# %% [markdown]
# # 06 · Learning to align: watch attention learn to translate dates
#
# Until now every heatmap showed *untrained* weights. Here a small model learns a real task — turn a
# date written the way people write it (`"tuesday 9 may 2018"`, `"09.05.18"`, `"may 9, 2018"`) into
# ISO `2018-05-09` — and its attention distribution (注意力分布) learns **which input characters each
# output character should read**. That alignment is the picture Bahdanau et al. (2015) drew for
# translation: nobody tells the model where the day is; the gradient does.
#
# Everything below runs on a laptop CPU in well under two minutes: two models of about 55,000
# parameters each, trained for 500 steps, with the attention computed by cattn's C kernels and the
# gradients by `vjp` pullbacks.

# %%
import time
import numpy as np
import matplotlib.pyplot as plt
import cattn
from cattn.lessons import dates

cattn.use_cjk_font()   # Chinese titles render (the plot extra brings the font)
print(cattn.__version__, '|', cattn.get_num_threads(), 'threads')

# %% [markdown]
# ## 1. The data: dates in eight human formats
#
# Each example is a random day between 1950 and 2049 written in one of `dates.FORMATS`, paired with
# its ISO form. Two-digit years (`"09.05.18"`) mean 1950–2049, so `18` is 2018 and `57` is 1957.
# The held-out set contains no input string seen in training.

# %%
train_pairs = dates.make_dates(20_000, seed=0)
test_pairs = dates.make_dates(1_000, seed=1, exclude={h for h, _ in train_pairs})
for human, iso in train_pairs[:8]:
    print(f'{human:>28}  ->  {iso}')

# %% [markdown]
# ## 2. Characters to numbers
#
# The model reads characters. Each input character gets an index in `dates.INPUT_CHARS` (index 0,
# `<`, pads short inputs to 30 characters); the output alphabet is just `-0123456789`. The padding
# never takes part: its positions are excluded from attention with `key_lengths`.

# %%
x, lengths = dates.encode(['tuesday 9 may 2018'], dates.INPUT_CHARS, dates.IN_LEN)
print(x[0])
print('length:', lengths[0])

# %% [markdown]
# ## 3. The model
#
# * **Encoder** — an embedding per character plus sinusoidal positions (`cattn.nn.PositionalEncoding`),
#   then one self-attention layer (`cattn.MultiHeadAttention`, 4 heads) and a feed-forward layer, each
#   with a residual connection and `LayerNorm`. After it, each character's vector knows its
#   neighbours: the `9` in `"9 may"` knows it is a day.
# * **Decoder** — one learned query per output position (10 of them: `YYYY-MM-DD`). Each query
#   attends over the encoder's states: **this attention is the alignment we will look at**. We train
#   it twice, once with additive attention (`cattn.AdditiveAttention`, score `w_vᵀ tanh(W_q q + W_k k)`)
#   and once with scaled dot-product attention (`cattn.Attention`, score `q·k/√d`). A small
#   feed-forward layer reads the output character from the attended context.
#
# The backward pass is the chain of every layer's `vjp` pullback, in reverse order:

# %%
import inspect
print(inspect.getsource(dates.DateTranslator.vjp))

# %% [markdown]
# ## 4. Before training: attention is spread everywhere
#
# An untrained model attends almost uniformly. Rows are output characters, columns input characters.

# %%
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

# %% [markdown]
# ## 5. Train with additive attention
#
# Adam, batches of 128, the learning rate decaying from 0.01 over 500 steps; `cross_entropy` compares
# the 10 output characters with the ISO answer. A progress bar shows the loss (`tqdm`, when it is
# installed).

# %%
t0 = time.perf_counter()
losses_add = dates.train(additive, train_pairs, steps=500, batch=128, lr=1e-2, seed=0)
print(f'{time.perf_counter() - t0:.1f} s')

# %% [markdown]
# ## 6. Train the same model with scaled dot-product attention

# %%
dot = dates.DateTranslator('dot', seed=0)
t0 = time.perf_counter()
losses_dot = dates.train(dot, train_pairs, steps=500, batch=128, lr=1e-2, seed=0)
print(f'{time.perf_counter() - t0:.1f} s')

# %%
def smooth(v, k=20):
    return np.convolve(v, np.ones(k) / k, mode='valid')

fig, ax = plt.subplots(figsize=(8, 4), layout='constrained')
ax.semilogy(smooth(losses_add), label='additive attention')
ax.semilogy(smooth(losses_dot), label='scaled dot-product attention')
ax.set_xlabel('training step')
ax.set_ylabel('cross-entropy loss (20-step mean, log scale)')
ax.set_title('训练损失 training loss')
ax.legend();

# %% [markdown]
# ## 7. How well does it translate dates it has never seen?

# %%
acc_add = additive.accuracy(test_pairs)
acc_dot = dot.accuracy(test_pairs)
print(f'exact match on 1,000 held-out dates: additive {acc_add:.1%}, dot-product {acc_dot:.1%}')
samples = ['tuesday 9 may 2018', '3 march 1999', '1984-07-30', '09.05.18', 'may 9, 2018',
           'sat 1 jan 2000', '25/12/1975', '7 jul 49']
got_add, _ = additive.translate(samples)
got_dot, _ = dot.translate(samples)
for s, a, d in zip(samples, got_add, got_dot):
    print(f'{s:>20}  ->  {a}   (dot-product: {d})')

# %% [markdown]
# ## 8. After training: the alignment
#
# Now each output character looks at the input characters it needs: the year digits at `2018`, the
# month digits at the month's **name** (`may` becomes `05`), the day digits at `9`, while `tuesday`
# is ignored — it carries no information the answer needs. (Where an output does not depend on one
# input character — the `-` separators, the century `20` — the model is free to look anywhere.) The two kinds of attention learn the same
# alignment; the scores differ (a learned tanh layer vs. a dot product), the idea does not.

# %%
fig, axes = plt.subplots(2, 1, figsize=(11, 9), layout='constrained')
show_alignment(additive, example, axes[0], '注意力分布 after training — additive attention')
show_alignment(dot, example, axes[1], '注意力分布 after training — scaled dot-product attention');

# %% [markdown]
# To explore the trained alignment yourself: hover an output character (left) to see the input
# characters it reads, or an input character (right) to see which outputs read it.

# %%
out, w = additive.translate([example])
cattn.view(w[0][:, :len(example)], list(out[0]), [c if c != ' ' else '␣' for c in example])

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout='constrained')
show_alignment(additive, '09.05.18', axes[0], "additive: '09.05.18'")
show_alignment(additive, 'may 9, 2018', axes[1], "additive: 'may 9, 2018'");

# %% [markdown]
# ## Key results
#
# The alignment, measured on 200 held-out dates written with their weekday (`"tuesday 9 may 2018"`):
# for the output characters that carry information (the year's four digits, the month's two, the
# day's two), the share of their attention that falls on the input word they must read, and the
# share that falls on the weekday, which the answer does not need. The separators `-` are left out:
# they depend on no input character, so the model may look anywhere for them. Averaged over many
# dates, the claim holds by a wide margin, for both kinds of attention and on every code path
# (`cattn.show_config()` names the one in use).

# %%
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
