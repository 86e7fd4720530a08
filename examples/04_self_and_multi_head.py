# %% [markdown]
# # 4 · Self-attention and multi-head attention
#
# *自注意力 · 多头注意力 — self-attention, multi-head attention.*
#
# Self-attention is the same mechanism with queries, keys and values from **one** sequence.
# Multi-head attention runs several heads, each with its own W_q, W_k, W_v ("what happens? when?
# who?"), concatenates their outputs and multiplies by W_o. The example is the sentence
# "Jane visite l'Afrique en septembre" → "Jane visits Africa in September" (random embeddings and
# weights, fixed seeds: nothing is trained).

# %%
import numpy as np
import matplotlib.pyplot as plt
import cattn
np.set_printoptions(precision=3, suppress=True)

# %%
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

# %% [markdown]
# ## Four heads, each with its own projections

# %%
mha = cattn.MultiHeadAttention(16, 4, seed=0, dtype=np.float64)
print(mha)
s = mha.steps(fr, query_labels=FRENCH, key_labels=FRENCH)
fig = s.plot(title="多头注意力 multi-head self-attention: each head's 注意力分布")
plt.show()

# %% [markdown]
# The same weights, to explore: hover (or tap) a word on the left to see where it looks — one line
# per head, its opacity the weight — or a word on the right to see who looks at it; tick heads on
# and off to compare them (`cattn.view`, one self-contained piece of HTML: no server, no extension).

# %%
s.view()

# %% [markdown]
# The heads' outputs (`head_outputs`, one (5, 4) block per head) are concatenated side by side into
# (5, 16) and multiplied by W_o:

# %%
print("head outputs", s.head_outputs.shape, "-> concat", s.concat.shape, "-> output", s.output.shape)
W_o = mha.state_dict()["out_proj.weight"]
b_o = mha.state_dict()["out_proj.bias"]
print("output = concat @ W_o.T + b_o:", np.allclose(s.output, s.concat @ W_o.T + b_o))

# %% [markdown]
# ## Cross-attention: the English words attend the French ones

# %%
c = mha.steps(en, fr)
fig = cattn.plot_attention(c.weights, ENGLISH, FRENCH,
                           title="多头注意力 multi-head cross-attention, one panel per head")
plt.show()

# %% [markdown]
# ## Counting the learnable parameters
# heads × 3 projection matrices (each 16 × 4) + the output matrix (16 × 16), plus the biases:

# %%
H, E, d = 4, 16, 4
matrices = H * 3 * (E * d) + E * E
biases = 3 * E + E
print(matrices, "+", biases, "=", matrices + biases, "; mha.num_parameters =", mha.num_parameters)
print("the Transformer base model's layer:", cattn.MultiHeadAttention(512, 8).num_parameters)

# %%
# key results
assert np.allclose(w.sum(-1), 1)
assert s.weights.shape == (4, 5, 5) and c.weights.shape == (4, 5, 5)
assert np.allclose(s.output, mha(fr)) and np.allclose(c.output, mha(en, fr))
assert not np.allclose(s.weights[0], s.weights[1])          # heads look from different angles
assert mha.num_parameters == matrices + biases == 1088
assert cattn.MultiHeadAttention(512, 8).num_parameters == 1_050_624
print("ok")
