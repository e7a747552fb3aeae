"""Sound of Pixels without vision: the U-Net alone predicts N masks.

With no picture to say which instrument to extract, output slot j has no fixed
meaning: the model may put the violin in slot 0 for one mixture and in slot 1
for the next. It is therefore trained with a permutation-invariant loss
(`sgn_teach.losses.mask.pit_bce`), as in the paper's Table I row "SoP (w/o visual)".
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.config import ModelConfig
from .inputs import check_log_mag
from .unet import UNet


class SoPModel(nn.Module):
    """U-Net with `cfg.n_sources` output channels, one mask logit map per output slot.

    forward(log_mag (B, 1, F, T)) → dict with
        mask_logits (B, N, F, T), and token_logits / presence_logits / assign /
        class_features set to None (SoP has no classes; the keys keep the
        output the same shape of dict as SGN's).
    """

    class_conditioned = False  # the flags of the Separator protocol (sgn_teach.models.interface)
    generative = False
    has_presence_head = False
    takes_prompts = False
    presence_thresholds = None

    def __init__(self, cfg: ModelConfig, grid: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.grid = tuple(grid) if grid is not None else None  # (F, T) the input must have; None: any the U-Net takes
        self.unet = UNet(in_channels=1, out_channels=cfg.n_sources, ngf=cfg.ngf, levels=cfg.unet_levels)
        if self.grid is not None:
            self.unet.check_grid(*self.grid)

    def forward(self, log_mag: torch.Tensor, classes: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
        """(B, 1, F, T) → dict; `classes` is accepted for a common signature and ignored (SoP has no classes)."""
        check_log_mag(log_mag, self.grid, next(self.unet.parameters()).dtype)
        return {
            "mask_logits": self.unet(log_mag),  # (B, N, F, T)
            "mask_classes": None,
            "token_logits": None,
            "presence_logits": None,
            "assign": None,
            "class_features": None,
        }
