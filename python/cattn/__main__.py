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
import sys

from .lessons.walkthrough import run

if __name__ == "__main__":
    sys.exit(run())
