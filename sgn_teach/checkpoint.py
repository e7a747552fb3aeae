"""Checkpoints: weights + the full config (JSON) + class list + step (+ optimiser, history).

Everything inside is a tensor, a string, a number or a list/dict of those, so a
checkpoint loads with ``torch.load(weights_only=True)`` — no pickled code runs.
Writes are atomic (temp file, then rename): an interrupted save never leaves a
truncated checkpoint behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_path
from .config import Config
from .errors import CheckpointError

FORMAT = "sgn-teach-checkpoint-v1"


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, cfg: Config, classes: list[str], step: int,
                    optimizer: torch.optim.Optimizer | None = None, extra: dict[str, Any] | None = None,
                    tensors: dict[str, torch.Tensor] | None = None) -> Path:
    """Write a checkpoint atomically.

    `extra` holds JSON-able run state (history, timings); `tensors` more tensors
    stored at the top level (e.g. ``rng_cpu``, the generator state for resuming).
    """
    path = Path(path)
    state = {
        "format": FORMAT,
        "config": cfg.to_json(),
        "classes": list(classes),
        "step": int(step),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": json.dumps(extra or {}),
    }
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    state.update(tensors or {})
    with atomic_path(path, ".pt") as tmp:
        torch.save(state, tmp)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load the raw dict (weights_only=True) and check its format; CheckpointError on anything wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an sgn-teach checkpoint")
    return state


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu"):
    """Rebuild the model from a checkpoint.

    Returns:
        (model in eval mode on `device`, Config, class list, step, raw state dict)
    """
    from .models import build_model

    state = read_checkpoint(path)
    try:
        cfg = Config.from_dict(json.loads(state["config"]))
        model = build_model(cfg.model, cfg.audio, diffusion=cfg.diffusion)
        model.load_state_dict(state["model"])
    except Exception as exc:
        raise CheckpointError(f"{path}: checkpoint does not match its config ({str(exc).splitlines()[0][:160]})") from None
    model.to(device).eval()
    return model, cfg, list(state["classes"]), int(state["step"]), state
