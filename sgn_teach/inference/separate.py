"""Separate any audio file into one file per class with a trained checkpoint.

Any sample rate, mono or stereo (mixed down), any length: the file is resampled
to the model's rate and cut into windows of one training clip with 50 % overlap;
each window is separated and the estimates are stitched back by overlap-add with
a periodic Hann window (its 50 %-shifted copies sum to exactly 1, so there are no
clicks or level steps at the seams). Estimates are resampled back to the input's
rate.

Memory does not grow with the file's length: the file is read in blocks
(:mod:`sgn_teach.inference.reader`) and every stage streams
(:mod:`sgn_teach.inference.streaming`); the estimates go to temp files as they are
finished (:mod:`sgn_teach.inference.writer`). The set of output files is atomic
(:func:`sgn_teach.core.atomic.atomic_dir`): all of them appear, or none.

Level: each window is scaled to the median RMS of the mixtures the model was
trained on (stored in the checkpoint; :data:`sgn_teach.core.config.TRAIN_RMS` for older ones) and the
estimates scaled back, so the network sees the loudness it learned on.

A model without classes (`sop`) has unordered output slots: slot 1 may hold the
violin in one window and the flute in the next. Each window's slots are
therefore re-ordered to agree best with the previous window over the half they
share (:func:`sgn_teach.inference.streaming.best_permutation`), so `source_1` stays one instrument.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf
import torch

from ..core.atomic import AtomicDir, write_failure
from ..core.config import TRAIN_RMS
from ..core.device import get_device
from ..core.errors import CheckpointError, ConfigError, DataError, OutputError
from ..hub.build import load_checkpoint, require_separator
from .figure import save_separation_figure
from .presence import NO_PRESENCE_HEAD, PresenceMean, auto_from_presence, presence_mean
from .reader import check_header, read_input, stream_blocks
from .streaming import WindowSeparator, best_permutation
from .writer import OutputWriter

FIGURE_SECONDS = 30  # the spectrogram figure shows at most the first 30 s


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
    conditioned = model.class_conditioned
    if classes is None or classes == "auto":
        if conditioned and not model.has_presence_head:  # baseline, text, diffusion with class embeddings
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


@torch.no_grad()
def separate_wave(model: torch.nn.Module, wave: np.ndarray, audio_cfg, class_names: list[str],
                  classes: Sequence[str] | str = "auto", device: torch.device | str = "cpu",
                  batch_size: int = 8, target_rms: float = TRAIN_RMS, sharing: str = "independent"
                  ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Separate a mono wave at the model's rate (in memory; files go through :func:`separate_file`).

    Args:
        wave: (L,) mono at audio_cfg.sample_rate.
        classes: a list of class names, or "auto" to keep the classes whose
            presence probability (averaged over windows) exceeds 0.5 (at least the top one).
        target_rms: the level each window is scaled to (the training mixtures' median RMS).
        sharing: how the masks of the classes separated share a bin (:mod:`sgn_teach.signal.sharing`).

    Returns:
        ({name: (L,) estimate}, {class: mean presence probability})
    """
    wave = np.asarray(wave, dtype=np.float32)
    names, idx = choose_classes(model, class_names, classes)
    conditioned = model.class_conditioned
    presence = None
    if conditioned:
        probe = WindowSeparator(model, audio_cfg, None, device, batch_size, target_rms)
        presence = presence_mean(probe, iter([wave]))
        if names is None:
            names, idx = auto_from_presence(presence, class_names)
    sep = WindowSeparator(model, audio_cfg, idx if conditioned else None, device, batch_size, target_rms, sharing)
    parts = [p for p in (sep.push(wave), sep.flush()) if p.shape[1]]
    total = np.concatenate(parts, axis=1)  # (N, L)
    if not conditioned:
        names = [f"source_{i + 1}" for i in range(total.shape[0])]
    pres = {class_names[i]: float(p) for i, p in enumerate(presence.tolist())} if presence is not None else {}
    return {n: total[k].astype(np.float32) for k, n in enumerate(names)}, pres


def train_level(state: dict) -> float:
    """The median training-mixture RMS a checkpoint recorded, else :data:`TRAIN_RMS`; CheckpointError for a
    recorded level that is not a positive number (windows would be scaled by it)."""
    try:
        level = json.loads(state.get("extra", "{}")).get("train_mix_rms")
    except (TypeError, ValueError, AttributeError):
        level = None
    if level is None:
        return TRAIN_RMS
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not math.isfinite(level) or level <= 0:
        raise CheckpointError(f"its recorded training level train_mix_rms = {level!r} is not a positive number: "
                              "the checkpoint is damaged or was edited")
    return float(level)


