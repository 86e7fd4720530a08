# %% [markdown]
# # 1 · The information bottleneck of plain seq2seq, and how attention breaks it
#
# *朴素seq2seq的信息瓶颈 · 注意力机制打破信息瓶颈 — the bottleneck of plain seq2seq, and how attention breaks it.*
#
# A plain encoder–decoder squeezes the whole source sentence into the encoder's **last hidden state**,
# the *context vector*. Every decoder step starts from that one vector. Attention instead wires every
# decoder step to **every** encoder hidden state. We build a tiny RNN encoder and decoder with fixed
# random weights (nothing is trained: the point is the wiring, not the translation).

# %%
import numpy as np
import matplotlib.pyplot as plt
import cattn
np.set_printoptions(precision=3, suppress=True)

# %%
rng = np.random.default_rng(0)
source = ["Jane", "visite", "l'Afrique", "en", "septembre"]
target = ["Jane", "visits", "Africa", "in", "September"]
E, Hd = 8, 6                                # embedding and hidden sizes
embed = {w: rng.standard_normal(E) for w in source + target}
W_x, W_h = rng.standard_normal((E, Hd)) * 0.5, rng.standard_normal((Hd, Hd)) * 0.5

def rnn(words, h0):
    """A plain tanh RNN: one hidden state per word."""
    states, h = [], h0
    for w in words:
        h = np.tanh(embed[w] @ W_x + h @ W_h)
        states.append(h)
    return np.array(states)

enc = rnn(source, np.zeros(Hd))             # (5, Hd): one state per source word
context = enc[-1]                           # the bottleneck: the last state only
dec = rnn(target, context)                  # (5, Hd): the decoder starts from the context
enc.shape, context.shape, dec.shape

# %% [markdown]
# ## Without attention
# Whatever the decoder step, the only information about the source it was given is `context`: five
# words in six numbers. Long sentences lose information this way.

# %%
print("numbers carrying the whole source sentence:", context.size)
print("numbers the encoder produced:              ", enc.size)

# %% [markdown]
# ## With attention
# Each decoder state (the **query**) is compared with every encoder state (the **keys**), and reads a
# weighted mix of them (the **values**): `cattn.Attention()` with no parameters is exactly that,
# `softmax(q kᵀ / √d) v`.

# %%
attn = cattn.Attention()
read, weights = attn(dec, enc, return_weights=True)   # queries: decoder, keys = values: encoder
weights

# %%
cattn.plot_attention(weights, target, source,
                     title="注意力分布 attention distribution: each decoder step reads every encoder state")
plt.show()

# %% [markdown]
# Every row is a probability distribution over the source words, and every decoder step gets its own
# mix (`read[t]`), instead of the same single context vector.

# %%
# key results
assert weights.shape == (len(target), len(source))
assert np.allclose(weights.sum(axis=1), 1.0)
assert np.allclose(read, weights @ enc)                      # a weighted sum of encoder states
assert not np.allclose(read[0], read[1])                      # each step reads something different
assert context.size < enc.size
print("ok")
