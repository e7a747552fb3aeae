"""Separate any audio file into one file per class with a trained checkpoint.

Any sample rate, mono or stereo (mixed down), any length: the file is resampled
to the model's rate and cut into windows of one training clip with 50 % overlap;
each window is separated and the estimates are stitched back by overlap-add with
a periodic Hann window (its 50 %-shifted copies sum to exactly 1, so there are no
clicks or level steps at the seams). Estimates are resampled back to the input's
rate.

Level: each window is scaled to the median RMS of the mixtures the model was
trained on (stored in the checkpoint; :data:`TRAIN_RMS` for older ones) and the
estimates scaled back, so the network sees the loudness it learned on.

A model without classes (`sop`) has unordered output slots: slot 1 may hold the
violin in one window and the flute in the next. Each window's slots are
therefore re-ordered to agree best with the previous window over the half they
share (:func:`align_slots`), so `source_1` stays one instrument.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .atomic import atomic_path
from .audio import load_audio, resample, save_audio
from .checkpoint import load_checkpoint
from .device import get_device
from .errors import DataError
from .spectral import SpectralFrontEnd

TRAIN_RMS = 0.146  # median RMS of the course's training mixtures (measured), for checkpoints that do not store it


def _windows(wave: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Cut (L,) into overlapping windows (W, size) with hop size//2, padding size//2 on each side."""
    hop = size // 2
    padded = np.pad(wave, (hop, hop + size))
    n = 1 + (len(wave) + hop) // hop
    idx = np.arange(size)[None, :] + hop * np.arange(n)[:, None]  # (W, size) sample indices
    return padded[idx], hop


def align_slots(est: np.ndarray, hop: int) -> np.ndarray:
    """Re-order each window's output slots to match the previous window: (W, N, size) → (W, N, size).

    Window w and w−1 share `hop` samples (w's first half is w−1's second half);
    the permutation of w's slots with the largest summed correlation there is kept.
    """
    out = est.copy()
    n = est.shape[1]
    perms = [list(p) for p in itertools.permutations(range(n))]
    for w in range(1, len(out)):
        prev, cur = out[w - 1][:, hop:2 * hop], out[w][:, :hop]  # (N, hop) each: the shared half
        prev_norm = prev / (np.linalg.norm(prev, axis=1, keepdims=True) + 1e-8)
        cur_norm = cur / (np.linalg.norm(cur, axis=1, keepdims=True) + 1e-8)
        corr = prev_norm @ cur_norm.T  # (N, N): corr[i, j] = slot i of w−1 against slot j of w
        best = max(perms, key=lambda p: sum(corr[i, p[i]] for i in range(n)))
        out[w] = out[w][best]
    return out


