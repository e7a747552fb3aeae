"""What ships inside the package: the small checkpoints and the ablation grid's results (package data).

``pip install`` brings them along (pyproject's package-data), so the course runs
without training first: :func:`shipped_checkpoint` finds a checkpoint by name,
:func:`shipped_diffusion_checkpoint` notebook 07's (or None where it was
removed), :func:`shipped_results` the results of ``python -m sgn_teach ablate``
that notebook 06 shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.errors import CheckpointError

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "checkpoints"
"""The small checkpoints that ship inside the package (package data, so `pip install` brings them)."""

SHIPPED_NAMES = ("sgn_small", "sop_small", "classifier_small", "diffusion_small", "text_weak_small")


def shipped_checkpoint(name: str = "sgn_small") -> Path:
    """Path of a checkpoint shipped with the package: ``shipped_checkpoint("sgn_small")``.

    `name` is one of :data:`SHIPPED_NAMES` (``.pt`` may be given or not).
    CheckpointError when the name is unknown or the file is missing (a broken install).
    """
    stem = name[:-3] if name.endswith(".pt") else name
    if stem not in SHIPPED_NAMES:
        raise CheckpointError(f"no shipped checkpoint {name!r}; the package ships {', '.join(SHIPPED_NAMES)}")
    path = SHIPPED_DIR / f"{stem}.pt"
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: the sgn-teach installation is incomplete "
                              "(reinstall it: pip install --force-reinstall sgn-teach)")
    return path


def shipped_diffusion_checkpoint() -> Path | None:
    """sgn_teach/checkpoints/diffusion_small.pt, or None where it was removed (notebook 07 then trains a stand-in)."""
    try:
        return shipped_checkpoint("diffusion_small")
    except CheckpointError:
        return None


RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
"""Grid results shipped with the package: ``ablations_<preset>.json`` (the format of OUT/ablations.json)."""


def shipped_results(preset: str = "small") -> dict[str, Any] | None:
    """The results of the grid shipped with the package (RESULTS_DIR/ablations_<preset>.json), or None if absent."""
    path = RESULTS_DIR / f"ablations_{preset}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


__all__ = ["SHIPPED_DIR", "SHIPPED_NAMES", "RESULTS_DIR", "shipped_checkpoint", "shipped_diffusion_checkpoint",
           "shipped_results"]
