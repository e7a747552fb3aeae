"""FiLM, feature-wise linear modulation (Perez et al. 2018): a condition vector scales and shifts channels.

The text-conditioned separator (:mod:`sgn_teach.models.text_separator`) modulates
every decoder level of its U-Net with one FiLM of the prompt embedding.
"""

from __future__ import annotations

import torch
from torch import nn


class FiLM(nn.Module):
    """Per-channel scale and shift from a condition vector: (N, c, f, t), (N, E) → (N, c, f, t).

    out = x · (1 + γ(e)) + β(e), with γ, β = Linear(E → 2c) initialised to zero (identity at first).
    """

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(cond).chunk(2, dim=-1)  # (N, 2c) → two (N, c)
        return x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]  # (N, c) → (N, c, 1, 1): broadcast over bins


__all__ = ["FiLM"]
