"""Separate any audio file into one file per class with a trained checkpoint.

Any sample rate, mono or stereo (mixed down), any length: the file is resampled
to the model's rate and cut into windows of one training clip with 50 % overlap;
each window is separated and the estimates are stitched back by overlap-add with
a periodic Hann window (its 50 %-shifted copies sum to exactly 1, so there are no
clicks or level steps at the seams). Estimates are resampled back to the input's
rate.

Memory does not grow with the file's length: the file is read in blocks and
every stage streams (:mod:`sgn_teach.streaming`); the estimates go to temp files
as they are finished. The set of output files is atomic
(:func:`sgn_teach.core.atomic.atomic_dir`): all of them appear, or none.

Level: each window is scaled to the median RMS of the mixtures the model was
trained on (stored in the checkpoint; :data:`TRAIN_RMS` for older ones) and the
estimates scaled back, so the network sees the loudness it learned on.

A model without classes (`sop`) has unordered output slots: slot 1 may hold the
violin in one window and the flute in the next. Each window's slots are
therefore re-ordered to agree best with the previous window over the half they
share (:func:`sgn_teach.streaming.best_permutation`), so `source_1` stays one instrument.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import soundfile as sf
import torch

from .core.atomic import AtomicDir, atomic_path
from .core.device import get_device
from .core.errors import AudioError, ConfigError, DataError, OutputError
from .hub.build import load_checkpoint
from .signal.audio import SILENCE_RMS, require_audio_file
from .signal.spectral import SpectralFrontEnd
from .streaming import StreamResampler, Windower, WindowSeparator, best_permutation

TRAIN_RMS = 0.146    # median RMS of the course's training mixtures (measured), for checkpoints that do not store it
BLOCK = 1 << 16      # frames read from the input at a time
FIGURE_SECONDS = 30  # the spectrogram figure shows at most the first 30 s
NO_PRESENCE_HEAD = ("--classes auto needs a model with a presence head (sgn, sct or cag); name the classes "
                    "(--classes a,b, or --prompt \"...\" for a text-conditioned model)")


def align_slots(est: np.ndarray, hop: int) -> np.ndarray:
    """Re-order each window's output slots to match the previous window: (W, N, size) → (W, N, size)."""
    out = est.copy()
    for w in range(1, len(out)):
        out[w] = out[w][best_permutation(out[w - 1], out[w], hop)]
    return out


def choose_classes(model: torch.nn.Module, class_names: list[str], classes: Sequence[str] | str | None
                   ) -> tuple[list[str] | None, list[int] | None]:
    """Check a `classes` request against the model: (names, indices), or (None, None) for "decide later".

    "auto"/None: the presence head decides (class-conditioned models), or every slot (`sop`).
    A list: names of the model's classes, each once; an error for an empty list,
    a name twice, an unknown name, or names given to a model without classes.
    """
    conditioned = getattr(model, "class_conditioned", False)
    if classes is None or classes == "auto":
        if conditioned and (getattr(model, "variant", None) in ("baseline", "text")
                            or getattr(model, "has_presence_head", True) is False):  # e.g. diffusion with class embeddings
            raise DataError(NO_PRESENCE_HEAD)
        return None, None
    if isinstance(classes, str):
        classes = [c.strip() for c in classes.split(",") if c.strip()]
    classes = list(classes)
    if not conditioned:
        raise ConfigError("this checkpoint is a `sop` model: its outputs are unordered slots, not classes; "
                          "leave out --classes")
    if not classes:
        raise ConfigError("--classes names no class; give names like cello,flute or 'auto'")
    twice = sorted({c for c in classes if classes.count(c) > 1})
    if twice:
        raise ConfigError(f"--classes names {', '.join(twice)} more than once")
    unknown = [c for c in classes if c not in class_names]
    if unknown:
        raise DataError(f"unknown class {', '.join(unknown)}; this model knows: {', '.join(class_names)}")
    return classes, [class_names.index(c) for c in classes]


