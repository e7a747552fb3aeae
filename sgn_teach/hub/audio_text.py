"""Saving, loading and choosing the audio–text model of notebook 08's weak losses.

The course's own embedding (the network: :class:`sgn_teach.models.audio_text.CourseAudioText`)
is stored in the package's checkpoint format with ``kind = "course_audio_text"``; the
trained one ships as ``sgn_teach/checkpoints/audio_text_small.pt`` (:func:`shipped_path`).
:func:`load_embedding` turns a ``cfg.weak.embedding`` setting ("course", a path, or
"clap[:NAME]" through :mod:`sgn_teach.hub.clap`) into a frozen model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from ..core.config import SAMPLE_RATE, Config
from ..core.errors import CheckpointError
from ..data.classes import MUSIC11_NAMES
from ..models.audio_text import CourseAudioText
from .checkpoint import read_checkpoint, save_checkpoint
from .shipped import SHIPPED_DIR

KIND = "course_audio_text"
SHIPPED_NAME = "audio_text_small.pt"


def shipped_path() -> Path:
    """Where the package keeps the shipped embedding: sgn_teach/checkpoints/audio_text_small.pt."""
    return SHIPPED_DIR / SHIPPED_NAME


def save_audio_text(path: str | os.PathLike, model: CourseAudioText, step: int, extra: dict | None = None,
                    optimizer: torch.optim.Optimizer | None = None) -> Path:
    """Write a course embedding in the package's checkpoint format (weights + config JSON + classes + step)."""
    cfg = Config(preset="custom", audio=model.audio_cfg)
    info = {"kind": KIND, "vocab": model.vocab, "hparams": model.hparams, **(extra or {})}
    return save_checkpoint(path, model, cfg, list(MUSIC11_NAMES), step, optimizer=optimizer, extra=info)


def load_audio_text(path: str | os.PathLike | None = None, device: torch.device | str = "cpu") -> CourseAudioText:
    """Load a course embedding (default: the shipped one), frozen and in eval mode.

    CheckpointError (one line) for a missing file or a checkpoint of another kind.
    """
    path = Path(path) if path is not None else shipped_path()
    state = read_checkpoint(path)
    try:
        extra = json.loads(state["extra"])
    except (TypeError, ValueError):
        extra = {}
    if extra.get("kind") != KIND:
        raise CheckpointError(f"{path}: not a course audio–text embedding (train one with "
                              "`python -m sgn_teach train --model audio_text --data DIR --out RUN`: RUN/model.pt)")
    try:
        cfg = Config.from_dict(json.loads(state["config"]))
        model = CourseAudioText(extra["vocab"], cfg.audio, **extra["hparams"])
        model.load_state_dict(state["model"])
        model.card = extra.get("history", {})  # how it was trained: data, steps, same-class prompt accuracies
    except Exception as exc:
        raise CheckpointError(f"{path}: embedding does not match its config ({str(exc).splitlines()[0][:160]})") from None
    return freeze(model.to(device))


def freeze(model: nn.Module) -> nn.Module:
    """Eval mode and no parameter gradients: how the weak losses use an audio–text model (gradients
    still flow *through* it, to the separated audio)."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_embedding(spec: str = "course", device: torch.device | str = "cpu", source_rate: int = SAMPLE_RATE):
    """The audio–text model a weak-supervision run names in ``cfg.weak.embedding``.

    "course" — the shipped course embedding; a file path — another course embedding;
    "clap" or "clap:<hub name or folder>" — CLAP through `transformers` (default
    laion/clap-htsat-unfused; downloaded on first use). Errors are one-line SGNErrors.
    """
    if spec == "course":
        return load_audio_text(None, device)
    if spec == "clap" or spec.startswith("clap:"):
        from .clap import DEFAULT_CLAP, ClapEmbedding

        return freeze(ClapEmbedding.from_pretrained(spec.partition(":")[2] or DEFAULT_CLAP, source_rate, device))
    return load_audio_text(spec, device)


__all__ = ["KIND", "SHIPPED_NAME", "shipped_path", "save_audio_text", "load_audio_text", "load_embedding", "freeze"]
