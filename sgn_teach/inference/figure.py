"""The figure `separate` writes beside its wavs: spectrograms of the input and of every estimate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..core.atomic import atomic_path
from ..core.config import AudioConfig
from ..signal.spectral import SpectralFrontEnd


def save_separation_figure(waves: list[np.ndarray], titles: list[str], audio_cfg: AudioConfig, path: Path) -> Path:
    """Draw the spectrograms of `waves` (each (L,) at the model's rate) under `titles` into a PNG at `path` (atomic).

    The figure is closed afterwards: a file, not a stray figure in the caller's notebook.
    """
    from ..viz.plots import plot_spectrograms, plt

    fe = SpectralFrontEnd(audio_cfg)
    waves = [np.pad(w, (0, max(audio_cfg.n_fft - len(w), 0))) for w in waves]  # at least one STFT window
    mags = [fe.stft(torch.from_numpy(np.ascontiguousarray(w))).abs() for w in waves]
    fig = plot_spectrograms(mags, titles, sample_rate=audio_cfg.sample_rate)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=90, format="png")  # plot_spectrograms already laid it out tight
    finally:
        plt.close(fig)
    return path


__all__ = ["save_separation_figure"]
