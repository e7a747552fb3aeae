"""Reading the input of `separate`: check it, decode it once, keep it at the model's rate.

:func:`check_header` refuses a file that cannot be used before any work (not a
regular file, not decodable, empty or too short by its header);
:func:`read_input` decodes it block by block — checking every block, mixing it
down to mono and resampling it to the model's rate — into a raw float32 stream
file that :func:`stream_blocks` reads back, feeding `--classes auto`'s presence
pass on the way. Memory stays bounded whatever the input's length.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from ..core.errors import AudioError
from ..signal.audio import SILENCE_RMS, require_audio_file
from .presence import PresenceMean
from .streaming import StreamResampler

BLOCK = 1 << 16      # frames read from the input at a time


def _unreadable(path: Path, exc: BaseException) -> AudioError:
    """libsndfile's messages are long: one line of it."""
    return AudioError(f"{path}: not a readable audio file ({(str(exc).splitlines() or [type(exc).__name__])[0]})")


def _check_length(path: Path, frames: int, rate: int, model_rate: int, min_samples: int) -> None:
    """AudioError if `frames` at `rate` is empty or gives fewer than `min_samples` at the model's rate."""
    if frames == 0:
        raise AudioError(f"{path}: the file is empty (0 samples)")
    at_model = int(np.ceil(frames * model_rate / rate))
    if at_model < min_samples:
        raise AudioError(f"{path}: too short to separate: {at_model} samples at {model_rate} Hz "
                         f"({1000 * frames / rate:.0f} ms); at least {min_samples} are needed (one STFT frame)")


def check_header(path: str | os.PathLike, model_rate: int, min_samples: int) -> sf._SoundFileInfo:
    """The input's header, checked without reading its samples: AudioError if it cannot be used.

    Refused here: not a regular file (a folder, a FIFO), not decodable, or a
    header that says it is empty or too short. The samples themselves are
    checked by :func:`read_input` as they are read.
    """
    path = require_audio_file(path)
    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise _unreadable(path, exc) from None
    if info.frames > 0:  # some formats do not know their length before they are read
        _check_length(path, info.frames, info.samplerate, model_rate, min_samples)
    return info


def read_input(path: str | os.PathLike, model_rate: int, min_samples: int, stream_path: Path,
               presence: PresenceMean | None = None) -> tuple[int, int]:
    """Read the input once, to the end: check it, and keep it as the model will see it.

    Each block is checked (NaN/inf samples), mixed down to mono, resampled to
    `model_rate` and appended to `stream_path` as raw float32 (read back by
    :func:`stream_blocks`), and fed to `presence` when `--classes auto` needs
    the presence head: one decode and one resampling serve both passes.
    After the last block, an empty, silent or too short input is refused.

    Returns:
        (the input's sample rate, its exact number of frames — some formats
        only estimate it in the header).
    """
    path = Path(path)
    energy, frames = 0.0, 0
    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:
        raise _unreadable(path, exc) from None
    rate = f.samplerate
    with f, open(stream_path, "wb") as out:
        rs = StreamResampler(rate, model_rate)

        def emit(y: np.ndarray) -> None:  # model-rate samples (k,): to the stream file and the presence pass
            out.write(np.ascontiguousarray(y, dtype=np.float32).tobytes())
            if presence is not None:
                presence.push(y)

        blocks = f.blocks(blocksize=BLOCK, dtype="float32", always_2d=True)
        while True:
            try:
                block = next(blocks)  # (L, channels)
            except StopIteration:
                break
            except Exception as exc:  # a decoding error midway
                raise _unreadable(path, exc) from None
            if not np.all(np.isfinite(block)):
                raise AudioError(f"{path}: the file contains NaN or infinite samples")
            mono = block.mean(axis=1)  # (L, channels) → (L,) mono
            energy += float(np.square(mono, dtype=np.float64).sum())  # not np.dot: BLAS threads would slow the resampler
            frames += len(block)
            emit(rs.push(mono))
        emit(rs.flush())
    _check_length(path, frames, rate, model_rate, min_samples)
    if np.sqrt(energy / frames) < SILENCE_RMS:
        raise AudioError(f"{path}: the file is silent (RMS below {SILENCE_RMS:g})")
    return rate, frames


def stream_blocks(stream_path: Path) -> Iterator[np.ndarray]:
    """The model-rate mono stream :func:`read_input` wrote, as (≤ BLOCK,) float32 blocks."""
    with open(stream_path, "rb") as f:
        while chunk := f.read(4 * BLOCK):
            yield np.frombuffer(chunk, dtype=np.float32)
