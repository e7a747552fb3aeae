"""What a model kind tells the one training loop (:mod:`sgn_teach.training.loop`).

The loop owns everything that is the same for every model: the checks before any
work, the run folder and its lock, resuming, graceful interrupts, NaN losses,
several processes, progress, history and checkpoints. A :class:`Recipe` owns what
differs between model kinds:

    prepare(cfg, data, …)  → Prepared: the resolved config (a copy), the libraries, the clips to check
    build(prep)            → a fresh model (frozen parts loaded, buffers filled)
    dataset(prep)          → a Dataset whose items s·B … s·B+B−1 are step s's (a function of (seed, step))
    step(…)                → the loss of one batch and its parts (scalars kept on the device)
    validate(…)            → scores on fixed validation data (rank 0, every `val_every` steps)
    finish(…)              → what model.pt keeps beside the weights (e.g. calibrated thresholds)

Adding a model kind means writing one recipe and naming it in :func:`recipe_for`.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from ...core.config import Config
from ...core.errors import DataError
from ...data import SoloLibrary


@dataclass
class Prepared:
    """A run's resolved inputs, made before anything is written.

    Attributes:
        cfg: the config the model is built from — a copy of the caller's, with what the data
            decides filled in (the number of classes, SoP's output slots, …); saved in checkpoints.
        classes: the class list (class i = classes[i]).
        train_lib / val_lib: the training clips and the validation clips (None: no validation).
        clips: every clip file to decode once before the first step.
        extra: recipe-specific objects (a frozen audio–text model, a front-end, …).
    """

    cfg: Config
    classes: list[str]
    train_lib: SoloLibrary
    val_lib: SoloLibrary | None
    clips: list[Path] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def data_info(self, data_root: str | os.PathLike) -> dict[str, Any]:
        """What history.json records of the data."""
        return {"root": str(data_root), "soundfonts": self.train_lib.soundfonts, "train_clips": len(self.train_lib)}


@dataclass
class StepOutput:
    """One step's loss (scalar, with gradients), its parts (0-dim tensors, detached, keyed by the
    recipe's `part_names`) and the RMS of each training mixture (B,), or None."""

    loss: torch.Tensor
    parts: dict[str, torch.Tensor]
    mix_rms: torch.Tensor | None = None


def copy_config(cfg: Config) -> Config:
    """A deep copy: the loop never changes the config it was given."""
    return copy.deepcopy(cfg)


def libraries(cfg: Config, data_root: str | os.PathLike, soundfonts: list[str] | None, validate: bool,
              min_classes: int) -> tuple[SoloLibrary, SoloLibrary | None]:
    """The train split (DataError unless it has clips of `min_classes` classes) and the val split
    (None without validation, or when the library is too small to have one)."""
    lib = SoloLibrary(data_root, split="train", soundfonts=soundfonts)
    if len(lib.by_class) < min_classes:
        raise DataError(f"{data_root}: the train split has clips of {len(lib.by_class)} classes; "
                        f"this training needs at least {min_classes}")
    val = None
    if validate:
        try:
            val = SoloLibrary(data_root, split="val", classes=lib.classes, soundfonts=soundfonts)
        except DataError:
            val = None  # too small to have a validation split: history says validation is off
    return lib, val


class Recipe:
    """How one model kind trains (see the module docstring). Subclasses override what differs."""

    kind = "base"
    part_names: tuple[str, ...] = ("total",)
    progress_parts: tuple[str, ...] = ()  # the parts the progress bar shows (default: all)

    def check(self, cfg: Config) -> None:
        """ConfigError for settings of this kind out of range (the loop checks the common ones)."""

    def prepare(self, cfg: Config, data_root: str | os.PathLike, soundfonts: list[str] | None, validate: bool,
                device: torch.device) -> Prepared:
        raise NotImplementedError

    def build(self, prep: Prepared, device: torch.device, resuming: bool) -> torch.nn.Module:
        """A fresh model on `device`, seeded by the loop; `resuming`: its weights will be loaded next."""
        raise NotImplementedError

    def dataset(self, prep: Prepared) -> Dataset:
        raise NotImplementedError

    def step(self, model: torch.nn.Module, step_model: torch.nn.Module, batch: dict, prep: Prepared,
             device: torch.device, step: int, amp: bool = False) -> StepOutput:
        """The loss of step `step` (0-based). `step_model` is `model` as the loop runs it (wrapped for
        several processes or compiled): call it for every forward pass that trains. `amp`: run the
        network under bf16 autocast (the loop decides from ``train.precision`` and the device)."""
        raise NotImplementedError

    def after_step(self, model: torch.nn.Module) -> None:
        """Called after every optimiser step (e.g. to clamp a parameter)."""

    def validate(self, model: torch.nn.Module, prep: Prepared, device: torch.device) -> dict[str, float]:
        """Scores on fixed validation data; the first key is the one the progress bar reports."""
        return {}

    def finish(self, model: torch.nn.Module, prep: Prepared, device: torch.device,
               history: dict[str, Any]) -> dict[str, Any]:
        """What model.pt keeps beside the weights (may also add to `history`)."""
        return {}


@torch.no_grad()
def separation_scores(model: torch.nn.Module, library: SoloLibrary, cfg: Config, device: torch.device,
                      n_sources: int | None = None) -> dict[str, float]:
    """Scores of a separator on `cfg.train.val_mixtures` fixed validation mixtures (seed 12345).

    Returns {"sdr", "si_sdr"} (mean dB) and, for models that have them, the presence head's
    and the class tokens' precision / recall / F1 (`presence_precision`, …, `token_f1`) —
    the curves of the paper's Figure 4.
    """
    from ...evaluation.evaluate import evaluate

    report = evaluate({"model": model}, library, cfg.audio, n_sources=n_sources or cfg.train.n_sources,
                      n_mixtures=cfg.train.val_mixtures, seed=12345, rows=(), device=device, progress=False)
    row = report["rows"]["model"]
    out = {"sdr": row["sdr"], "si_sdr": row["si_sdr"]}
    for head in ("presence", "token"):
        stats = report.get(head, {}).get("model")
        if stats:
            out.update({f"{head}_{k}": round(v, 4) for k, v in stats.items()})
    return out


__all__ = ["Prepared", "Recipe", "StepOutput", "copy_config", "libraries", "separation_scores"]
