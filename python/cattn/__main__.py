"""python -m cattn: scaled dot-product attention, step by step, on a two-word example
(``python -m cattn -h`` lists the shows; they live in cattn.lessons.walkthrough)."""
import sys

from .lessons.walkthrough import run

if __name__ == "__main__":
    sys.exit(run())
