"""The per-alert baseline, a function directory of its own (see `src/main.py`)."""
