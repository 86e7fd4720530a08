# %% [markdown]
# # 2 · Dot product = similarity, matrix product = many dot products
#
# *向量的点积 · 矩阵的乘法 — the dot product of vectors, the product of matrices.*
#
# The dot product of two vectors multiplies matching entries and adds them up: a scalar that is large
# when the vectors point the same way. A matrix product is many dot products at once.

# %%
import numpy as np
import matplotlib.pyplot as plt
import cattn
np.set_printoptions(precision=3, suppress=True)

# %%
a = np.array([1.0, 2.0, 3.0])
b = np.array([2.0, 4.0, 6.0])      # same direction as a
c = np.array([3.0, 0.0, -1.0])     # orthogonal to a
print("a·b =", a @ b, "  a·c =", a @ c)
print("by hand:", sum(x * y for x, y in zip(a, b)))

# %% [markdown]
# Several queries against several keys: entry `(i, j)` of `Q @ K.T` is the dot product of query `i`
# with key `j`. `cattn.matmul` is a NumPy generalized ufunc with `np.matmul`'s contract.

# %%
rng = np.random.default_rng(1)
Q = rng.standard_normal((3, 4))    # 3 queries of size 4
K = rng.standard_normal((5, 4))    # 5 keys of size 4
S = cattn.matmul(Q, K.T)           # (3, 5): every query against every key
loops = np.array([[Q[i] @ K[j] for j in range(5)] for i in range(3)])
print(S)
print("same as 15 separate dot products:", np.allclose(S, loops))
print(cattn.matmul, "signature", cattn.matmul.signature)

# %% [markdown]
# The same 15 numbers as a picture: large where a query and a key point the same way.

# %%
cattn.use_cjk_font()
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
im = ax.imshow(S, cmap="RdBu_r", vmin=-abs(S).max(), vmax=abs(S).max())
ax.set_xticks(range(5), [f"key {j}" for j in range(5)])
ax.set_yticks(range(3), [f"query {i}" for i in range(3)])
ax.set_xlabel("key"); ax.set_ylabel("query")
ax.set_title("向量的点积 dot products: every query against every key")
fig.colorbar(im, ax=ax, label="q · k")
plt.show()

# %% [markdown]
# ## Batches broadcast, as in `np.matmul`

# %%
Qb = rng.standard_normal((2, 8, 3, 4))          # (batch, heads, queries, size)
Kb = rng.standard_normal((2, 8, 5, 4))
Sb = cattn.matmul(Qb, np.swapaxes(Kb, -1, -2))
Sb.shape, np.allclose(Sb, Qb @ np.swapaxes(Kb, -1, -2))

# %%
# key results
assert a @ b > 0 and a @ c == 0
assert np.allclose(S, loops)
assert np.allclose(cattn.matmul(Q, K.T), np.matmul(Q, K.T))
assert Sb.shape == (2, 8, 3, 5) and np.allclose(Sb, Qb @ np.swapaxes(Kb, -1, -2))
assert cattn.matmul(np.arange(3), np.arange(3)) == 5.0           # 1-D · 1-D, like np.matmul
print("ok")
