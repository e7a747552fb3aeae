"""Checkers for notebook 06, *Ablations and a playground*.

Each prints ✔ or ✘ with what was expected (via :func:`sgn_teach.exercises.report`),
returns a bool, and never raises — a placeholder answer just gets a ✘ and a hint
that does not give the answer away.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from . import report


def _as_number(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError, RuntimeError):
        return None
    return v if math.isfinite(v) else None


def check_grid_size(answer: Any, preset: str = "small", seeds: Sequence[int] = (0, 1, 2)) -> bool:
    """Exercise 1: how many training runs does ``ablate --preset PRESET --seeds …`` make? (len(grid(...)))."""
    from ..core.config import get_preset
    from ..experiments.ablate import DEPTHS, grid

    runs = grid(preset, tuple(seeds))
    expected = len(runs)
    per_seed = expected // max(len(seeds), 1)
    extra_depths = [d for d in DEPTHS[preset] if d != get_preset(preset).model.depth]
    v = _as_number(answer)
    if v is None:
        return report(False, "", "set answer_1 to a number. Count the runs of one seed — Table III's variants "
                                 "(SGN included), Table IV's extra configurations, the 2/3-mix run — then multiply "
                                 "by the number of seeds. `grid` in sgn_teach/experiments/ablate.py lists them.")
    if v == expected:
        return report(True, f"{expected} runs: per seed {per_seed} = 5 for Table III (baseline, sct, cag, sgn, sop) + "
                            f"{len(extra_depths)} other depths {tuple(extra_depths)} + 1 hard assignment + 1 trained "
                            f"on a 2/3 mix; × {len(seeds)} seeds. Table IV and the three-source table reuse Table III's "
                            "SGN runs, so they cost no run of their own.", "")
    if v == per_seed:
        return report(False, "", f"that is the count for one seed; the command trains every configuration once per "
                                  f"seed ({len(seeds)} seeds).")
    if len(seeds) and v % len(seeds) == 0:
        return report(False, "", f"{v:g} is a multiple of the seed count, but not the right one: recount one seed. Does "
                                 "Table IV train a separate run at the preset's default depth, or reuse SGN's?")
    return report(False, "", f"{v:g} is not it: count one seed's runs in `grid` and multiply by {len(seeds)}.")


_CHANCE = {"chance", "low", "random", "near chance", "at chance", "falls", "down", "drops", "stays low",
           "chance level"}
_HIGH = {"high", "same", "unchanged", "up", "rises", "like sgn", "1", "perfect", "as high"}


def check_ce_off(prediction: Any, history: dict[str, Any] | None = None) -> bool:
    """Exercise 2: with w_ce = 0, does the class tokens' F1 still rise? Expected: no, it stays near chance.

    `history` is the exercise run's history (train()'s return value); its last
    validation row's ``token_f1`` is shown once a prediction is given.
    """
    p = str(prediction).strip().lower() if prediction is not None else ""
    if p not in _CHANCE | _HIGH:
        return report(False, "", "write your prediction first, as one of the two words the exercise offers, before "
                                 "you look at the run; then run this cell again.")
    measured = None
    try:
        rows = [r for r in (history or {}).get("val", []) if "token_f1" in r]
        measured = float(rows[-1]["token_f1"]) if rows else None
    except (TypeError, ValueError, KeyError, AttributeError):
        measured = None
    seen = "" if measured is None else f" Your run ended with token F1 {measured:.2f}."
    why = ("With w_ce = 0 nothing trains the FC layer that classifies each class token (eq. 7's first term is the only "
           "loss that reaches it), so 'token i → class i' is read off a layer still at its random initial weights: "
           "F1 stays near chance however well the masks train. The token's *meaning* comes from this loss; the "
           "reconstruction loss alone never names the tokens.")
    if p in _CHANCE:
        ok_text = "right: it stays near chance." + seen + " " + why
        if measured is not None and measured > 0.6:
            ok_text += (" (Your run's F1 is higher than chance — check that the run really had w_ce=0.0.)")
        return report(True, ok_text, "")
    return report(False, "", "not what happens." + seen + " Look at which parameters the class-constraint loss is "
                             "the only one to train (sgn_teach/losses/mask.py, `class_constraint_ce`, and the model's "
                             "token_logits).")


_VERDICTS = {"better", "worse", "no measurable difference"}


def expected_paired_interval(a: Sequence[float], b: Sequence[float], n_sources: int = 2) -> tuple[float, float, float]:
    """The paired 95 % interval of a − b with a mixture's sources resampled together (what the exercise asks)."""
    from ..signal.stats import paired_bootstrap_ci

    a = np.asarray([np.nan if v is None else v for v in a], dtype=np.float64)
    b = np.asarray([np.nan if v is None else v for v in b], dtype=np.float64)
    return paired_bootstrap_ci(a, b, groups=np.arange(len(a)) // n_sources)


def check_paired_interval(interval: Any, verdict: Any, a: Sequence[float], b: Sequence[float],
                          n_sources: int = 2) -> bool:
    """Exercise 3: the paired bootstrap interval of a − b over mixtures, and the verdict it supports.

    interval: (mean, low, high) as returned by stats.paired_bootstrap_ci;
    verdict: "better", "worse" or "no measurable difference" (for a against b).
    """
    try:
        mean, low, high = expected_paired_interval(a, b, n_sources)
        a_arr = np.asarray([np.nan if v is None else v for v in a], dtype=np.float64)
        b_arr = np.asarray([np.nan if v is None else v for v in b], dtype=np.float64)
    except Exception as exc:  # the checker's own inputs are wrong
        return report(False, "", f"could not compute the interval from the scores given ({type(exc).__name__}: {exc})")
    try:
        got = [float(x) for x in interval]
        if len(got) != 3 or not all(math.isfinite(x) for x in got):
            raise ValueError
    except (TypeError, ValueError):
        return report(False, "", "set diff_3 to the (mean, low, high) triple that stats.paired_bootstrap_ci(a, b, "
                                 "groups=…) returns; groups gives each source the index of its mixture.")
    from ..signal.stats import paired_bootstrap_ci

    if not np.allclose(got, [mean, low, high], atol=1e-6):
        unpaired = paired_bootstrap_ci(a_arr, b_arr)  # sources resampled one by one
        if np.allclose(got, unpaired, atol=1e-6):
            return report(False, "", "that interval resamples sources one by one. The two sources of a mixture share "
                                     "its difficulty; pass groups (the mixture index of each source: 0, 0, 1, 1, …) "
                                     "so that whole mixtures are resampled.")
        if abs(got[0] - mean) > 1e-6 and abs(got[0] + mean) < 1e-6 + 1e-9 * abs(mean):
            return report(False, "", "the sign is flipped: the exercise asks for a − b (the first configuration minus "
                                     "the second).")
        return report(False, "", "that is not the paired bootstrap interval of a − b over mixtures with the default "
                                 "settings (n_boot 2000, seed 0, 95 %): call stats.paired_bootstrap_ci(a, b, groups=…).")
    v = str(verdict).strip().lower() if verdict is not None else ""
    right = "no measurable difference" if low <= 0 <= high else ("better" if low > 0 else "worse")
    if v not in _VERDICTS:
        return report(False, "", "the interval is right. Now the verdict: \"better\", \"worse\" or \"no measurable "
                                 "difference\" — which does your interval support?")
    if v == right:
        return report(True, f"{mean:+.2f} dB [{low:+.2f}, {high:+.2f}]: " + (
            "the interval contains 0, so at this budget the two are not told apart — that is not evidence that they "
            "are equal, only that these mixtures and seeds cannot show a difference." if right.startswith("no") else
            f"the whole interval is on one side of 0, so the first configuration is measurably {right} on these "
            "mixtures (with these seeds and this budget — another budget may order them differently)."), "")
    if right.startswith("no"):
        return report(False, "", "look at the interval again: does it contain 0? A mean that is not 0 is not "
                                 "enough — the interval decides.")
    return report(False, "", "look at the interval again: where does it lie with respect to 0?")


__all__ = ["check_ce_off", "check_grid_size", "check_paired_interval", "expected_paired_interval"]
