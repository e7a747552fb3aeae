"""Checkers for notebook 04, *Category-aware grouping*.

Each checker prints ✔ or ✘ with what was expected and returns a bool; none of
them raises, whatever the learner passes (``None`` included), so the exercise
cells run as shipped.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import torch

from . import report


def _as_float(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError, RuntimeError):  # RuntimeError: a tensor with more than one element
        return None
    return v if math.isfinite(v) else None


def check_total_mass(answer: Any, n_patches: int) -> bool:
    """Exercise 1: Σ_p Σ_i A_pi for one mixture — every patch shares out exactly 1, so the total is P."""
    v = _as_float(answer)
    if v is None:
        return report(False, "", "set total_mass to a number: add A over all patches p and all classes i "
                                 "(hint: what does the softmax over classes make Σ_i A_pi for one patch?)")
    if abs(v - n_patches) < 1e-3 * max(1, n_patches):
        return report(True, f"{v:g}: softmax over the classes makes every row Σ_i A_pi = 1, so the total is the "
                            f"number of patches P = {n_patches}. The classes compete for a fixed budget: "
                            "one class can only gain mass that another loses.", "")
    if abs(v - 1) < 1e-3:
        return report(False, "", "1 is the sum of one row (one patch, over the classes); add up all P rows.")
    return report(False, "", f"{v:g} is not it; expected P = {n_patches}: each of the P patches is shared out "
                             "among the classes and its shares add up to 1 (softmax over i).")


def expected_empty_class(grouping: torch.nn.Module, class_tokens: torch.Tensor, i: int) -> torch.Tensor:
    """g_i of the first mixture when column i of A is all zeros, computed by running the layers: (D,).

    Σ_p A_pi W_v f̂_p = 0 and Σ_p A_pi = 0, so the normalised sum is 0 / (0 + eps) = 0 and
    g_i = ĉ_i + W_o(0) = ĉ_i + b_o (W_o is affine: its bias survives).
    """
    with torch.no_grad():
        c = class_tokens[0, i]                                       # (D,)
        zero = torch.zeros_like(c)                                    # Σ_p A_pi W_v f̂_p with A_pi = 0
        return c + grouping.to_out(zero / (0.0 + grouping.eps))      # eq. 6 with an empty class


def check_empty_class(answer: Any, grouping: torch.nn.Module, class_tokens: torch.Tensor, i: int) -> bool:
    """Exercise 2: what is g_i when no patch is assigned to class i? Answer: a (D,) tensor."""
    try:
        expected = expected_empty_class(grouping, class_tokens, i).detach().float().cpu()
        c = class_tokens[0, i].detach().float().cpu()
    except Exception as exc:  # wrong arguments to the checker itself
        return report(False, "", f"could not compute the expected value ({type(exc).__name__}: {exc})")
    if answer is None:
        return report(False, "", "set g_empty to a tensor of shape (D,): g_i when A[:, i] = 0 "
                                 "(hint: what is W_o applied to a zero vector?)")
    try:
        got = torch.as_tensor(answer.detach() if isinstance(answer, torch.Tensor) else answer).float().cpu()
    except Exception:
        return report(False, "", f"g_empty is a {type(answer).__name__}, not a tensor")
    got = got.reshape(-1) if got.numel() == expected.numel() else got
    if got.shape != expected.shape:
        return report(False, "", f"shape {tuple(got.shape)}, expected {tuple(expected.shape)}: one D-vector, g_i")
    if torch.allclose(got, expected, atol=1e-5):
        return report(True, "g_i = ĉ_i + b_o: the normalised sum is 0 / (0 + eps) = 0 (eps keeps it finite), and "
                            "W_o, an nn.Linear, maps 0 to its bias. The class keeps its token, nudged by b_o.", "")
    if torch.allclose(got, c, atol=1e-5):
        return report(False, "", "close: the residual ĉ_i is right, but W_o is affine (nn.Linear with a bias), "
                                 "so W_o(0) = grouping.to_out.bias, not 0.")
    if torch.allclose(got, torch.zeros_like(got), atol=1e-6):
        return report(False, "", "not zero: eq. 6 is a residual, g_i = ĉ_i + W_o(…), and ĉ_i stays.")
    if not torch.isfinite(got).all():
        return report(False, "", "NaN/inf: that is what 0 / 0 would give — the eps in Σ_p A_pi + eps prevents it.")
    return report(False, "", f"largest difference from the expected g_i: {(got - expected).abs().max():.3g}; "
                             "follow eq. 6 with A[:, i] = 0.")


def _names(answer: Any, class_names: Sequence[str]) -> set[str] | None:
    """A learner's list of class names or indices → a set of names; None if it is not one."""
    if answer is None or isinstance(answer, (str, bytes)):
        return None
    try:
        items = answer.tolist() if isinstance(answer, torch.Tensor) else list(answer)
    except TypeError:
        return None
    out = set()
    for x in items:
        if isinstance(x, str) and x in class_names:
            out.add(x)
        elif isinstance(x, numbers.Integral) and not isinstance(x, bool) and 0 <= x < len(class_names):
            out.add(class_names[x])
        else:
            return None
    return out


def check_presence(answer: Any, presence_logits: torch.Tensor, class_names: Sequence[str],
                   truth: Sequence[str], threshold: float = 0.5) -> bool:
    """Exercise 3: the classes whose presence probability exceeds 0.5, then compared with the truth."""
    try:
        probs = torch.sigmoid(torch.as_tensor(presence_logits).detach().float().cpu().reshape(-1))
        expected = {class_names[i] for i, p in enumerate(probs.tolist()) if p > threshold}
    except Exception as exc:
        return report(False, "", f"could not compute the expected value ({type(exc).__name__}: {exc})")
    got = _names(answer, class_names)
    if got is None:
        return report(False, "", "set predicted to a list of class names (or indices), those with "
                                 f"sigmoid(presence_logit) > {threshold}")
    if got != expected:
        missing, extra = sorted(expected - got), sorted(got - expected)
        detail = "; ".join(s for s in (f"missing {', '.join(missing)}" if missing else "",
                                       f"not above {threshold}: {', '.join(extra)}" if extra else "") if s)
        return report(False, "", f"{detail}. Take torch.sigmoid(presence_logits) and keep the classes above "
                                 f"{threshold} (the head outputs logits, not probabilities).")
    truth_set = set(truth)
    hits, misses, false_alarms = expected & truth_set, truth_set - expected, expected - truth_set
    verdict = ("the model found exactly the instruments in the mix" if not misses and not false_alarms else
               "compared with the truth: " + "; ".join(s for s in (
                   f"found {', '.join(sorted(hits))}" if hits else "found none of them",
                   f"missed {', '.join(sorted(misses))}" if misses else "",
                   f"false alarm {', '.join(sorted(false_alarms))}" if false_alarms else "") if s))
    shown = ", ".join(sorted(expected)) or "none"
    return report(True, f"predicted: {shown}. {verdict[0].upper() + verdict[1:]}.", "")
