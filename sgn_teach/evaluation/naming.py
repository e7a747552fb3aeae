"""Naming the sources, as a user meets a separator: nobody tells it which instruments play.

* **SGN names them itself** with its presence head: class i is present when
  p_i > t_i, a threshold per class **calibrated on validation mixtures**
  (:func:`calibrate_presence`; training stores it in the model's buffer
  `presence_thresholds`, so ``--classes auto`` uses it).
* **SoP has no classes**: its separated slots are named afterwards by a small
  instrument classifier (:class:`~sgn_teach.models.classifier.InstrumentClassifier`,
  trained on the training clips), the fair "SoP + classifier" comparison
  (:func:`name_slots`).

Scoring named outputs (:func:`sgn_teach.evaluation.evaluate.evaluate` with
``classes="auto"``): a reference whose class was not named gets a silent estimate
(scored at MISSED_DB), and every class named that is not in the mixture is
counted as a false positive.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.config import AudioConfig
from ..data import MixDataset, SoloLibrary
from ..models.interface import presence_probabilities
from ..signal.spectral import SpectralFrontEnd

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)
SILENT_SLOT_DB = -20.0  # a slot this far below the mixture's energy holds no source


@torch.no_grad()
def f1_at_thresholds(score: np.ndarray, truth: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """F1 of the decision ``score > t`` for each threshold: score (M,), truth (M,) bool, thresholds (K,) → (K,)
    (0 where nothing is found)."""
    pred = score[None, :] > np.asarray(thresholds, dtype=np.float64)[:, None]  # (K, M): one decision per threshold
    tp = (pred & truth).sum(1)
    fp, fn = (pred & ~truth).sum(1), (~pred & truth).sum(1)
    return np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)


def calibrate_presence(model: torch.nn.Module, library: SoloLibrary, audio_cfg: AudioConfig,
                       counts: tuple[int, ...] = (1, 2, 3), n_mixtures: int = 300, seed: int = 777,
                       device: torch.device | str = "cpu", batch_size: int = 25) -> list[float]:
    """Per-class presence thresholds that maximise each class's F1 on `library` (a validation split).

    The presence probabilities of `n_mixtures` seeded mixtures (an equal share of each source count
    in `counts`) are compared with the classes really in them; for class c the threshold of
    :data:`THRESHOLD_GRID` with the best F1 is kept (ties: the one nearest 0.5). Returns C floats.
    """
    device = torch.device(device)
    frontend = SpectralFrontEnd(audio_cfg).to(device)
    was_training = model.training
    model.eval()
    probs, labels = [], []
    try:
        for n in counts:
            if n > len(library.by_class):
                continue
            ds = MixDataset(library, audio_cfg, n_sources=n, n_mixtures=max(n_mixtures // len(counts), 1),
                            seed=seed + n)
            for batch in torch.utils.data.DataLoader(ds, batch_size=batch_size):
                log_mag = frontend.analyse(batch["mixture"].to(device))["log_mag"]
                probs.append(presence_probabilities(model, log_mag).cpu())   # (b, C)
                labels.append(batch["labels"] > 0.5)                         # (b, C)
    finally:
        model.train(was_training)
    p, y = torch.cat(probs).numpy(), torch.cat(labels).numpy()             # (M, C) each
    out = []
    for c in range(p.shape[1]):
        f1 = f1_at_thresholds(p[:, c], y[:, c], THRESHOLD_GRID)
        best = np.flatnonzero(f1 >= f1.max() - 1e-12)
        out.append(float(THRESHOLD_GRID[best[np.argmin(np.abs(THRESHOLD_GRID[best] - 0.5))]]))
    return out


@torch.no_grad()
def name_slots(classifier: torch.nn.Module, estimates: torch.Tensor, mixture: torch.Tensor) -> torch.Tensor:
    """Name each output slot: estimates (B, S, L), mixture (B, L) → classes (B, S) long (−1: an empty slot).

    A slot more than :data:`SILENT_SLOT_DB` below the mixture holds no source; each class is given
    to at most one slot of a mixture (the most confident; the first on a tie).
    """
    B, S, L = estimates.shape
    logits = classifier(estimates.reshape(B * S, L))                              # (B·S, L) → (B·S, C)
    conf, cls = torch.softmax(logits.float(), -1).reshape(B, S, -1).max(-1)       # (B, S) each
    energy = estimates.pow(2).mean(-1) / (mixture.pow(2).mean(-1, keepdim=True) + 1e-12)  # (B, S)
    cls = torch.where(10 * torch.log10(energy + 1e-12) < SILENT_SLOT_DB, torch.full_like(cls, -1), cls)
    for b in range(B):
        for s in range(S):
            rivals = [o for o in range(S) if o != s and cls[b, o] == cls[b, s]]
            if cls[b, s] >= 0 and any(conf[b, o] > conf[b, s] or (conf[b, o] == conf[b, s] and o < s) for o in rivals):
                cls[b, s] = -1
    return cls


def named_estimates(slot_classes: torch.Tensor, estimates: torch.Tensor, class_idx: torch.Tensor) -> torch.Tensor:
    """Named slots → one estimate per reference: (B, S), (B, S, L), the references' classes (B, N) →
    (B, N, L), silence where no slot has the reference's class."""
    hit = (slot_classes[:, None, :] == class_idx[:, :, None]).to(estimates.dtype)  # (B, N, S): slot s is reference n
    return torch.einsum("bns,bsl->bnl", hit, estimates)


__all__ = ["SILENT_SLOT_DB", "THRESHOLD_GRID", "calibrate_presence", "f1_at_thresholds", "name_slots",
           "named_estimates"]
