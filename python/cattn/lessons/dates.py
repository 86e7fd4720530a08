"""The date lesson: human-readable dates translated to ISO ``YYYY-MM-DD``, character by character,
by a small model whose output positions attend to the input's characters (notebook
06_learning_to_align and ``python -m cattn --train``).

    encoder:  characters → Embedding + PositionalEncoding → self-attention (MultiHeadAttention)
              → LayerNorm → feed-forward → LayerNorm          (each character knows its word)
    decoder:  one learned query per output position (10 of them) attends to the encoder's
              states -- additive (cattn.AdditiveAttention) or scaled dot-product
              (cattn.Attention) -- and a small feed-forward layer reads off the character.

Every layer is a cattn module; the backward pass is the chain of their ``vjp`` pullbacks. The
alignment the course draws is the decoder's attention weights, (10 outputs × input characters).
"""
import datetime
import sys
import time

import numpy as np

from ..gradients import vjp
from ..nn import (AdditiveAttention, Adam, Attention, Embedding, LayerNorm, Linear,
                 MultiHeadAttention, PositionalEncoding, cross_entropy)

__all__ = ["make_dates", "DateTranslator", "train", "alignment", "INPUT_CHARS", "OUTPUT_CHARS",
           "FORMATS"]

DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]

# How people write a date (d: datetime.date): the input side of the task.
FORMATS = [
    lambda d: f"{DAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}",  # tuesday 9 may 2018
    lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",                      # 3 march 1999
    lambda d: d.isoformat(),                                                  # 1984-07-30
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}",                # 09.05.18
    lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",                     # may 9, 2018
    lambda d: f"{DAYS[d.weekday()][:3]} {d.day} {MONTHS[d.month - 1][:3]} {d.year}",  # tue 9 may 2018
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}",                          # 09/05/2018
    lambda d: f"{d.day} {MONTHS[d.month - 1][:3]} {d.year % 100:02d}",        # 9 may 18
]
FIRST, LAST = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)  # two-digit years: 50-49

INPUT_CHARS = "<" + " ,-./0123456789" + "abcdefghijklmnopqrstuvwxyz"  # "<": padding (index 0)
OUTPUT_CHARS = "-0123456789"
IN_LEN, OUT_LEN = 30, 10


def make_dates(n, seed=0, exclude=()):
    """n pairs (human-readable, ISO) of random dates in 1950-2049, each in a random format of
    FORMATS; pairs whose human form is in `exclude` are drawn again (held-out sets)."""
    rng = np.random.default_rng(seed)
    exclude = set(exclude)
    pairs = []
    while len(pairs) < n:
        d = datetime.date.fromordinal(int(rng.integers(FIRST.toordinal(), LAST.toordinal() + 1)))
        human = FORMATS[int(rng.integers(len(FORMATS)))](d)
        if human not in exclude:
            pairs.append((human, d.isoformat()))
    return pairs


def encode(texts, chars, length):
    """(indices (n, length) padded with 0, lengths (n,)) of strings over `chars`."""
    index = {c: i for i, c in enumerate(chars)}
    out = np.zeros((len(texts), length), np.int64)
    lengths = np.zeros(len(texts), np.int64)
    for r, t in enumerate(texts):
        t = t.lower()[:length]
        out[r, :len(t)] = [index[c] for c in t]
        lengths[r] = len(t)
    return out, lengths


def _relu_vjp(x):
    y = np.maximum(x, 0)
    return y, lambda g: g * (x > 0)


class DateTranslator:
    """The model of the module docstring. ``attention="additive"`` or ``"dot"``."""

    def __init__(self, attention="additive", d=64, heads=4, seed=0):
        if attention not in ("additive", "dot"):
            raise ValueError(f"DateTranslator: attention must be 'additive' or 'dot', got "
                             f"{attention!r}")
        s = np.random.SeedSequence(seed).generate_state(10)
        self.attention = attention
        self.embed = Embedding(len(INPUT_CHARS), d, seed=s[0])
        self.pe = PositionalEncoding(d, IN_LEN)
        self.self_attn = MultiHeadAttention(d, heads, seed=s[1])
        self.ln1, self.ln2 = LayerNorm(d), LayerNorm(d)
        self.ff1, self.ff2 = Linear(d, 2 * d, seed=s[2]), Linear(2 * d, d, seed=s[3])
        self.queries = Embedding(OUT_LEN, d, seed=s[4])
        self.cross = (AdditiveAttention(d, d, d, seed=s[5]) if attention == "additive"
                      else Attention(d, seed=s[5]))
        self.out1, self.out2 = Linear(2 * d, d, seed=s[6]), Linear(d, len(OUTPUT_CHARS), seed=s[7])
        self.modules = [self.embed, self.self_attn, self.ln1, self.ln2, self.ff1, self.ff2,
                        self.queries, self.cross, self.out1, self.out2]

    @property
    def num_parameters(self):
        return sum(m.num_parameters for m in self.modules)

    def vjp(self, x, lengths):
        """((logits (B, 10, classes), alignment (B, 10, characters)), pullback(dlogits)): the
        forward pass and the chain of pullbacks that adds every parameter's gradient."""
        B = x.shape[0]
        e, b_embed = self.embed.vjp(x)
        h0 = self.pe(e)
        a, b_attn = self.self_attn.vjp(h0, key_lengths=lengths)
        h1, b_ln1 = self.ln1.vjp(h0 + a)
        f1, b_ff1 = self.ff1.vjp(h1)
        r, b_relu = _relu_vjp(f1)
        f2, b_ff2 = self.ff2.vjp(r)
        enc, b_ln2 = self.ln2.vjp(h1 + f2)
        q1, b_q = self.queries.vjp(np.arange(OUT_LEN))
        q = np.broadcast_to(q1, (B,) + q1.shape)
        (ctx, w), b_cross = self.cross.vjp(q, enc, key_lengths=lengths, return_weights=True)
        z, b_o1 = self.out1.vjp(np.concatenate([ctx, q], axis=-1))
        rz, b_relu2 = _relu_vjp(z)
        logits, b_o2 = self.out2.vjp(rz)

        def pullback(dlogits):
            dz = b_relu2(b_o2(dlogits))
            dcat = b_o1(dz)
            d = ctx.shape[-1]
            dq, denc, _ = b_cross((dcat[..., :d], None))
            b_q((dq + dcat[..., d:]).sum(axis=0))
            dh1 = b_ln2(denc)
            dh1 = dh1 + b_ff1(b_relu(b_ff2(dh1)))
            dh0 = b_ln1(dh1)
            dh0 = dh0 + b_attn(dh0)[0]
            b_embed(dh0)
        return (logits, w), pullback

    def __call__(self, x, lengths):
        return self.vjp(x, lengths)[0]

    def translate(self, texts):
        """(ISO strings, alignments (n, 10, characters)) of human-readable dates."""
        x, lengths = encode(texts, INPUT_CHARS, IN_LEN)
        logits, w = self(x, lengths)
        out = ["".join(OUTPUT_CHARS[i] for i in row) for row in logits.argmax(-1)]
        return out, w

    def accuracy(self, pairs):
        """The fraction of pairs translated exactly."""
        got, _ = self.translate([h for h, _ in pairs])
        return float(np.mean([g == iso for g, (_, iso) in zip(got, pairs)]))


