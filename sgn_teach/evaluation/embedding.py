"""How well an audio–text embedding names instruments (notebook 08's model card and its similarity figure).

Both work with any embedding that has ``audio_features(wave (B, L)) → (B, E)``,
``text_features(list of str) → (K, E)`` (unit vectors) and ``sample_rate``: the
course's own (:class:`sgn_teach.models.audio_text.CourseAudioText`) or CLAP.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.config import AudioConfig
from ..data import MixDataset, SoloLibrary
from ..data.captions import entity_prompt


@torch.no_grad()
def prompt_accuracy(model: torch.nn.Module, library: SoloLibrary, n_crops: int = 110, seed: int = 7,
                       n_samples: int | None = None, device: torch.device | str = "cpu") -> float:
    """Share of `n_crops` seeded solo crops whose nearest class prompt ("the sound of a …") is their class.

    Same-class accuracy over the library's C classes — the classes the embedding was trained on; on the
    clips of another SoundFont it measures how it carries to timbres it never heard. (Earlier versions called
    this "zero-shot accuracy"; no class here is unseen, so it was not zero-shot.)
    """
    cfg = AudioConfig(**{**model.audio_cfg.__dict__, "n_samples": n_samples or model.audio_cfg.n_samples})
    ds = MixDataset(library, cfg, n_sources=1, n_mixtures=n_crops, seed=seed)
    text = model.text_features([entity_prompt(c) for c in library.classes])             # (C, E)
    hits = 0
    for start in range(0, n_crops, 32):
        items = [ds[i] for i in range(start, min(start + 32, n_crops))]
        wave = torch.stack([it["mixture"] for it in items]).to(device)                  # (b, L)
        pred = (model.audio_features(wave) @ text.T).argmax(1).cpu()
        hits += int((pred == torch.stack([it["class_idx"][0] for it in items])).sum())
    return hits / n_crops


@torch.no_grad()
def similarity_matrix(model, library: SoloLibrary, crops_per_class: int = 4, seed: int = 0,
                      n_samples: int | None = None, device: torch.device | str = "cpu") -> np.ndarray:
    """Mean cosine similarity of each class's audio (rows) with each class's prompt (columns): (C, C).

    Audio: `crops_per_class` seeded crops of every class of `library`; text: "the sound of a <class>".
    Works with any embedding that has ``audio_features`` / ``text_features`` / ``sample_rate``.
    """
    n = n_samples or 32767
    rng = np.random.default_rng(seed)
    text = model.text_features([entity_prompt(c) for c in library.classes])
    rows = []
    for c in range(len(library.classes)):
        clips = library.by_class.get(c, [])
        waves = []
        for k in range(crops_per_class):
            wave = library.load(clips[int(rng.integers(len(clips)))], model.sample_rate)
            start = int(rng.integers(0, max(len(wave) - n, 0) + 1))
            waves.append(torch.from_numpy(np.pad(wave[start:start + n], (0, max(0, n - len(wave[start:start + n]))))))
        audio = model.audio_features(torch.stack(waves).float().to(device))             # (k, E)
        rows.append((audio @ text.T).mean(0).cpu().numpy())
    return np.stack(rows)


__all__ = ["prompt_accuracy", "similarity_matrix"]
