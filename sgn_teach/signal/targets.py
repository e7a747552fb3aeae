"""What a mask estimator is trained to output: ideal masks, and SoP's per-bin loss weight.

All spectrogram tensors are on the warped grid: (B, N, F, T) for N sources,
(B, 1, F, T) for the mixture. The data pipeline (:func:`sgn_teach.data.mix_features`)
computes them for every training mixture; the losses (:mod:`sgn_teach.losses`)
compare the network's masks with them.
"""

from __future__ import annotations

import torch


def binary_mask_target(source_mag: torch.Tensor, mix_mag: torch.Tensor) -> torch.Tensor:
    """SoP's ideal binary mask m_i = [w_i > 0.5·w_mix]: (B, N, F, T), (B, 1, F, T) → (B, N, F, T)."""
    return (source_mag > 0.5 * mix_mag).to(source_mag.dtype)


def ratio_mask_target(source_mag: torch.Tensor, mix_mag: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Ideal ratio mask w_i / w_mix, clamped to [0, 1] so a sigmoid can reach it: → (B, N, F, T)."""
    return (source_mag / (mix_mag + eps)).clamp(0.0, 1.0)


def mask_target(source_mag: torch.Tensor, mix_mag: torch.Tensor, kind: str = "binary") -> torch.Tensor:
    """`binary` or `ratio` target, (B, N, F, T)."""
    if kind == "binary":
        return binary_mask_target(source_mag, mix_mag)
    if kind == "ratio":
        return ratio_mask_target(source_mag, mix_mag)
    raise ValueError(f"mask target must be 'binary' or 'ratio', not {kind!r}")


def sop_weight(mix_mag: torch.Tensor) -> torch.Tensor:
    """SoP's per-bin loss weight clamp(log1p(w_mix), 1e-3, 10): (B, 1, F, T) → (B, 1, F, T)."""
    return torch.log1p(mix_mag).clamp(1e-3, 10.0)
