"""Separate any audio file into one file per class with a trained checkpoint.

Any sample rate, mono or stereo (mixed down), any length: the file is resampled
to the model's rate and cut into windows of one training clip with 50 % overlap;
each window is separated and the estimates are stitched back by overlap-add with
a periodic Hann window (its 50 %-shifted copies sum to exactly 1, so there are no
clicks or level steps at the seams). Estimates are resampled back to the input's
rate.
"""

from __future__ import annotations

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

TARGET_RMS = 0.05  # windows are scaled to about the loudness of training mixtures, then scaled back


def _windows(wave: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Cut (L,) into overlapping windows (W, size) with hop size//2, padding size//2 on each side."""
    hop = size // 2
    padded = np.pad(wave, (hop, hop + size))
    n = 1 + (len(wave) + hop) // hop
    idx = np.arange(size)[None, :] + hop * np.arange(n)[:, None]  # (W, size) sample indices
    return padded[idx], hop


@torch.no_grad()
def separate_wave(model: torch.nn.Module, wave: np.ndarray, audio_cfg, class_names: list[str],
                  classes: Sequence[str] | str = "auto", device: torch.device | str = "cpu",
                  batch_size: int = 8) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Separate a mono wave at the model's rate.

    Args:
        wave: (L,) mono at audio_cfg.sample_rate.
        classes: a list of class names, or "auto" to keep the classes whose
            presence probability (averaged over windows) exceeds 0.5 (at least the top one).

    Returns:
        ({name: (L,) estimate}, {class: mean presence probability})
    """
    from .models import select_masks

    device = torch.device(device)
    frontend = SpectralFrontEnd(audio_cfg).to(device)
    size = audio_cfg.n_samples
    frames, hop = _windows(wave, size)                                    # (W, size)
    rms = np.sqrt(np.mean(frames**2, axis=1, keepdims=True)) + 1e-8
    gain = np.minimum(TARGET_RMS / rms, 100.0)                            # (W, 1): quiet windows are not blown up
    x = torch.from_numpy((frames * gain).astype(np.float32)).to(device)
    conditioned = getattr(model, "class_conditioned", False)
    outs, presence = [], []
    for chunk in x.split(batch_size):
        a = frontend.analyse(chunk)
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
            logits = select_masks(logits, sel)
        est_windows.append(frontend.apply_masks(torch.sigmoid(logits), stft))  # (b, N, size)
    est = torch.cat(est_windows).cpu().numpy() / gain[:, :, None]          # (W, N, size), undo the gain
    win = np.sin(np.pi * np.arange(size) / size) ** 2                     # periodic Hann: shifted by hop, sums to 1
    total = np.zeros((est.shape[1], hop * (len(est) + 1) + size))
    for w in range(len(est)):
        total[:, w * hop: w * hop + size] += est[w] * win                 # overlap-add
    total = total[:, hop: hop + len(wave)]                                # drop the padding
    pres = {class_names[i]: float(p) for i, p in enumerate(presence_mean.tolist())} if presence_mean is not None else {}
    return {n: total[k].astype(np.float32) for k, n in enumerate(names)}, pres


def separate_file(in_path: str | os.PathLike, checkpoint: str | os.PathLike, out_dir: str | os.PathLike,
                  classes: Sequence[str] | str = "auto", device: str = "auto", figure: bool = True) -> list[Path]:
    """`python -m sgn_teach separate`: write OUT/<stem>_<class>.wav at the input's rate (+ a figure).

    Everything is computed before anything is written, and each file is written
    atomically, so a bad input leaves no partial output.
    """
    dev = get_device(device)
    model, cfg, class_names, _, _ = load_checkpoint(checkpoint, device=dev)
    wave_native, sr_in = load_audio(in_path, sample_rate=None, mono=True)
    wave = resample(wave_native, sr_in, cfg.audio.sample_rate)
    estimates, presence = separate_wave(model, wave, cfg.audio, class_names, classes, device=dev)
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