# The output characters that carry information (YYYY-MM-DD: the separators at 4 and 7 depend on
# no input character, so the model may look anywhere for them).
ROWS = {"year": [0, 1, 2, 3], "month": [5, 6], "day": [8, 9]}


def alignment(model, n=200, seed=5, exclude=()):
    """The lesson's measure of alignment, on n held-out dates written with their weekday
    (``"tuesday 9 may 2018"``; inputs in `exclude` are drawn again): for the year's, the
    month's and the day's output characters, the mean share of their attention on the input word
    they must read, and the mean share of all of them on the weekday, which the answer does not
    need. Returns ({"year": share, "month": share, "day": share}, weekday share)."""
    rng = np.random.default_rng(seed)
    exclude = set(exclude)
    texts = []
    while len(texts) < n:
        d = datetime.date.fromordinal(int(rng.integers(FIRST.toordinal(), LAST.toordinal() + 1)))
        if FORMATS[0](d) not in exclude:
            texts.append(FORMATS[0](d))
    _, w = model.translate(texts)
    share = {g: [] for g in ROWS}
    weekday = []
    informative = sum(ROWS.values(), [])
    for text, wt in zip(texts, w):
        name, day, month, year = text.split(" ")
        start = {"day": len(name) + 1}
        start["month"] = start["day"] + len(day) + 1
        start["year"] = start["month"] + len(month) + 1
        width = {"day": len(day), "month": len(month), "year": 4}
        for g in ROWS:
            share[g].append(wt[ROWS[g], start[g]:start[g] + width[g]].sum(-1).mean())
        weekday.append(wt[informative, :len(name)].sum(-1).mean())
    return {g: float(np.mean(v)) for g, v in share.items()}, float(np.mean(weekday))


def _progress(total, desc):
    """tqdm.auto's bar when tqdm is installed, else a line that rewrites itself."""
    try:
        from tqdm.auto import tqdm
        return tqdm(total=total, desc=desc)
    except ImportError:
        return _Line(total, desc)


class _Line:
    def __init__(self, total, desc):
        self.total, self.desc, self.n, self.postfix = total, desc, 0, ""

    def _show(self):
        sys.stdout.write(f"\r{self.desc}: {self.n}/{self.total} {self.postfix}")
        sys.stdout.flush()

    def update(self, k=1):
        self.n += k
        if self.n == 1 or self.n % 50 == 0:
            self._show()

    def set_postfix_str(self, s):
        self.postfix = s

    def close(self):
        self._show()
        sys.stdout.write("\n")


def train(model, pairs, *, steps=500, batch=128, lr=1e-2, seed=0, seconds=None, progress=True):
    """Train with Adam on `pairs` (from make_dates), the learning rate decaying linearly from
    `lr` to lr/20 over the steps; returns the loss of every step. Stops after `steps` steps or
    `seconds` seconds, whichever comes first (the decay then follows the clock)."""
    x, lengths = encode([h for h, _ in pairs], INPUT_CHARS, IN_LEN)
    y, _ = encode([iso for _, iso in pairs], OUTPUT_CHARS, OUT_LEN)
    opt = Adam(model.modules, lr=lr)
    rng = np.random.default_rng(seed)
    losses = []
    bar = _progress(steps, f"training ({model.attention} attention)") if progress else None
    start = time.perf_counter()
    for step in range(steps):
        done = step / steps
        if seconds is not None:
            done = max(done, (time.perf_counter() - start) / seconds)
        opt.lr = lr * (1 - 0.95 * min(done, 1.0))
        idx = rng.integers(0, len(pairs), batch)
        (logits, _), pullback = model.vjp(x[idx], lengths[idx])
        loss, dloss = vjp(cross_entropy, logits, y[idx])
        pullback(dloss(1.0)[0])
        opt.step()
        opt.zero_grad()
        losses.append(float(loss))
        if bar is not None:
            bar.update(1)
            if step % 25 == 0:
                bar.set_postfix_str(f"loss {np.mean(losses[-25:]):.3f}")
        if seconds is not None and time.perf_counter() - start > seconds:
            break
    if bar is not None:
        bar.close()
    return losses