def _auto_from_presence(presence_mean: np.ndarray | None, class_names: list[str]) -> tuple[list[str], list[int]]:
    if presence_mean is None:
        raise DataError(NO_PRESENCE_HEAD)
    chosen = [i for i, p in enumerate(presence_mean.tolist()) if p > 0.5] or [int(presence_mean.argmax())]
    return [class_names[i] for i in chosen], chosen


class _PresenceMean:
    """Running mean of the presence probabilities (C,) over the non-overlapping windows of a model-rate stream.

    The separator's windows overlap by half; for the presence every other one
    (windows 0, 2, 4, …) is enough: they tile the signal (an odd window length
    makes neighbours share one sample), so every sample is heard, at half the cost.
    push(block (L,)) as the stream arrives; result() after the last block. Only
    `sep.batch_size` windows are held at a time, so memory does not grow with the stream.
    """

    def __init__(self, sep: WindowSeparator) -> None:
        self.sep, self.windower = sep, Windower(sep.size)
        self.total: np.ndarray | None = None
        self.count = 0
        self.seen = 0  # windows cut so far (their index parity picks the non-overlapping ones)
        self.queue: list[np.ndarray] = []  # windows (k, size) not yet run through the model

    def _keep(self, windows: np.ndarray) -> np.ndarray:
        """The even-numbered windows of the next (W, size) cut from the stream."""
        first = self.seen % 2  # index within `windows` of the first even-numbered window
        self.seen += len(windows)
        return windows[first::2]

    def _run(self, frames: np.ndarray) -> None:
        for i in range(0, len(frames), self.sep.batch_size):
            p = self.sep.presence(frames[i: i + self.sep.batch_size])  # (k, C), or None without a presence head
            if p is None:
                return
            self.total = p.sum(0) if self.total is None else self.total + p.sum(0)
            self.count += len(p)

    def push(self, block: np.ndarray) -> None:
        self.queue.append(self._keep(self.windower.push(block)))
        if sum(len(q) for q in self.queue) >= self.sep.batch_size:
            self._run(np.concatenate(self.queue))
            self.queue = []

    def result(self) -> np.ndarray | None:
        self.queue.append(self._keep(self.windower.flush()))
        self._run(np.concatenate(self.queue))
        self.queue = []
        return None if self.total is None else self.total / self.count


def _presence_mean(sep: WindowSeparator, blocks: Iterator[np.ndarray]) -> np.ndarray | None:
    """Mean presence probability (C,) over the non-overlapping windows of the stream `blocks` (model rate)."""
    acc = _PresenceMean(sep)
    for block in blocks:
        acc.push(block)
    return acc.result()


