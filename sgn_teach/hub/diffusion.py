"""The files around notebook 07's diffusion model: the frozen SGN that guides it, and its sampling steps.

The network itself, :class:`sgn_teach.models.diffusion_separator.DiffusionSeparator`,
reads no file. With condition "sgn" it holds a frozen SGN whose config
:func:`prepare_condition` reads from that SGN's checkpoint (before the model is
built) and whose weights :func:`load_condition_weights` copies in (before training
starts). :func:`set_sampling_steps` rewrites a diffusion checkpoint's default
number of DDIM steps.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from ..core.config import Config
from ..core.errors import CheckpointError
from ..models.diffusion_separator import DiffusionSeparator
from ..models.sgn import SGN_VARIANTS
from .checkpoint import load_weights, read_checkpoint, write_state
from .shipped import shipped_checkpoint


def default_sgn_checkpoint() -> Path:
    """The shipped small SGN whose g_i guide the shipped diffusion model."""
    return shipped_checkpoint("sgn_small")


def prepare_condition(cfg: Config, classes: list[str]) -> None:
    """Fill in ``cfg.diffusion.sgn_model`` from the SGN checkpoint (condition "sgn"); check it fits.

    The SGN must have the same front-end (grid) as the diffusion model, class features
    (any SGN variant, not `sop`) and the library's classes. CheckpointError otherwise.
    """
    d = cfg.diffusion
    if d is None or d.condition != "sgn":
        return
    path = Path(d.condition_checkpoint) if d.condition_checkpoint else default_sgn_checkpoint()
    state = read_checkpoint(path)
    sgn_cfg = Config.from_dict(json.loads(state["config"]))
    if sgn_cfg.model.variant not in SGN_VARIANTS:
        raise CheckpointError(f"{path}: a {sgn_cfg.model.variant!r} model has no class features g_i; "
                              "condition 'sgn' needs an SGN checkpoint")
    if (sgn_cfg.audio.n_freq_warped, sgn_cfg.audio.n_frames) != (cfg.audio.n_freq_warped, cfg.audio.n_frames) \
            or sgn_cfg.audio.n_fft != cfg.audio.n_fft or sgn_cfg.audio.sample_rate != cfg.audio.sample_rate:
        raise CheckpointError(f"{path}: its front-end (preset {sgn_cfg.preset!r}, grid {sgn_cfg.audio.n_freq_warped}×"
                              f"{sgn_cfg.audio.n_frames}) does not match the diffusion model's (preset {cfg.preset!r}, "
                              f"{cfg.audio.n_freq_warped}×{cfg.audio.n_frames}); use an SGN of the same preset")
    if list(state["classes"]) != list(classes):
        raise CheckpointError(f"{path}: its classes ({', '.join(state['classes'])}) do not match the data's "
                              f"({', '.join(classes)})")
    d.condition_checkpoint = str(path)
    d.sgn_model = dataclasses.asdict(sgn_cfg.model)  # as rebuilt (older checkpoints get their defaults right)


def load_condition_weights(model: DiffusionSeparator, path: str | os.PathLike | None = None) -> None:
    """Copy the trained SGN's weights into ``model.sgn`` (from ``dcfg.condition_checkpoint`` by default)."""
    if model.sgn is None:
        return
    path = Path(path or model.dcfg.condition_checkpoint or default_sgn_checkpoint())
    state = read_checkpoint(path)
    try:
        load_weights(model.sgn, state["model"])
    except Exception as exc:
        raise CheckpointError(f"{path}: does not fit the SGN the diffusion model was built for "
                              f"({str(exc).splitlines()[0][:160]})") from None
    model.sgn.eval()


def set_sampling_steps(path: str | os.PathLike, steps: int) -> None:
    """Rewrite a diffusion checkpoint's default number of DDIM steps (after measuring SDR against steps).

    Only ``diffusion.sampling_steps`` in its config changes; weights, classes, step and
    history stay as they were. The file is replaced atomically.
    """
    state = read_checkpoint(path)
    cfg = json.loads(state["config"])
    if not cfg.get("diffusion"):
        raise CheckpointError(f"{path}: not a diffusion checkpoint")
    if not 1 <= int(steps) <= int(cfg["diffusion"].get("timesteps", 1000)):
        raise ValueError(f"steps must be in 1…{cfg['diffusion'].get('timesteps', 1000)}, not {steps}")
    cfg["diffusion"]["sampling_steps"] = int(steps)
    state["config"] = json.dumps(cfg, indent=2, sort_keys=True)
    write_state(path, state)  # sealed again: its digest covers the config


__all__ = ["default_sgn_checkpoint", "prepare_condition", "load_condition_weights", "set_sampling_steps"]
