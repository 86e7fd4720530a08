"""cattn.lessons: the code the lessons run, installed with cattn but not its API (outside
``cattn.__all__`` and the API reference): dates.py (notebook 06's data, model and training
loop) and walkthrough.py (``python -m cattn``'s shows and their terminal helpers)."""
