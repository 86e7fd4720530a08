"""python -m cattn: scaled dot-product attention, step by step, on a two-word example.

Two words, "Thinking" and "Machines", with 64-dimensional queries, keys and values (d_k = 64, so
the scores are divided by sqrt(64) = 8). The query of "Thinking" scores 112 against its own key
and 96 against the key of "Machines", round numbers that are easy to follow.

    python -m cattn            the walk-through, checked against plain NumPy
    python -m cattn --steps    every intermediate array of the two-word example
    python -m cattn --heads    multi-head attention on "Jane visite l'Afrique en septembre":
                               each head's weights as a text heatmap
    python -m cattn --train [SECONDS]
                               train the date model (cattn.lessons.dates: "tuesday 9 may 2018" ->
                               2018-05-09) as notebook 06 does, with a progress bar (about 10 s
                               on two cores; SECONDS stops it sooner), then print translations,
                               the alignment of one date as a text heatmap, and the lesson's
                               claims checked
"""
# The walk-through behind python -m cattn (cattn/__main__.py only starts it): the terminal's
# teaching helpers -- a text heatmap, rows of numbers -- and its four shows.
import os
import sys

import numpy as np

from .. import _config, functional, softmax

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


SHADES = " ░▒▓█"
FRENCH = ["Jane", "visite", "l'Afrique", "en", "septembre"]
ENGLISH = ["Jane", "visits", "Africa", "in", "September"]


def text_heatmap(w, rows, cols, values=True):
    """Weights as shade characters (darker = more attention, relative to the largest weight of
    the map), one row per query, with the values beside them (unless values=False)."""
    width = max(len(c) for c in cols)
    top = float(np.max(w)) if np.size(w) and np.max(w) > 0 else 1.0
    lines = ["  " + " " * 11 + " ".join(f"{c[:width]:>{width}}" for c in cols)]
    for label, row in zip(rows, w):
        cells = " ".join(f"{SHADES[min(4, int(x / top * 4.999))] * width}" for x in row)
        lines.append(f"  {label:<10} {cells}   " + (" ".join(f"{x:.2f}" for x in row)
                                                   if values else ""))
    return "\n".join(lines)


def jane_embeddings(E=16, seed=7):
    """Fixed random embeddings of the French and English words."""
    rng = np.random.default_rng(seed)
    vocab = {w: rng.standard_normal(E) for w in FRENCH + ENGLISH}
    return np.array([vocab[w] for w in FRENCH]), np.array([vocab[w] for w in ENGLISH])


