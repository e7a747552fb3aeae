"""The networks: SoP's U-Net, the SoP baseline, class tokens, grouping, SGN.

`build_model(model_cfg, audio_cfg)` is the one constructor the rest of the
package uses; it picks `SoPModel` for variant "sop", `DiffusionSeparator` for
"diffusion" (give it the `DiffusionConfig`), `TextConditionedSeparator` for "text"
(notebook 08) and `SGN` otherwise.
"""

from __future__ import annotations

from torch import nn

from ..core.config import AudioConfig, DiffusionConfig, ModelConfig
from .grouping import CategoryAwareGrouping, PresenceHead, hard_assign
from .sgn import SGN, SGN_VARIANTS, predicted_classes, select_masks
from .sop import SoPModel
from .text_separator import TextConditionedSeparator
from .tokens import ClassTokenTransformer, PatchEmbedding
from .unet import UNet, unet_widths

__all__ = [
    "UNet", "unet_widths", "SoPModel", "PatchEmbedding", "ClassTokenTransformer",
    "CategoryAwareGrouping", "PresenceHead", "hard_assign", "SGN", "SGN_VARIANTS",
    "select_masks", "predicted_classes", "build_model", "count_parameters", "TextConditionedSeparator",
]


def build_model(model_cfg: ModelConfig, audio_cfg: AudioConfig, diffusion: DiffusionConfig | None = None) -> nn.Module:
    """The model of `model_cfg.variant` for the grid (F, T) = (n_freq_warped, n_frames) of `audio_cfg`.

    `diffusion` (``Config.diffusion``) is needed by the "diffusion" variant only.
    """
    if model_cfg.variant == "diffusion":  # the generative separator of notebook 07
        from .diffusion_separator import DiffusionSeparator

        return DiffusionSeparator(model_cfg, audio_cfg, diffusion or DiffusionConfig())
    if model_cfg.variant == "sop":
        return SoPModel(model_cfg, grid=(audio_cfg.n_freq_warped, audio_cfg.n_frames))
    if model_cfg.variant == "text":
        return TextConditionedSeparator(model_cfg, grid=(audio_cfg.n_freq_warped, audio_cfg.n_frames))
    return SGN(model_cfg, grid=(audio_cfg.n_freq_warped, audio_cfg.n_frames))


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters; BatchNorm running statistics are buffers and not counted."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
