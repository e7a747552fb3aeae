"""How the masks of the sources asked for share a time–frequency bin (an inference-time choice).

The paper's SGN (like Sound of Pixels) predicts every class's mask with its own sigmoid: the masks of the
classes asked for are *independent*, so in a bin where the model is unsure two of them can both say 0.8 and the
same energy goes into two estimates (notebook 06 counts how often their sum exceeds 1.2). **Competing masks**, our
named extension, let the asked classes compete for each bin, as the grouping's softmax over classes lets them
compete for patches (eq. 5):

    m̃_i = m_i^p / Σ_j m_j^p · min(1, Σ_j m_j)

The sharpened shares m_i^p / Σ m_j^p decide *who* gets the bin, and min(1, Σ m_j) keeps *how much* of it the
model gave away in all (never more than the mixture has, never more than the independent masks took). One class
alone keeps its own mask; the mask of a class that was not named (all zero) stays zero. The exponent p = 3 was
chosen on validation mixtures (`benchmarks/bench_mask_sharing.py`, README *Named outputs*); the training losses
never see this, so it applies to any checkpoint, SoP's slots included.

Shapes: masks (B, N, F, T) in [0, 1] — N classes asked for (or a SoP model's N slots).
"""

from __future__ import annotations

import torch

from ..core.options import MASK_SHARING

COMPETE_POWER = 3.0
"""The exponent p of :func:`compete_masks`, chosen on validation mixtures (bench_mask_sharing.py)."""


def compete_masks(masks: torch.Tensor, power: float = COMPETE_POWER, eps: float = 1e-8) -> torch.Tensor:
    """Let the N masks compete for each bin: (B, N, F, T) → (B, N, F, T), summing to min(1, Σ m) over N."""
    if power <= 0:
        raise ValueError(f"the competition's exponent must be positive, not {power}")
    masks = masks.float()
    total = masks.sum(1, keepdim=True)                              # (B, 1, F, T): what the masks took in all
    sharp = masks.pow(power)                                        # (B, N, F, T)
    shares = sharp / sharp.sum(1, keepdim=True).clamp_min(eps)      # (B, N, F, T): who gets the bin, sums to 1
    return shares * total.clamp(max=1.0)


def share_masks(masks: torch.Tensor, sharing: str = "independent") -> torch.Tensor:
    """Apply a :data:`MASK_SHARING` rule to masks (B, N, F, T)."""
    if sharing == "independent":
        return masks
    if sharing == "compete":
        return compete_masks(masks)
    raise ValueError(f"mask sharing must be one of {', '.join(MASK_SHARING)}, not {sharing!r}")


__all__ = ["COMPETE_POWER", "MASK_SHARING", "compete_masks", "share_masks"]
