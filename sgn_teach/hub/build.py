"""From a config to a model, and from a checkpoint file back to a trained model.

:func:`build_model` is the one constructor the rest of the package uses: it
picks the network of ``model_cfg.variant`` — `SoPModel` for "sop",
`DiffusionSeparator` for "diffusion" (give it the `DiffusionConfig`),
`TextConditionedSeparator` for "text" (notebook 08), `CourseAudioText` for
"audio_text" (the embedding of notebook 08's weak losses) and `SGN` for the others.
A new model kind gets its entry here (see ARCHITECTURE.md, "Adding a model kind").
"""

from __future__ import annotations

import json
import os

import torch
from torch import nn

from ..core.config import AudioConfig, Config, DiffusionConfig, ModelConfig
from ..core.errors import CheckpointError, ConfigError
from ..models import SGN, SoPModel, TextConditionedSeparator
from ..models.interface import is_separator
from ..models.sgn import PRESENCE_VARIANTS
from .checkpoint import describe_load_error, load_weights, read_checkpoint


def build_model(model_cfg: ModelConfig, audio_cfg: AudioConfig, diffusion: DiffusionConfig | None = None) -> nn.Module:
    """The model of `model_cfg.variant` for the grid (F, T) = (n_freq_warped, n_frames) of `audio_cfg`.

    `diffusion` (``Config.diffusion``) is needed by the "diffusion" variant only.
    """
    if model_cfg.presence != "tokens" and model_cfg.variant not in PRESENCE_VARIANTS:
        raise ConfigError(f"presence '{model_cfg.presence}' needs an SGN variant with a presence head "
                          f"({', '.join(PRESENCE_VARIANTS)}), not {model_cfg.variant!r}")
    if model_cfg.variant == "diffusion":  # the generative separator of notebook 07
        from ..models.diffusion_separator import DiffusionSeparator

        return DiffusionSeparator(model_cfg, audio_cfg, diffusion or DiffusionConfig())
    if model_cfg.variant == "sop":
        return SoPModel(model_cfg, grid=(audio_cfg.n_freq_warped, audio_cfg.n_frames))
    if model_cfg.variant == "text":
        return TextConditionedSeparator(model_cfg, grid=(audio_cfg.n_freq_warped, audio_cfg.n_frames))
    if model_cfg.variant == "audio_text":  # the course audio–text embedding: E = model_cfg.dim
        from ..data.captions import vocabulary
        from ..models.audio_text import CourseAudioText

        return CourseAudioText(vocabulary(), audio_cfg, dim=model_cfg.dim)
    if model_cfg.variant == "classifier":  # names SoP's separated slots ("SoP + classifier")
        from ..models.classifier import InstrumentClassifier

        return InstrumentClassifier(model_cfg.n_classes, audio_cfg)
    return SGN(model_cfg, grid=(audio_cfg.n_freq_warped, audio_cfg.n_frames))


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu"):
    """Rebuild the model from a checkpoint.

    Returns:
        (model in eval mode on `device`, Config, class list, step, raw state dict)

    Raises CheckpointError when the file is not a checkpoint (:func:`~sgn_teach.hub.checkpoint.read_checkpoint`),
    when the weights do not fit the config, or when a class-conditioned model
    has a different number of outputs than the checkpoint has class names.
    """
    state = read_checkpoint(path)
    try:
        cfg = Config.from_dict(json.loads(state["config"]))
        cfg.check()
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: its config is out of range ({describe_load_error(exc)})") from None
    try:
        model = build_model(cfg.model, cfg.audio, diffusion=cfg.diffusion)
        load_weights(model, state["model"])
    except Exception as exc:
        raise CheckpointError(f"{path}: checkpoint does not match its config ({describe_load_error(exc)})") from None
    classes = list(state["classes"])
    if is_separator(model) and model.class_conditioned and len(classes) != cfg.model.n_classes:
        raise CheckpointError(f"{path}: the model has {cfg.model.n_classes} class outputs but the checkpoint "
                              f"names {len(classes)} classes")
    model.to(device).eval()
    return model, cfg, classes, int(state["step"]), state


def require_separator(model: nn.Module, path: str | os.PathLike) -> None:
    """CheckpointError unless the loaded model separates (an audio–text embedding does not)."""
    if not is_separator(model):
        raise CheckpointError(f"{path}: holds a {type(model).__name__}, not a separator (an audio–text embedding "
                              "names sounds, it does not separate them); give the checkpoint of a separating model")


__all__ = ["build_model", "load_checkpoint", "require_separator"]
