"""python -m cattn: scaled dot-product attention, step by step, on the notes' two-word example.

Two words, "Thinking" and "Machines", with 64-dimensional queries, keys and values (d_k = 64, so
the scores are divided by sqrt(64) = 8). The query of "Thinking" scores 112 against its own key
and 96 against the key of "Machines", as in the lecture's figure.
"""
import sys

import numpy as np

from . import _config, functional, softmax

WORDS = ["Thinking", "Machines"]


def example(d_k=64, seed=0):
    """q, k, v (2, d_k) for the two words, built so that q_Thinking . k = (112, 96)."""
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((2, d_k)) for _ in range(3))
    target = np.array([112.0, 96.0])
    q0 = q[0]
    k += np.outer((target - k @ q0) / (q0 @ q0), q0)  # move each key along q0 to hit its score
    return q, k, v


def fmt_row(label, values, width=9):
    return f"  {label:<10}" + "".join(f"{x:>{width}.3f}" for x in values)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("\nusage: python -m cattn")
        return 0
    q, k, v = example()
    d_k = q.shape[-1]
    print("cattn: scaled dot-product attention, step by step (缩放点积注意力)")
    print(f"two words {WORDS}, d_k = {d_k}: out = softmax(Q K^T / sqrt(d_k)) V\n")

    scores = q @ k.T
    print("step 1  attention score (注意力得分): Q K^T, each query against every key")
    print("  " + " " * 10 + "".join(f"{w:>9}" for w in WORDS))
    for w, row in zip(WORDS, scores):
        print(fmt_row(w, row))

    scaled = scores / np.sqrt(d_k)
    print(f"\nstep 1b scaling: divide by sqrt(d_k) = {np.sqrt(d_k):g} (keeps softmax out of saturation)")
    for w, row in zip(WORDS, scaled):
        print(fmt_row(w, row))

    weights = softmax(scaled)
    print("\nstep 2  attention distribution (注意力分布): softmax of each row, sums to 1")
    for w, row in zip(WORDS, weights):
        print(fmt_row(w, row))

    out = weights @ v
    print("\nstep 3  attention output (注意力输出): the weighted sum of the values (first 6 dims)")
    for w, row in zip(WORDS, out):
        print(fmt_row(w, row[:6]) + "  ...")

    fused, fused_w = functional.scaled_dot_product_attention(q, k, v, return_weights=True)
    s = q @ k.T / np.sqrt(d_k)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    plain_w = e / e.sum(axis=1, keepdims=True)
    plain = plain_w @ v
    err = max(np.abs(fused - plain).max(), np.abs(fused_w - plain_w).max())
    ok = err < 1e-12
    print(f"\ncheck   cattn.scaled_dot_product_attention vs plain NumPy: max |diff| = {err:.1e} "
          f"-> {'OK' if ok else 'MISMATCH'}")
    c = _config.config()
    print(f"cpu     code path '{c['level']}' (best on this CPU: '{c['best']}'); cattn {c['version']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