@torch.no_grad()
def separate_wave(model: torch.nn.Module, wave: np.ndarray, audio_cfg, class_names: list[str],
                  classes: Sequence[str] | str = "auto", device: torch.device | str = "cpu",
                  batch_size: int = 8, target_rms: float = TRAIN_RMS
                  ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Separate a mono wave at the model's rate (in memory; files go through :func:`separate_file`).

    Args:
        wave: (L,) mono at audio_cfg.sample_rate.
        classes: a list of class names, or "auto" to keep the classes whose
            presence probability (averaged over windows) exceeds 0.5 (at least the top one).
        target_rms: the level each window is scaled to (the training mixtures' median RMS).

    Returns:
        ({name: (L,) estimate}, {class: mean presence probability})
    """
    wave = np.asarray(wave, dtype=np.float32)
    names, idx = choose_classes(model, class_names, classes)
    conditioned = getattr(model, "class_conditioned", False)
    presence = None
    if conditioned:
        probe = WindowSeparator(model, audio_cfg, None, device, batch_size, target_rms)
        presence = _presence_mean(probe, iter([wave]))
        if names is None:
            names, idx = _auto_from_presence(presence, class_names)
    sep = WindowSeparator(model, audio_cfg, idx if conditioned else None, device, batch_size, target_rms)
    parts = [p for p in (sep.push(wave), sep.flush()) if p.shape[1]]
    total = np.concatenate(parts, axis=1)  # (N, L)
    if not conditioned:
        names = [f"source_{i + 1}" for i in range(total.shape[0])]
    pres = {class_names[i]: float(p) for i, p in enumerate(presence.tolist())} if presence is not None else {}
    return {n: total[k].astype(np.float32) for k, n in enumerate(names)}, pres


def train_level(state: dict) -> float:
    """The median training-mixture RMS a checkpoint recorded, else :data:`TRAIN_RMS`."""
    try:
        level = json.loads(state.get("extra", "{}")).get("train_mix_rms")
    except (TypeError, ValueError, AttributeError):
        level = None
    return float(level) if level else TRAIN_RMS


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
               presence: _PresenceMean | None = None) -> tuple[int, int]:
    """Read the input once, to the end: check it, and keep it as the model will see it.

    Each block is checked (NaN/inf samples), mixed down to mono, resampled to
    `model_rate` and appended to `stream_path` as raw float32 (read back by
    :func:`_stream_blocks`), and fed to `presence` when `--classes auto` needs
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


def _stream_blocks(stream_path: Path) -> Iterator[np.ndarray]:
    """The model-rate mono stream :func:`read_input` wrote, as (≤ BLOCK,) float32 blocks."""
    with open(stream_path, "rb") as f:
        while chunk := f.read(4 * BLOCK):
            yield np.frombuffer(chunk, dtype=np.float32)


class _Outputs:
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


def separate_file(in_path: str | os.PathLike, checkpoint: str | os.PathLike, out_dir: str | os.PathLike,
                  classes: Sequence[str] | str | None = "auto", device: str = "auto", figure: bool = True,
                  batch_size: int = 8, sampling_steps: int | None = None) -> list[Path]:
    """`python -m sgn_teach separate`: write OUT/<stem>_<class>.wav at the input's rate (+ a figure).

    `sampling_steps`: DDIM steps of a diffusion checkpoint (default: the model's own).

    The checkpoint, the classes, the input's header and that OUT can be written
    are checked before any work; the input's samples are checked as the first
    pass reads them (:func:`read_input`: the file is decoded and resampled once,
    and `--classes auto` decides during that same pass). The output set is
    written to a temp folder and moved into OUT at the end, so a failure at any
    point leaves nothing. Memory stays bounded whatever the input's length.
    """
    dev = get_device(device)
    model, cfg, class_names, _, state = load_checkpoint(checkpoint, device=dev)
    if sampling_steps is not None:
        if not getattr(model, "generative", False):
            raise ConfigError("--sampling-steps applies to diffusion checkpoints only")
        model.sampling_steps = min(int(sampling_steps), len(model.alpha_bar))
    names, idx = choose_classes(model, class_names, classes)
    model_rate = cfg.audio.sample_rate
    check_header(in_path, model_rate, cfg.audio.n_fft // 2 + 1)
    in_path = Path(in_path)
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise OutputError(f"{out_dir}: exists and is not a folder")
    try:
        staging = AtomicDir(out_dir)  # made now: an unwritable OUT fails before any computing
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot write the output there ({exc.strerror or exc})") from None
    try:
        names, presence, final = _separate_into(staging, model, cfg, class_names, names, idx, in_path, dev,
                                                batch_size, train_level(state), figure)
        staging.commit()
    except (OSError, sf.SoundFileError) as exc:
        staging.abort()
        raise OutputError(f"{out_dir}: writing the output failed ({getattr(exc, 'strerror', None) or exc}); "
                          "nothing was written") from None
    except BaseException:
        staging.abort()
        raise
    if presence is not None:
        print("presence: " + ", ".join(f"{class_names[i]} {p:.2f}"
                                       for i, p in sorted(enumerate(presence.tolist()), key=lambda kv: -kv[1])))
    return final


def _separate_into(staging: AtomicDir, model, cfg, class_names, names, idx, in_path: Path, dev, batch_size,
                   target_rms, figure) -> tuple[list[str], np.ndarray | None, list[Path]]:
    """The work of :func:`separate_file`: every file goes into ``staging.tmp``; returns (names, presence, final paths)."""
    stream_path = staging.tmp / ".input-model-rate.f32"  # the first pass's output, removed before the commit
    try:
        return _two_passes(staging, model, cfg, class_names, names, idx, in_path, stream_path, dev, batch_size,
                           target_rms, figure)
    finally:
        stream_path.unlink(missing_ok=True)


def _two_passes(staging: AtomicDir, model, cfg, class_names, names, idx, in_path: Path, stream_path: Path, dev,
                batch_size, target_rms, figure) -> tuple[list[str], np.ndarray | None, list[Path]]:
    """Pass 1 reads, checks and resamples the input (and picks the classes for auto); pass 2 separates."""
    model_rate = cfg.audio.sample_rate
    conditioned = getattr(model, "class_conditioned", False)
    auto = conditioned and names is None  # --classes auto: the first pass decides
    acc = _PresenceMean(WindowSeparator(model, cfg.audio, None, dev, batch_size, target_rms)) if auto else None
    rate, n_frames = read_input(in_path, model_rate, cfg.audio.n_fft // 2 + 1, stream_path, acc)
    presence = None
    if acc is not None:
        presence = acc.result()
        names, idx = _auto_from_presence(presence, class_names)
    sep = WindowSeparator(model, cfg.audio, idx if conditioned else None, dev, batch_size, target_rms)
    keep = FIGURE_SECONDS * model_rate if figure else 0
    head_in: list[np.ndarray] = []
    head_len = 0
    outputs: _Outputs | None = None
    stem = in_path.stem
    try:
        for block in _stream_blocks(stream_path):
            if head_len < keep:
                head_in.append(block[: keep - head_len])
                head_len += len(head_in[-1])
            est = sep.push(block)
            if est.shape[1]:
                if outputs is None:
                    names = names or [f"source_{i + 1}" for i in range(est.shape[0])]
                    outputs = _Outputs(staging.tmp, names, model_rate, rate, n_frames, keep)
                outputs.add(est)
        est = sep.flush()
        if outputs is None:
            names = names or [f"source_{i + 1}" for i in range(est.shape[0])]
            outputs = _Outputs(staging.tmp, names, model_rate, rate, n_frames, keep)
        outputs.add(est, final=True)
        outputs.finish([staging.tmp / f"{stem}_{name}.wav" for name in names])
    finally:
        if outputs is not None:
            outputs.close()
    final = [staging.target / f"{stem}_{name}.wav" for name in names]
    if figure:
        from .viz.plots import plot_spectrograms

        fe = SpectralFrontEnd(cfg.audio)
        waves = [np.concatenate(head_in)] + [np.concatenate(h) for h in outputs.head]
        waves = [np.pad(w, (0, max(cfg.audio.n_fft - len(w), 0))) for w in waves]  # at least one STFT window
        mags = [fe.stft(torch.from_numpy(np.ascontiguousarray(w))).abs() for w in waves]
        cut = f" (first {FIGURE_SECONDS} s)" if n_frames > FIGURE_SECONDS * rate else ""
        fig = plot_spectrograms(mags, ["input" + cut, *names], sample_rate=model_rate)
        with atomic_path(staging.tmp / f"{stem}_separation.png") as tmp:
            fig.savefig(tmp, dpi=90, format="png")  # plot_spectrograms already laid it out tight
        import matplotlib.pyplot as plt

        plt.close(fig)  # a file, not a stray figure in the caller's notebook
        final.append(staging.target / f"{stem}_separation.png")
    return names, presence, final
