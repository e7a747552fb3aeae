"""Checkers for notebook 05, *Training SGN*.

Each prints ✔ or ✘ with what was expected (via :func:`sgn_teach.exercises.report`),
returns a bool, and never raises — a placeholder answer just gets a ✘.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import report

# the loss part each name may stand for; the `cag` variant has no class-constraint CE
_CE_NAMES = {"ce", "l_ce", "class_constraint", "class-constraint", "class constraint", "class_constraint_ce",
             "class-constraint ce", "class constraint ce", "cross-entropy", "cross entropy", "crossentropy"}
_OTHER_PARTS = {"rec", "reconstruction", "l_rec", "presence", "presence_bce", "l_presence", "total"}


def check_mixtures_per_epoch(answer: Any, steps: int = 100, batch_size: int = 16) -> bool:
    """Exercise 1: how many mixtures do `steps` steps at batch `batch_size` train on? (steps · batch_size)."""
    expected = steps * batch_size
    try:
        ok = answer is not None and not isinstance(answer, bool) and float(answer) == expected
        attempted = answer is not None and not isinstance(answer, bool) and float(answer) != 0
    except (TypeError, ValueError):
        ok = attempted = False
    if not attempted:   # the cell as shipped (None) or no number: a hint, not the answer
        return report(False, "", f"set answer_1 to a number: how many mixtures does one step train on, and how "
                                 f"many steps are there? (got {answer!r})")
    return report(ok,
                  f"{steps} steps × {batch_size} mixtures per batch = {expected} mixtures. Mix-and-separate has no "
                  "fixed epoch: step s uses mixtures s·B … s·B+B−1, each drawn from (seed, index), so no mixture "
                  "comes twice — only the solo clips are reused, in ever new pairs and crops.",
                  f"expected {expected}, got {answer!r}: every step draws one batch of {batch_size} new mixtures.")


def check_cag_dropped_part(answer: Any) -> bool:
    """Exercise 2: which loss part does the `cag` variant do without? ("ce", the class-constraint loss)."""
    a = str(answer).strip().lower() if answer is not None else ""
    ok = a in _CE_NAMES
    right = ("`ce`: the class-constraint cross-entropy trains *class tokens* to mean their class. `cag` has no "
             "class tokens in the transformer — its grouping queries are plain learned vectors, with nothing to "
             "classify — so sgn_loss reports ce = 0 for it; rec and presence stay.")
    if a in ("", "?", "none"):   # the cell as shipped: a hint, not the answer
        hint = ("replace '?' by the name of a loss part from sgn_loss — 'rec', 'ce' or 'presence': build a cag "
                "model, compute sgn_loss and look for the part that is exactly 0.")
    elif a in _OTHER_PARTS:
        hint = (f"{answer!r} is still trained for `cag` (compute sgn_loss on a cag model and look for the part "
                "that is exactly 0). Expected 'ce'.")
    else:
        hint = (f"got {answer!r}: answer with a part name from sgn_loss — 'rec', 'ce' or 'presence'. "
                "Expected the one that is 0 for a cag model: 'ce'.")
    return report(ok, right, hint)


def _read_history(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    try:
        with open(Path(run_dir) / "history.json", encoding="utf-8") as fh:
            h = json.load(fh)
        return h if isinstance(h, dict) and isinstance(h.get("train"), list) else None
    except (OSError, ValueError, TypeError):
        return None


def check_resume(run_dir: str | os.PathLike, steps_before: int, more: int = 5) -> bool:
    """Exercise 3: was the run in `run_dir` resumed for exactly `more` steps after `steps_before`?

    Reads run_dir/history.json: it must hold steps_before + more training rows,
    numbered 1, 2, … without a gap or a restart (a restart from step 0 would
    number them again from 1).
    """
    h = _read_history(run_dir)
    if h is None:
        return report(False, "", f"no readable history.json in {run_dir}: train() writes it there.")
    try:
        steps = [int(r["step"]) for r in h["train"]]
        want = int(steps_before) + int(more)
    except (KeyError, TypeError, ValueError):
        return report(False, "", f"{run_dir}/history.json is not a training history.")
    contiguous = steps == list(range(1, len(steps) + 1))
    ok = len(steps) == want and contiguous
    if ok:
        return report(True, f"the history now has {want} steps, numbered 1…{want} without a gap: the run went on "
                            f"from step {steps_before} with its optimiser state, not from scratch.", "")
    if not contiguous:
        hint = ("the steps in history.json are not 1, 2, 3, …: call train again on the same folder with "
                "resume=True, so it continues instead of starting over.")
    elif len(steps) == int(steps_before):   # the cell as shipped: nothing trained yet — a hint, not the code
        hint = (f"the history still has {steps_before} steps: nothing was trained yet. Call train(cfg, …) on the same "
                "folder with resume=True — and decide what cfg.train.steps has to be for exactly "
                f"{int(more)} more steps.")
    else:
        hint = (f"expected {want} steps ({steps_before} + {more}), found {len(steps)}: cfg.train.steps is the total "
                f"to reach, not the number of extra steps. (Re-run the exercise cell: it re-reads the start.)")
    return report(False, "", hint)


__all__ = ["check_mixtures_per_epoch", "check_cag_dropped_part", "check_resume"]
