"""A small instrument classifier, so that SoP's unnamed outputs can be named ("SoP + classifier").

SoP without vision separates a mixture into unordered slots; to compare it fairly with
SGN's named outputs (`--classes auto`), each separated slot is classified
(:func:`sgn_teach.evaluation.naming.name_slots`). The classifier hears one source at a
time: the level-normalised log-magnitude of the audio–text embedding's audio tower
(:mod:`sgn_teach.models.audio_text`, the same conv net with C outputs) → C class logits.

    wave (B, L) ─ STFT, warp, ÷ RMS, log ─ 4 conv blocks ─ mean+max pool ─ Linear ─▶ logits (B, C)

It trains through the one loop (`train --model classifier`, recipe
:mod:`sgn_teach.training.recipes.audio_text`'s crops: solo clips, sometimes with a quiet second
instrument, because separated estimates are never perfectly clean).
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.config import AudioConfig
from ..signal.spectral import SpectralFrontEnd
from .audio_text import AudioTower, level_normalised_log_mag


class InstrumentClassifier(nn.Module):
    """wave (B, L) at the audio config's rate (any length) → class logits (B, C)."""

    def __init__(self, n_classes: int, audio_cfg: AudioConfig, width: int = 16) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.frontend = SpectralFrontEnd(audio_cfg)
        self.tower = AudioTower(dim=n_classes, width=width)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return self.tower(level_normalised_log_mag(self.frontend, wave))  # (B, 1, F, T) → (B, C)


__all__ = ["InstrumentClassifier"]
