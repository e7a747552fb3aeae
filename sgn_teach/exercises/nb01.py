"""Checkers for notebook 01, *From waveform to masks*.

Each checker prints ✔ or ✘ with what was expected and returns a bool; none of
them raises, whatever the learner passes (``None`` included), so the exercise
cells run as shipped.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ..core.config import AudioConfig
from ..signal.targets import ratio_mask_target
from . import report


def frequency_resolution(cfg: AudioConfig | None = None) -> float:
    """Spacing of the linear STFT bins in Hz: sample_rate / n_fft (≈10.79 Hz for SoP)."""
    cfg = cfg or AudioConfig()
    return cfg.sample_rate / cfg.n_fft


def warped_row_source_bin(row: int, cfg: AudioConfig | None = None) -> float:
    """The (fractional) linear bin that warped row `row` reads: (F_lin − 1)·(21^(row/(F−1)) − 1)/20."""
    cfg = cfg or AudioConfig()
    u = row / (cfg.n_freq_warped - 1)           # row → position in [0, 1] (align_corners=True)
    y_src = (21.0 ** u - 11.0) / 10.0           # SoP's warp, in grid_sample's [-1, 1] coordinates
    return (y_src + 1.0) / 2.0 * (cfg.n_freq_linear - 1)   # [-1, 1] → linear bin index


def _as_float(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def check_frequency_resolution(answer_hz: Any) -> bool:
    """Exercise 1: the spacing of the STFT bins in Hz for a 1022-point window at 11025 Hz."""
    right = frequency_resolution()
    v = _as_float(answer_hz)
    if v is None:
        return report(False, "", "set answer_hz to a number of Hz: how far apart are two neighbouring STFT bins? "
                                 "(hint: n_fft bins share the whole sample-rate range)")
    ok = abs(v - right) < 0.01
    return report(ok, f"{v:.2f} Hz: bins are sample_rate / n_fft = 11025 / 1022 = {right:.2f} Hz apart.",
                  f"{v:g} Hz is not it; expected sample_rate / n_fft = {right:.2f} Hz "
                  "(the 512 bins span 0 … 5512.5 Hz, the Nyquist frequency).")


def check_warped_row(answer_bin: Any, row: int = 64) -> bool:
    """Exercise 2: which linear bin (fractional) does warped row 64 of 256 read?"""
    right = warped_row_source_bin(row)
    hz = right * frequency_resolution()
    v = _as_float(answer_bin)
    if v is None:
        return report(False, "", f"set answer_bin to a number: the linear bin warped row {row} reads "
                                 "(hint: row → y ∈ [-1, 1] → (21^((y+1)/2) − 11)/10 → bin).")
    ok = abs(v - right) < 0.5
    return report(ok, f"{v:.2f}: row {row} reads linear bin {right:.2f} (≈{hz:.0f} Hz), "
                      f"interpolating between bins {math.floor(right)} and {math.floor(right) + 1}.",
                  f"{v:g} is not it; expected {right:.2f}: y = -1 + 2·{row}/255, y_src = (21^((y+1)/2) − 11)/10, "
                  "bin = (y_src + 1)/2 · 511.")


def check_ratio_mask(ratio_mask: Callable[[torch.Tensor, torch.Tensor], Any]) -> bool:
    """Exercise 3: `ratio_mask(source_mag (N, F, T), mix_mag (1, F, T))` → (N, F, T) ideal ratio mask in [0, 1]."""
    g = torch.Generator().manual_seed(1)
    src = torch.rand(2, 6, 5, generator=g) * 2          # (N, F, T) source magnitudes
    mix = torch.rand(1, 6, 5, generator=g) * 2 + 0.05   # (1, F, T): not their sum, as with real phases
    src[:, 0, 0] = 0.0
    mix[0, 0, 0] = 0.0                                   # one silent bin (0 / 0): must not give NaN
    expected = ratio_mask_target(src, mix)
    try:
        got = ratio_mask(src.clone(), mix.clone())
    except Exception as exc:  # a learner's bug must not stop the notebook
        return report(False, "", f"your ratio_mask raised {type(exc).__name__}: {exc}")
    if got is None:
        return report(False, "", "make ratio_mask return a tensor (N, F, T): in every bin, the share of the mixture "
                                 "that belongs to each source, between 0 and 1.")
    try:
        got = torch.as_tensor(got, dtype=expected.dtype)
    except Exception:
        return report(False, "", f"ratio_mask returned a {type(got).__name__}, not a tensor")
    if got.shape != expected.shape:
        return report(False, "", f"shape {tuple(got.shape)}, expected {tuple(expected.shape)} (N, F, T): "
                                 "divide by the mixture and let it broadcast over N")
    if not torch.isfinite(got).all():
        return report(False, "", "NaN or inf where the mixture is silent: add a small eps to the denominator")
    if got.min() < 0 or got.max() > 1:
        return report(False, "", f"values from {got.min():.2f} to {got.max():.2f}: magnitudes do not add up "
                                 "(phases), so w_i / w_mix can exceed 1 — clamp to [0, 1]")
    ok = torch.allclose(got, expected, atol=1e-4)
    return report(ok, "the ideal ratio mask clamp(w_i / (w_mix + eps), 0, 1) — sgn_teach.signal.targets.ratio_mask_target.",
                  f"largest difference from clamp(w_i / (w_mix + eps), 0, 1): {(got - expected).abs().max():.3g}")
