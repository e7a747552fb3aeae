"""The evaluation a user of `separate` meets, side by side with the paper's protocol.

The paper scores SGN with the masks of the ground-truth classes ("labels given"). A user
has no ground truth: the model must name the instruments itself (``classes="auto"``:
SGN's calibrated presence head; SoP's slots named by the instrument classifier), and a
recording may hold three instruments. :func:`user_view` scores every model on the same
seeded test mixtures in four settings:

| setting | sources | classes |
|---|---:|---|
| labels given (paper protocol) | 2 | the true ones |
| named by the model | 2 | found by the model: a missed source scores as silence, a false positive is counted |
| labels given | 3 | the true ones |
| named by the model | 3 | found by the model |

:func:`format_user_view` prints them as one table, with the paired difference between
the first two models in each setting (95 % bootstrap over mixtures, as everywhere).
"""

from __future__ import annotations

from typing import Any

import torch

from ..core.config import AudioConfig
from ..data import SoloLibrary
from ..signal.metrics import MISSED_DB
from .evaluate import evaluate

SETTINGS: tuple[tuple[str, int, str], ...] = (
    ("labels given, 2 sources", 2, "gt"),
    ("named by the model, 2 sources", 2, "auto"),
    ("labels given, 3 sources", 3, "gt"),
    ("named by the model, 3 sources", 3, "auto"),
)


def can_run(model: torch.nn.Module, n_sources: int, classes: str, has_classifier: bool) -> bool:
    """Can `model` be scored in this setting? SoP needs enough slots, and a classifier to name them."""
    if not model.class_conditioned:
        return model.cfg.n_sources >= n_sources and (classes == "gt" or has_classifier)
    return classes == "gt" or model.has_presence_head


def user_view(models: dict[str, torch.nn.Module], library: SoloLibrary, audio_cfg: AudioConfig,
              classifiers: dict[str, torch.nn.Module] | None = None, n_mixtures: int = 100, seed: int = 0,
              device: torch.device | str = "cpu", settings=SETTINGS, progress: bool = True,
              sharing: str = "independent") -> dict[str, Any]:
    """{setting label: evaluation report of the models that can run it (+ the mixture row)}.

    `sharing`: how every model's masks share a bin ("independent", the paper's, or "compete";
    :mod:`sgn_teach.signal.sharing`)."""
    classifiers = classifiers or {}
    out: dict[str, Any] = {}
    for label, n, classes in settings:
        if n > len(library.by_class):
            continue
        runnable = {k: m for k, m in models.items() if can_run(m, n, classes, k in classifiers)}
        if not runnable:
            continue
        out[label] = evaluate(runnable, library, audio_cfg, n_sources=n, n_mixtures=n_mixtures, seed=seed,
                              rows=("mixture",), classes=classes, device=device, progress=progress,
                              classifiers=classifiers, sharing=sharing)
        out[label]["setup"]["setting"] = label
    return out


SAME_MIXTURES = ("root", "split", "n_sources", "n_mixtures", "seed", "classes", "soundfonts", "setting")
"""The setup fields that must agree for two reports to hold the same mixtures (see :func:`merge_user_views`)."""


def merge_user_views(results: dict[str, Any], other: dict[str, Any], rename: dict[str, str]) -> dict[str, Any]:
    """Add `other`'s models to `results` under new names, so that one table compares them pairwise.

    Both must be :func:`user_view` results of the same seeded mixtures (e.g. two runs of
    ``bench_named.py --json`` with different checkpoints): ValueError otherwise. `rename` maps a
    model name in `other` to its name in the merged results, e.g. ``{"SGN": "SGN (shipped)"}``.
    Settings that only one of them scored are kept as they are.
    """
    merged = {label: {**rep, **{k: dict(rep[k]) for k in ("rows", "per_class", "presence", "scores")}}
              for label, rep in results.items()}
    for label, rep in other.items():
        if label not in merged:
            continue
        mine, theirs = merged[label]["setup"], rep["setup"]
        differ = [k for k in SAME_MIXTURES if mine.get(k) != theirs.get(k)]
        if differ:
            raise ValueError(f"{label}: the two evaluations did not score the same mixtures "
                             f"(they differ in {', '.join(differ)})")
        for old, new in rename.items():
            if new in merged[label]["rows"]:
                raise ValueError(f"{label}: a model named {new!r} is there already")
            for key in ("rows", "per_class", "presence", "scores"):
                if old in rep[key]:
                    merged[label][key][new] = rep[key][old]
    return merged


def user_view_legend() -> str:
    """The line printed under :func:`format_user_view`'s table: how a miss, a false positive and "—" read."""
    return (f"(a source the model did not name scores as silence, {MISSED_DB:g} dB; FP/mix: classes named that were "
            "not playing; — : a model with fewer output slots than sources)")


def format_user_view(results: dict[str, Any], names: list[str]) -> str:
    """One Markdown table: a row per setting, per model its mean SDR (and, named, presence F1 and false
    positives per mixture), the mixture's SDR, and the paired difference of the first two models."""
    from .evaluate import paired_differences

    head = "| setting | " + " | ".join(names) + " | mixture | " + (
        f"{names[0]} − {names[1]} (paired, 95 % CI) |" if len(names) > 1 else "")
    lines = [head, "|---|" + "---:|" * (len(names) + 1) + ("---|" if len(names) > 1 else "")]
    for label, rep in results.items():
        cells = []
        for name in names:
            row = rep["rows"].get(name)
            if row is None:
                cells.append("—")
                continue
            cell = f"{row['sdr']:.2f}"
            p = rep["presence"].get(name)
            if rep["setup"]["classes"] == "auto" and p:
                cell += f" (F1 {p['f1']:.2f}, {p['false_positives'] / p['mixtures']:.2f} FP/mix)"
            cells.append(cell)
        cells.append(f"{rep['rows']['mixture']['sdr']:.2f}")
        diff = ""
        if len(names) > 1 and names[0] in rep["scores"] and names[1] in rep["scores"]:
            d = paired_differences(rep, n_sources=rep["setup"]["n_sources"], pairs=((names[0], names[1]),))
            mean, low, high = d[f"{names[0]}-{names[1]}"]
            diff = f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"
        lines.append(f"| {label} | " + " | ".join(cells) + (f" | {diff} |" if len(names) > 1 else " |"))
    return "\n".join(lines)


__all__ = ["SAME_MIXTURES", "SETTINGS", "can_run", "format_user_view", "merge_user_views", "user_view",
           "user_view_legend"]