def show_heads():
    from ..nn import MultiHeadAttention

    fr, en = jane_embeddings()
    mha = MultiHeadAttention(16, 4, seed=0, dtype=np.float64)
    print("multi-head attention (多头注意力), 4 heads, embed_dim 16, fixed random weights")
    print(f"learnable matrices: 4 heads x 3 (W_q, W_k, W_v) + W_o; parameters: {mha.num_parameters}\n")
    s = mha.steps(fr)
    print("self-attention (自注意力) over the French sentence: each head's weights")
    for h in range(4):
        print(f"\n head {h}")
        print(text_heatmap(s.weights[h], FRENCH, FRENCH))
    s = mha.steps(en, fr)
    print("\ncross-attention: the English words (queries) attend the French ones (keys)")
    for h in range(4):
        print(f"\n head {h}")
        print(text_heatmap(s.weights[h], ENGLISH, FRENCH))
    out = mha(en, fr)
    ok = np.allclose(s.output, out, rtol=1e-12, atol=1e-12)
    print(f"\ncheck   steps().output equals the fused forward pass: {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def show_steps():
    from ..nn import Attention

    q, k, v = example()
    s = Attention().steps(q, k, v)
    np.set_printoptions(precision=3, suppress=True, linewidth=100)
    print("every step of softmax(Q K^T / sqrt(d_k)) V for the two-word example\n")
    for name, a in (("Q (queries, first 8 of 64 dims)", q[:, :8]),
                    ("K (keys, first 8 dims)", k[:, :8]), ("V (values, first 8 dims)", v[:, :8])):
        print(f"{name}\n{a}\n")
    for name, a in (("scores = Q K^T  (注意力得分 attention score)", s.scores),
                    (f"scaled_scores = scores x {s.scale:g}  (1/sqrt(d_k))", s.scaled_scores),
                    ("mask (True = may attend)", s.mask),
                    ("weights = softmax(scaled_scores)  (注意力分布 attention distribution)", s.weights),
                    ("output = weights V  (注意力输出 attention output, first 8 dims)", s.output[:, :8])):
        print(f"{name}\n{a}\n")
    plain = (lambda e: e / e.sum(1, keepdims=True))(np.exp(q @ k.T / 8 - (q @ k.T / 8).max(1, keepdims=True))) @ v
    ok = np.allclose(s.output, plain, rtol=1e-12, atol=1e-12)
    print(f"check   the steps against plain NumPy: {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def show_training(seconds=None, steps=500):
    """Notebook 06's recipe (500 steps of Adam; about 10 s on two AVX2 or AVX-512 cores, a minute
    or two on the portable code path), then its claims, checked: exact match on held-out dates
    and the alignment (dates.alignment). SECONDS stops it sooner; the claims are then only
    reported."""
    from . import dates

    limit = f"at most {seconds:g} s" if seconds is not None else "the lesson's recipe"
    print(f"training the date model (additive attention) for {steps} steps ({limit}): "
          "human-readable dates -> ISO YYYY-MM-DD")
    train_pairs = dates.make_dates(20000, seed=0)
    test_pairs = dates.make_dates(500, seed=1, exclude={h for h, _ in train_pairs})
    model = dates.DateTranslator("additive", seed=0)
    losses = dates.train(model, train_pairs, steps=steps, seconds=seconds)
    accuracy = model.accuracy(test_pairs)
    print(f"{len(losses)} steps; loss {np.mean(losses[:10]):.3f} -> {np.mean(losses[-10:]):.4f}; "
          f"exact match on 500 held-out dates: {accuracy:.1%}\n")
    samples = ["tuesday 9 may 2018", "3 march 1999", "09.05.18", "may 9, 2018", "sat 1 jan 2000"]
    got, w = model.translate(samples)
    for s, g in zip(samples, got):
        print(f"  {s:>20}  ->  {g}")
    text = samples[0]
    print(f"\nalignment (注意力分布) of {text!r}: rows are output characters, columns input ones")
    print(text_heatmap(w[0][:, :len(text)], list(got[0]), list(text), values=False))
    share, weekday = dates.alignment(model, exclude={h for h, _ in train_pairs})
    print("\non 200 held-out dates with a weekday, attention of the year, month and day digits on "
          "their word: " + ", ".join(f"{g} {v:.2f}" for g, v in share.items()) +
          f"; of all of them on the weekday: {weekday:.3f}")
    ok = accuracy >= 0.95 and min(share.values()) > 0.5 and weekday < 0.1
    claims = "exact match >= 95 %, each share > 0.5, weekday < 0.1"
    if len(losses) < steps:
        print(f"check   the lesson's claims ({claims}): not checked, stopped after {len(losses)} "
              f"of {steps} steps")
        return 0
    print(f"check   the lesson's claims ({claims}) -> {'OK' if ok else 'NOT MET'}")
    return 0 if ok else 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if argv and argv[0] == "--steps":
        return show_steps()
    if argv and argv[0] == "--heads":
        return show_heads()
    if argv and argv[0] == "--train":
        try:
            seconds = float(argv[1]) if len(argv) > 1 else None
        except ValueError:
            print(f"python -m cattn --train: SECONDS must be a number, got {argv[1]!r}",
                  file=sys.stderr)
            return 2
        return show_training(seconds)
    if argv:
        print(f"python -m cattn: unknown option {argv[0]!r} (use --steps, --heads, --train or "
              f"--help)",
              file=sys.stderr)
        return 2
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


def run(argv=None):
    """main(), quiet when the reader stops reading (`python -m cattn -h | head -1`): the pipe's
    closing ends the output, as for any Unix tool, without a BrokenPipeError traceback."""
    try:
        rc = main(argv)
        sys.stdout.flush()
        return rc
    except BrokenPipeError:
        # Python would flush stdout again at exit and report the same closed pipe: point it at
        # /dev/null first
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