def separate_file(in_path: str | os.PathLike, checkpoint: str | os.PathLike, out_dir: str | os.PathLike,
                  classes: Sequence[str] | str | None = "auto", device: str = "auto", figure: bool = True,
                  batch_size: int = 8, sampling_steps: int | None = None, sharing: str = "independent") -> list[Path]:
    """`python -m sgn_teach separate`: write OUT/<stem>_<class>.wav at the input's rate (+ a figure).

    `sampling_steps`: DDIM steps of a diffusion checkpoint (default: the model's own). `sharing`: how the masks of
    the classes separated share a bin (`--masks`; :mod:`sgn_teach.signal.sharing`).

    The checkpoint, the classes, the input's header and that OUT can be written
    are checked before any work; the input's samples are checked as the first
    pass reads them (:func:`~sgn_teach.inference.reader.read_input`: the file is decoded and resampled once,
    and `--classes auto` decides during that same pass). The output set is
    written to a temp folder and moved into OUT at the end, so a failure at any
    point leaves nothing. Memory stays bounded whatever the input's length.
    """
    dev = get_device(device)
    model, cfg, class_names, _, state = load_checkpoint(checkpoint, device=dev)
    require_separator(model, checkpoint)
    if sampling_steps is not None:
        if not model.generative:
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
                                                batch_size, train_level(state), figure, sharing)
        staging.commit()
    except (OSError, sf.SoundFileError, RuntimeError) as exc:
        staging.abort()
        failure = write_failure(out_dir, exc)
        if failure is None and not isinstance(exc, (OSError, sf.SoundFileError)):
            raise
        reason = str(failure).split(": ", 1)[1] if failure is not None else (getattr(exc, "strerror", None) or exc)
        if str(reason) == "System error.":  # libsndfile's word for a write the system refused (often a full disk)
            reason = "the system refused the write: is the disk full?"
        raise OutputError(f"{out_dir}: writing the output failed ({reason}); nothing was written") from None
    except BaseException:
        staging.abort()
        raise
    if presence is not None:
        print("presence: " + ", ".join(f"{class_names[i]} {p:.2f}"
                                       for i, p in sorted(enumerate(presence.tolist()), key=lambda kv: -kv[1])))
    return final


def _separate_into(staging: AtomicDir, model, cfg, class_names, names, idx, in_path: Path, dev, batch_size,
                   target_rms, figure, sharing) -> tuple[list[str], np.ndarray | None, list[Path]]:
    """The work of :func:`separate_file`: every file goes into ``staging.tmp``; returns (names, presence, final paths)."""
    stream_path = staging.tmp / ".input-model-rate.f32"  # the first pass's output, removed before the commit
    try:
        return _two_passes(staging, model, cfg, class_names, names, idx, in_path, stream_path, dev, batch_size,
                           target_rms, figure, sharing)
    finally:
        stream_path.unlink(missing_ok=True)


def _two_passes(staging: AtomicDir, model, cfg, class_names, names, idx, in_path: Path, stream_path: Path, dev,
                batch_size, target_rms, figure, sharing) -> tuple[list[str], np.ndarray | None, list[Path]]:
    """Pass 1 reads, checks and resamples the input (and picks the classes for auto); pass 2 separates."""
    model_rate = cfg.audio.sample_rate
    conditioned = model.class_conditioned
    auto = conditioned and names is None  # --classes auto: the first pass decides
    acc = PresenceMean(WindowSeparator(model, cfg.audio, None, dev, batch_size, target_rms)) if auto else None
    rate, n_frames = read_input(in_path, model_rate, cfg.audio.n_fft // 2 + 1, stream_path, acc)
    presence = None
    if acc is not None:
        presence = acc.result()
        names, idx = auto_from_presence(presence, class_names)
    sep = WindowSeparator(model, cfg.audio, idx if conditioned else None, dev, batch_size, target_rms, sharing)
    keep = FIGURE_SECONDS * model_rate if figure else 0
    head_in: list[np.ndarray] = []
    head_len = 0
    outputs: OutputWriter | None = None
    stem = in_path.stem
    try:
        for block in stream_blocks(stream_path):
            if head_len < keep:
                head_in.append(block[: keep - head_len])
                head_len += len(head_in[-1])
            est = sep.push(block)
            if est.shape[1]:
                if outputs is None:
                    names = names or [f"source_{i + 1}" for i in range(est.shape[0])]
                    outputs = OutputWriter(staging.tmp, names, model_rate, rate, n_frames, keep)
                outputs.add(est)
        est = sep.flush()
        if outputs is None:
            names = names or [f"source_{i + 1}" for i in range(est.shape[0])]
            outputs = OutputWriter(staging.tmp, names, model_rate, rate, n_frames, keep)
        outputs.add(est, final=True)
        outputs.finish([staging.tmp / f"{stem}_{name}.wav" for name in names])
    finally:
        if outputs is not None:
            outputs.close()
    final = [staging.target / f"{stem}_{name}.wav" for name in names]
    if figure:
        heads = [np.concatenate(head_in)] + [np.concatenate(h) for h in outputs.head]
        cut = f" (first {FIGURE_SECONDS} s)" if n_frames > FIGURE_SECONDS * rate else ""
        path = save_separation_figure(heads, ["input" + cut, *names], cfg.audio, staging.tmp / f"{stem}_separation.png")
        final.append(staging.target / path.name)
    return names, presence, final
