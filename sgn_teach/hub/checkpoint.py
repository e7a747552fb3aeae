"""Checkpoints: weights + the full config (JSON) + class list + step (+ optimiser, history).

This module writes and reads the file format; turning a checkpoint back into a
model is :func:`sgn_teach.hub.build.load_checkpoint`, and the checkpoints that
ship with the package are found by :mod:`sgn_teach.hub.shipped`.

Everything inside is a tensor, a string, a number or a list/dict of those, so a
checkpoint loads with ``torch.load(weights_only=True)`` — no pickled code runs.
Writes are atomic (temp file, then rename): an interrupted save never leaves a
truncated checkpoint behind.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from ..core.atomic import atomic_path
from ..core.config import Config
from ..core.errors import CheckpointError

FORMAT = "sgn-teach-checkpoint-v1"


def content_digest(state: dict[str, Any]) -> str:
    """SHA-256 of what a checkpoint *is*: its weights (names, dtypes, shapes, bytes), config and class list.

    Stored as ``state["sha256"]`` when saved and checked when read, so a flipped byte or an edited config
    is an error, not a model that quietly separates differently.
    """
    h = hashlib.sha256()
    h.update(state["config"].encode("utf-8"))
    h.update(json.dumps(list(state["classes"])).encode("utf-8"))
    for name in sorted(state["model"]):
        t = state["model"][name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode("utf-8"))
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())  # the raw bytes, whatever the dtype
    return h.hexdigest()


def write_state(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Seal `state` with its :func:`content_digest` and write it atomically (a full disk: one OutputError line)."""
    state = {**state, "sha256": content_digest(state)}
    with atomic_path(Path(path), ".pt") as tmp:
        torch.save(state, tmp)
    return Path(path)


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
    return write_state(path, state)


def describe_load_error(exc: BaseException, limit: int = 160) -> str:
    """One line saying why loading a checkpoint failed: the informative line of `exc`, cut at a word, never empty.

    PyTorch's weights-only errors open with a paragraph about the history of
    the `weights_only` default; the line that matters names the refused object.
    """
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if any("Unsupported operand" in ln or "invalid load key" in ln for ln in lines):
        return "not a PyTorch checkpoint (a plain pickle, or not a pickle at all)"
    if lines and lines[0].startswith("Weights only load failed"):
        detail = [ln for ln in lines[1:] if not ln.startswith(("Please file", "Check the documentation", "Re-running",
                                                                 "WeightsUnpickler error:"))]
        detail = [ln.replace("WeightsUnpickler error: ", "") for ln in detail]
        text = "it holds Python objects other than tensors and numbers, which are never unpickled here"
        if detail:
            text += f" ({detail[0]})"
        return _cut(text, limit + 60)
    text = lines[0] if lines else type(exc).__name__
    if "failed finding central directory" in text or "not a zip" in text.lower():
        text = "not a complete PyTorch zip archive (truncated or not a checkpoint)"
    return _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load the raw dict (weights_only=True) and check its format; CheckpointError on anything wrong.

    Checked: the file exists, is a non-empty regular file, unpickles with
    ``weights_only=True`` (no PyTorch warning is printed on the way), and holds
    `format`, `config` (JSON), `classes` (a list of distinct names), `step` (≥ 0)
    and `model` (a dict of tensors).
    """
    import warnings

    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint" if not path.exists() else
                              f"{path}: not a regular file, not a checkpoint")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise CheckpointError(f"{path}: the file is empty (0 bytes), not a checkpoint")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the error below says it all
            state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or describe_load_error(exc)})") from None
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint: {describe_load_error(exc)}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an sgn-teach checkpoint (no '{FORMAT}' format tag)")
    missing = [k for k in ("config", "classes", "step", "model") if k not in state]
    if missing:
        raise CheckpointError(f"{path}: incomplete checkpoint, missing {', '.join(missing)}")
    classes = state["classes"]
    if not isinstance(classes, (list, tuple)) or not classes or not all(isinstance(c, str) and c for c in classes):
        raise CheckpointError(f"{path}: its class list is not a non-empty list of names")
    if len(set(classes)) != len(classes):
        raise CheckpointError(f"{path}: its class list names a class twice")
    if not isinstance(state["step"], int) or isinstance(state["step"], bool) or state["step"] < 0:
        raise CheckpointError(f"{path}: its step is not a count ({state['step']!r})")
    if not isinstance(state["model"], dict) or not all(isinstance(v, torch.Tensor) for v in state["model"].values()):
        raise CheckpointError(f"{path}: its weights are not a dict of tensors")
    try:
        json.loads(state["config"])
    except (TypeError, ValueError):
        raise CheckpointError(f"{path}: its config is not JSON") from None
    if "sha256" in state and state["sha256"] != content_digest(state):  # checkpoints before the seal have none
        raise CheckpointError(f"{path}: its weights or config changed since it was saved (SHA-256 mismatch): "
                              "the file is damaged or was edited; use an intact copy")
    return state


def training_history(state: dict[str, Any], path: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """The training history a checkpoint carries: {"train": [...], "val": [...], ...}, or None.

    New checkpoints keep it inside (``json.loads(state["extra"])["history"]``); older ones
    have none, and for those a ``<stem>.history.json`` beside `path` is read instead.
    """
    try:
        history = json.loads(state.get("extra") or "{}").get("history")
    except (TypeError, ValueError, AttributeError):
        history = None
    if history is None and path is not None:
        side = Path(path).with_suffix(".history.json")
        if side.is_file():
            try:
                history = json.loads(side.read_text(encoding="utf-8"))
            except ValueError:
                history = None
    return history if isinstance(history, dict) and isinstance(history.get("train"), list) else None


LATER_BUFFERS = ("presence_thresholds",)
"""Buffers added after checkpoints were first shipped: a checkpoint without them keeps the module's default."""


def load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """``model.load_state_dict(weights)``, strict except for :data:`LATER_BUFFERS` missing from an older file
    (they keep their defaults). RuntimeError for any other missing or unexpected key, as a strict load."""
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if k.rsplit(".", 1)[-1] not in LATER_BUFFERS]
    if missing or unexpected:
        raise RuntimeError(f"the weights do not fit: missing keys {missing[:3]}, unexpected keys {unexpected[:3]}")
