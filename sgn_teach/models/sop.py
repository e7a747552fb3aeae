"""Sound of Pixels without vision: the U-Net alone predicts N masks.

With no picture to say which instrument to extract, output slot j has no fixed
meaning: the model may put the violin in slot 0 for one mixture and in slot 1
for the next. It is therefore trained with a permutation-invariant loss
(`sgn_teach.losses.pit_bce`), as in the paper's Table I row "SoP (w/o visual)".
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .unet import UNet


class SoPModel(nn.Module):
    """U-Net with `cfg.n_sources` output channels, one mask logit map per output slot.

    forward(log_mag (B, 1, F, T)) → dict with
        mask_logits (B, N, F, T), and token_logits / presence_logits / assign /
        class_features set to None (SoP has no classes; the keys keep the
        output the same shape of dict as SGN's).
    """

    class_conditioned = False

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.unet = UNet(in_channels=1, out_channels=cfg.n_sources, ngf=cfg.ngf, levels=cfg.unet_levels)

    def forward(self, log_mag: torch.Tensor, classes: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
        """(B, 1, F, T) → dict; `classes` is accepted for a common signature and ignored (SoP has no classes)."""
        return {
            "mask_logits": self.unet(log_mag),  # (B, N, F, T)
            "mask_classes": None,
            "token_logits": None,
            "presence_logits": None,
            "assign": None,
            "class_features": None,
        }
