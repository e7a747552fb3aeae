"""Checkers for the notebooks' exercises: each tells a learner what was expected.

One module per notebook (``nb01`` …). A checker prints ✔ with a short
explanation when the answer is right, or ✘ with a hint, and returns a bool, so a
notebook cell runs as shipped even before the learner has answered.
"""

from __future__ import annotations


def report(ok: bool, right: str, hint: str) -> bool:
    """Print the verdict of one check and return it."""
    print(("✔ " + right) if ok else ("✘ " + hint))
    return ok
