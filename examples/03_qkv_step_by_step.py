# %% [markdown]
# # 3 · Q, K, V and the steps of attention, on a two-word example
#
# *QKV · Attention机制的步骤 — queries, keys, values, and the steps of the attention mechanism.*
#
# `softmax(Q Kᵀ / √d_k) · V`, one step at a time, for the two words "Thinking" and "Machines" with
# d_k = 64. The query of "Thinking" scores 112 against its own key and 96 against "Machines".

# %%
import numpy as np
import matplotlib.pyplot as plt
import cattn
np.set_printoptions(precision=3, suppress=True)

# %%
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

# %% [markdown]
# ## Step 1 · attention score (注意力得分): the query against every key, then the scaling by √d_k = 8

# %%
print("scores        ", s.scores)
print("scaled scores ", s.scaled_scores, "  (scale =", s.scale, ")")
assert np.allclose(s.scores, q @ k.T)

# %% [markdown]
# ## Step 2 · attention distribution (注意力分布): softmax turns each row of scores into probabilities

# %%
by_hand = np.exp(s.scaled_scores - s.scaled_scores.max(axis=1, keepdims=True))
by_hand /= by_hand.sum(axis=1, keepdims=True)
print(s.weights)
print("matches NumPy:", np.allclose(s.weights, by_hand))

# %% [markdown]
# ## Step 3 · attention output (注意力输出): the weights average the values — an expectation

# %%
print(s.output[:, :6])
print("= weights @ V:", np.allclose(s.output, s.weights @ v))

# %% [markdown]
# In Jupyter the steps object draws itself as a table (no matplotlib needed); `.plot()` draws a heatmap:

# %%
s     # Jupyter shows the steps object as its table

# %%
s.plot()                       # labelled by the words given to steps()
plt.show()

# %%
# key results
assert np.allclose(s.scores[0], [112, 96])
assert np.allclose(s.scaled_scores[0], [14, 12])
assert np.allclose(s.weights[0], [0.8808, 0.1192], atol=1e-4)
assert np.allclose(s.output, cattn.scaled_dot_product_attention(q, k, v))
print("ok")
