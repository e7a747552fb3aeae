"""Checkers for notebook 03, *Source class tokens*.

Each checker prints ✔ or ✘ with what was expected and returns a bool; none of
them raises, whatever the learner passes (``None`` included), so the exercise
cells run as shipped.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ..core.config import get_preset
from . import report


def patch_count(n_freq: int, n_frames: int, patch_size: int) -> int:
    """P, the number of non-overlapping patch_size × patch_size patches of an n_freq × n_frames grid."""
    return (n_freq // patch_size) * (n_frames // patch_size)


def sequence_length(preset: str = "paper") -> int:
    """P + C: the length of the token sequence [patch tokens; class tokens] the transformer sees."""
    cfg = get_preset(preset)
    return patch_count(cfg.audio.n_freq_warped, cfg.audio.n_frames, cfg.model.patch_size) + cfg.model.n_classes


def _as_float(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor with more than one element
        return None
    return v if math.isfinite(v) else None


def check_patch_count(answer: Any, n_freq: int = 128, n_frames: int = 128, patch_size: int = 16) -> bool:
    """Exercise 1: how many patch tokens does a 128×128 grid give with 16×16 patches?"""
    right = patch_count(n_freq, n_frames, patch_size)
    v = _as_float(answer)
    if v is None:
        return report(False, "", f"set answer to a whole number: how many {patch_size}×{patch_size} patches tile a "
                                 f"{n_freq}×{n_frames} grid? (hint: count them along each axis)")
    ok = v == right
    return report(ok, f"{right}: ({n_freq}/{patch_size}) · ({n_frames}/{patch_size}) = "
                      f"{n_freq // patch_size} · {n_frames // patch_size} patch tokens (the `small` preset).",
                  f"{v:g} is not it; expected ({n_freq}/{patch_size}) · ({n_frames}/{patch_size}) = {right} "
                  "(patches along frequency times patches along time, not pixels).")


def check_sequence_length(answer: Any) -> bool:
    """Exercise 2: how long is the token sequence of the `paper` preset (patch tokens + class tokens)?"""
    cfg = get_preset("paper")
    P = patch_count(cfg.audio.n_freq_warped, cfg.audio.n_frames, cfg.model.patch_size)
    C = cfg.model.n_classes
    right = P + C
    v = _as_float(answer)
    if v is None:
        return report(False, "", "set answer to a whole number: how many tokens does the transformer of the "
                                 "`paper` preset see? (hint: patches of a 256×256 grid, plus one token per class)")
    ok = v == right
    if ok:
        return report(True, f"{right} = P + C = {P} patch tokens + {C} class tokens.", "")
    hint = f"{v:g} is not it; expected P + C = {P} + {C} = {right}."
    if v == P:
        hint += " You counted the patches only: the C class tokens are appended to the same sequence."
    return report(False, "", hint)


def check_ce_of_probability(ce_of_p: Callable[[float], Any]) -> bool:
    """Exercise 3: `ce_of_p(p)` → the class-constraint CE when every class token gives its own class probability p."""
    ps = [1 / 11, 0.5, 0.9, 0.99]
    try:
        got = [_as_float(ce_of_p(p)) for p in ps]
    except Exception as exc:  # a learner's bug must not stop the notebook
        return report(False, "", f"ce_of_p raised {type(exc).__name__}: {exc}")
    if any(g is None for g in got):
        return report(False, "", "ce_of_p(p) must return a number for every p in (0, 1] "
                                 "(hint: cross-entropy is −log of the probability given to the right class).")
    right = [-math.log(p) for p in ps]
    ok = all(abs(g - r) < 1e-4 for g, r in zip(got, right))
    table = ", ".join(f"p={p:.3g} → {r:.4f}" for p, r in zip(ps, right))
    if ok:
        return report(True, f"CE = −log p: every token contributes −log p and the mean of equal terms is −log p ({table}). "
                            f"p = 1/11 is a token that guesses uniformly: CE = log 11, the loss of an untrained model.", "")
    return report(False, "", f"not quite; expected −log p ({table}), got "
                             + ", ".join(f"{g:.4f}" for g in got) + ".")


def ce_of_probability_reference(p: float) -> float:
    """The answer to exercise 3, computed with the package's loss on logits that give probability p to the target."""
    from ..losses.mask import class_constraint_ce

    C = get_preset("paper").model.n_classes
    off = (1 - p) / (C - 1)  # the rest of the probability spread over the C − 1 wrong classes
    probs = torch.full((1, C, C), off, dtype=torch.float64)
    probs[0].fill_diagonal_(p)
    return float(class_constraint_ce(probs.clamp_min(1e-300).log()))