@torch.no_grad()
def separate_wave(model: torch.nn.Module, wave: np.ndarray, audio_cfg, class_names: list[str],
                  classes: Sequence[str] | str = "auto", device: torch.device | str = "cpu",
                  batch_size: int = 8, target_rms: float = TRAIN_RMS
                  ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Separate a mono wave at the model's rate.

    Args:
        wave: (L,) mono at audio_cfg.sample_rate.
        classes: a list of class names, or "auto" to keep the classes whose
            presence probability (averaged over windows) exceeds 0.5 (at least the top one).
        target_rms: the level each window is scaled to (the training mixtures' median RMS).

    Returns:
        ({name: (L,) estimate}, {class: mean presence probability})
    """
    from .models import select_masks

    device = torch.device(device)
    frontend = SpectralFrontEnd(audio_cfg).to(device)
    size = audio_cfg.n_samples
    frames, hop = _windows(wave, size)                                    # (W, size)
    rms = np.sqrt(np.mean(frames**2, axis=1, keepdims=True)) + 1e-8
    gain = np.minimum(target_rms / rms, 100.0)                            # (W, 1): quiet windows are not blown up
    x = torch.from_numpy((frames * gain).astype(np.float32)).to(device)
    conditioned = getattr(model, "class_conditioned", False)
    generative = getattr(model, "generative", False)
    outs, presence = [], []  # per chunk: (mask logits — or, for a generative model, the log-magnitude — , STFT)
    for chunk in x.split(batch_size):
        a = frontend.analyse(chunk)
        if generative:  # diffusion: only the presence now; the sources are sampled once the classes are chosen
            o = {"presence_logits": model.presence_logits(a["log_mag"])}
            outs.append((a["log_mag"], a["stft"]))
        else:
            o = model(a["log_mag"])
            outs.append((o["mask_logits"].float(), a["stft"]))
        if o.get("presence_logits") is not None:
            presence.append(torch.sigmoid(o["presence_logits"].float()))
    presence_mean = torch.cat(presence).mean(0).cpu() if presence else None
    if not conditioned:
        names = [f"source_{i + 1}" for i in range(outs[0][0].shape[1])]
        idx = None
    elif classes == "auto":
        if presence_mean is None:
            raise DataError("--classes auto needs a model with a presence head (sgn, sct or cag); name the classes")
        chosen = [i for i, p in enumerate(presence_mean.tolist()) if p > 0.5] or [int(presence_mean.argmax())]
        names, idx = [class_names[i] for i in chosen], chosen
    else:
        unknown = [c for c in classes if c not in class_names]
        if unknown:
            raise DataError(f"unknown class {', '.join(unknown)}; this model knows: {', '.join(class_names)}")
        names, idx = list(classes), [class_names.index(c) for c in classes]
    est_windows = []
    for logits, stft in outs:
        if idx is not None:
            sel = torch.tensor(idx, device=device).expand(logits.shape[0], -1)  # (b, N) same classes for every window
            if generative:  # `logits` holds the windows' log-magnitudes: sample the N sources
                est_windows.append(frontend.apply_masks(model.separation_masks(logits, sel)[0], stft))
                continue
            logits = select_masks(logits, sel)
        est_windows.append(frontend.apply_masks(torch.sigmoid(logits), stft))  # (b, N, size)
    est = torch.cat(est_windows).cpu().numpy() / gain[:, :, None]          # (W, N, size), undo the gain
    if not conditioned and est.shape[1] > 1:
        est = align_slots(est, hop)                                        # keep each slot one instrument
    win = np.sin(np.pi * np.arange(size) / size) ** 2                     # periodic Hann: shifted by hop, sums to 1
    total = np.zeros((est.shape[1], hop * (len(est) + 1) + size))
    for w in range(len(est)):
        total[:, w * hop: w * hop + size] += est[w] * win                 # overlap-add
    total = total[:, hop: hop + len(wave)]                                # drop the padding
    pres = {class_names[i]: float(p) for i, p in enumerate(presence_mean.tolist())} if presence_mean is not None else {}
    return {n: total[k].astype(np.float32) for k, n in enumerate(names)}, pres


def train_level(state: dict) -> float:
    """The median training-mixture RMS a checkpoint recorded, else :data:`TRAIN_RMS`."""
    import json

    try:
        level = json.loads(state.get("extra", "{}")).get("train_mix_rms")
    except (TypeError, ValueError):
        level = None
    return float(level) if level else TRAIN_RMS


def separate_file(in_path: str | os.PathLike, checkpoint: str | os.PathLike, out_dir: str | os.PathLike,
                  classes: Sequence[str] | str = "auto", device: str = "auto", figure: bool = True,
                  sampling_steps: int | None = None) -> list[Path]:
    """`python -m sgn_teach separate`: write OUT/<stem>_<class>.wav at the input's rate (+ a figure).

    `sampling_steps`: DDIM steps of a diffusion checkpoint (default: the model's own).

    Everything is computed before anything is written, and each file is written
    atomically, so a bad input leaves no partial output.
    """
    dev = get_device(device)
    model, cfg, class_names, _, state = load_checkpoint(checkpoint, device=dev)
    if sampling_steps is not None:
        if not getattr(model, "generative", False):
            raise DataError("--sampling-steps applies to diffusion checkpoints only")
        model.sampling_steps = min(int(sampling_steps), len(model.alpha_bar))
    wave_native, sr_in = load_audio(in_path, sample_rate=None, mono=True)
    wave = resample(wave_native, sr_in, cfg.audio.sample_rate)
    target_rms = train_level(state)
    estimates, presence = separate_wave(model, wave, cfg.audio, class_names, classes, device=dev,
                                        target_rms=target_rms)
    out = Path(out_dir)
    stem = Path(in_path).stem
    rendered = {name: resample(est, cfg.audio.sample_rate, sr_in)[: len(wave_native)] for name, est in estimates.items()}
    fig = None
    if figure:
        from .viz import plot_spectrograms

        fe = SpectralFrontEnd(cfg.audio)
        mags = [fe.stft(torch.from_numpy(w)).abs() for w in [wave, *estimates.values()]]
        fig = plot_spectrograms(mags, ["input", *estimates.keys()], sample_rate=cfg.audio.sample_rate)
    written = []
    for name, est in rendered.items():
        written.append(save_audio(out / f"{stem}_{name}.wav", est, sr_in))
    if fig is not None:
        with atomic_path(out / f"{stem}_separation.png") as tmp:
            fig.savefig(tmp, dpi=90, bbox_inches="tight", format="png")
        written.append(out / f"{stem}_separation.png")
    if presence:
        print("presence: " + ", ".join(f"{c} {p:.2f}" for c, p in sorted(presence.items(), key=lambda kv: -kv[1])))
    return written
