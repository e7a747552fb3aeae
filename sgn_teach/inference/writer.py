"""Writing the estimates of `separate`: streamed into temp wavs at the input's rate, 16-bit or float."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from .reader import BLOCK
from .streaming import StreamResampler


class OutputWriter:
    """The estimates of one separation, resampled back and appended to temp wavs in `folder`.

    Each output is written as 16-bit PCM as it streams. Should one exceed full
    scale (|x| > 1, which 16-bit PCM would clip), that output switches to a
    float wav: what was written so far is copied into it (already at 16-bit
    precision) and the rest follows in float, so levels above full scale are kept.
    """

    def __init__(self, folder: Path, names: list[str], model_rate: int, rate: int, n_frames: int, keep: int) -> None:
        self.names, self.rate, self.n_frames, self.keep = names, rate, n_frames, keep
        self.paths = [folder / f".part-{k}.wav" for k in range(len(names))]
        self.files = [self._open(p, "PCM_16") for p in self.paths]
        self.is_float = [False] * len(names)
        self.back = [StreamResampler(model_rate, rate) for _ in names]
        self.written = [0] * len(names)
        self.head = [[] for _ in names]  # the first `keep` samples at the model rate, for the figure
        self.head_len = 0

    def _open(self, path: Path, subtype: str) -> sf.SoundFile:
        return sf.SoundFile(str(path), "w", samplerate=self.rate, channels=1, subtype=subtype, format="WAV")

    def _to_float(self, k: int) -> None:
        """Output k exceeds full scale: continue it in a float wav that starts with what was written so far."""
        self.files[k].close()
        pcm, path = self.paths[k], self.paths[k].with_name(f".part-{k}-float.wav")
        self.files[k], self.paths[k], self.is_float[k] = self._open(path, "FLOAT"), path, True
        with sf.SoundFile(str(pcm)) as src:
            for block in src.blocks(blocksize=BLOCK, dtype="float32"):
                self.files[k].write(block)
        os.unlink(pcm)

    def add(self, est: np.ndarray, final: bool = False) -> None:
        """Append model-rate samples (N, k) of every output."""
        if self.head_len < self.keep and est.shape[1]:
            for k in range(len(self.names)):
                self.head[k].append(est[k, : self.keep - self.head_len].astype(np.float32))
            self.head_len += min(est.shape[1], self.keep - self.head_len)
        for k in range(len(self.names)):
            y = self.back[k].push(est[k])
            if final:
                y = np.concatenate([y, self.back[k].flush()])
            y = y[: self.n_frames - self.written[k]]  # exactly the input's length
            if final and self.written[k] + len(y) < self.n_frames:
                y = np.pad(y, (0, self.n_frames - self.written[k] - len(y)))
            if not self.is_float[k] and float(np.abs(y).max(initial=0.0)) > 1:
                self._to_float(k)
            self.files[k].write(y.astype(np.float32))
            self.written[k] += len(y)

    def finish(self, final_paths: list[Path]) -> None:
        """Close the temp files and give each its final name."""
        for f in self.files:
            f.close()
        for tmp, dest in zip(self.paths, final_paths):
            os.replace(tmp, dest)

    def close(self) -> None:
        for f in self.files:
            if not f.closed:
                f.close()
