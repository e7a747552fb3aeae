"""Audio I/O: load any file to mono float32 at the model's rate, save, resample.

File I/O goes through `soundfile` (libsndfile: wav, flac, ogg, and mp3 where the
platform's libsndfile ≥ 1.1 decodes it); torchaudio ≥ 2.9 hands `load`/`save` to
torchcodec/FFmpeg, so we use torchaudio only for resampling.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from ..core.atomic import atomic_path
from ..core.config import SAMPLE_RATE
from ..core.errors import AudioError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
SILENCE_RMS = 1e-5  # below this RMS a clip counts as silent (≈ -100 dBFS)


def to_mono(wave: np.ndarray) -> np.ndarray:
    """Average channels: (L,) or (L, channels) → (L,)."""
    if wave.ndim == 1:
        return wave
    return wave.mean(axis=1)


def resample(wave: np.ndarray | torch.Tensor, orig_sr: int, new_sr: int) -> np.ndarray | torch.Tensor:
    """Band-limited resampling along the last axis (torchaudio's windowed sinc).

    Accepts NumPy or torch input and returns the same kind.
    """
    if orig_sr == new_sr:
        return wave
    is_np = isinstance(wave, np.ndarray)
    t = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)) if is_np else wave
    out = AF.resample(t, int(orig_sr), int(new_sr))
    return out.numpy() if is_np else out


def check_wave(wave: np.ndarray, name: str = "audio", allow_silence: bool = False) -> None:
    """Raise :class:`AudioError` for an empty, non-finite or (unless allowed) silent wave."""
    if wave.size == 0:
        raise AudioError(f"{name}: the clip is empty (0 samples)")
    if not np.all(np.isfinite(wave)):
        raise AudioError(f"{name}: the clip contains NaN or infinite samples")
    if not allow_silence and float(np.sqrt(np.mean(np.square(wave, dtype=np.float64)))) < SILENCE_RMS:
        raise AudioError(f"{name}: the clip is silent (RMS below {SILENCE_RMS:g})")


def require_audio_file(path: str | os.PathLike) -> Path:
    """`path` as a Path if it is an existing regular file; AudioError saying what it is otherwise.

    A FIFO or a device is refused here, before anything tries to read it (and waits forever).
    """
    path = Path(path)
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if not path.is_file():
        raise AudioError(f"{path}: not a regular file (a pipe, socket or device), not an audio file")
    if not os.access(path, os.R_OK):
        raise AudioError(f"{path}: cannot be read (permission denied)")
    return path


def load_audio(
    path: str | os.PathLike,
    sample_rate: int | None = SAMPLE_RATE,
    mono: bool = True,
    allow_silence: bool = False,
) -> tuple[np.ndarray, int]:
    """Load a file as float32.

    Args:
        path: wav/flac/ogg (mp3 where libsndfile decodes it).
        sample_rate: resample to this rate; None keeps the file's rate.
        mono: average the channels.
        allow_silence: accept an all-silent clip.

    Returns:
        (wave, sr): wave is (L,) if mono else (channels, L).
    """
    path = require_audio_file(path)
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)  # (L, channels)
    except Exception as exc:  # libsndfile's messages are long; keep one line
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise AudioError(f"{path}: not a readable audio file ({reason})") from None
    wave = to_mono(data) if mono else data.T  # (L, ch) → (ch, L) when keeping channels
    check_wave(wave, str(path), allow_silence=allow_silence)
    if sample_rate is not None and sr != sample_rate:
        wave = resample(wave, sr, sample_rate)
        sr = sample_rate
    return np.ascontiguousarray(wave, dtype=np.float32), int(sr)


def save_audio(path: str | os.PathLike, wave: np.ndarray | torch.Tensor, sample_rate: int) -> Path:
    """Write a wav atomically (temp file, then rename): a failure leaves nothing behind.

    Args:
        wave: (L,) mono or (channels, L).
    """
    if isinstance(wave, torch.Tensor):
        wave = wave.detach().cpu().float().numpy()
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim == 2:
        wave = wave.T  # (ch, L) → (L, ch), soundfile's layout
    path = Path(path)
    subtype = "FLOAT" if np.abs(wave).max(initial=0) > 1 else "PCM_16"  # keep levels above full scale
    with atomic_path(path, ".wav") as tmp:
        sf.write(tmp, wave, int(sample_rate), subtype=subtype, format="WAV")
    return path


def fit_length(wave: np.ndarray, n_samples: int, offset: int = 0) -> np.ndarray:
    """Crop from `offset` (or zero-pad at the end) to exactly n_samples: (L,) → (n_samples,)."""
    out = wave[offset: offset + n_samples]
    if len(out) < n_samples:
        out = np.pad(out, (0, n_samples - len(out)))
    return out
