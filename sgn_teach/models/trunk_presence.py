"""Presence from the U-Net's encoder: an extension of ours, not the paper's (``ModelConfig.presence = "trunk"``).

The paper's presence head (eq. 7, :class:`sgn_teach.models.grouping.PresenceHead`) reads each class feature
g_i — a 2-layer transformer's view of 16×16 patches at the `small` preset. This head reads instead what the
U-Net's encoder found in the whole mixture, the same features a CNN audio tagger would use:

    d_{L-1} (B, W, f, t) ─ mean and max over (f, t) ─▶ (B, 2W) ─ Linear ─ ReLU ─ Linear ─▶ presence_logits (B, C)

It trains with the same presence BCE, whose gradient now reaches the encoder that the masks are built from.
"""

from __future__ import annotations

import torch
from torch import nn


class TrunkPresenceHead(nn.Module):
    """The deepest encoder features d_{L-1} (B, W, f, t) → presence logits (B, C) (a logit per class)."""

    def __init__(self, width: int, n_classes: int, hidden: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * width, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, bottleneck: torch.Tensor) -> torch.Tensor:
        flat = bottleneck.flatten(2)  # (B, W, f, t) → (B, W, f·t): every time-frequency cell of the bottleneck
        pooled = torch.cat([flat.mean(-1), flat.amax(-1)], dim=1)  # (B, 2W): how much of each feature, and its peak
        return self.mlp(pooled)  # (B, C)


__all__ = ["TrunkPresenceHead"]
