"""Regenerate docs/heatmap.png, the README's picture: the four heads of a MultiHeadAttention
(fixed seed) attending from "Jane visits Africa in September" to "Jane visite l'Afrique en
septembre". Run: python scripts/make_figures.py (needs matplotlib)."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import cattn  # noqa: E402
from cattn.__main__ import ENGLISH, FRENCH, jane_embeddings  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "heatmap.png")


def main():
    fr, en = jane_embeddings()
    mha = cattn.MultiHeadAttention(16, 4, seed=0, dtype=np.float64)
    steps = mha.steps(en, fr)
    fig = cattn.plot_attention(steps.weights, ENGLISH, FRENCH,
                               title="cross-attention, 4 heads: English queries, French keys")
    fig.savefig(OUT, dpi=90)
    plt.close(fig)
    print("wrote", os.path.relpath(OUT))


if __name__ == "__main__":
    main()
