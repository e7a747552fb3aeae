"""One example mixture through a class-conditioned separator: pick two instruments, mix, separate.

Plain functions that return arrays, so the computation behind notebook 04's
explorer can be tested without a browser: :func:`mix_pair` (two solo crops → a
mixture), :func:`separate_example` (the model's view of that mixture:
spectrogram, assignment maps, presence, masks, estimates) and
:func:`assignment_maps` (A (P, C) → one (F, T) map per class). The figures drawn
from them are in :mod:`sgn_teach.viz.explorer`; the ipywidgets panel in
:mod:`sgn_teach.widgets.explorer`.

Shapes: C classes, F × T the warped grid, P = (F/p)·(T/p) patches of p × p,
L samples.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from ..core.config import AudioConfig
from ..data import MixDataset, SoloLibrary, mix_features
from ..models import select_masks
from ..models.interface import masks_for
from ..signal.spectral import SpectralFrontEnd
from ..viz.plots import to_numpy


def mix_pair(library: SoloLibrary, audio_cfg: AudioConfig, class_a: str, class_b: str,
             seed: int = 0) -> dict[str, Any]:
    """Mix one solo crop of `class_a` with one of `class_b`, as mix-and-separate does (each ÷ 2).

    The clip of each class and the crop offset are drawn from ``np.random.default_rng(seed)``,
    so a (library, classes, seed) triple always gives the same mixture.

    Returns:
        dict with `mixture` (L,) float32, `sources` (2, L) float32 (already ÷ 2, they sum to
        the mixture), `names` [class_a, class_b] and `clips` (the two clips' relative paths).
    """
    if class_a == class_b:
        raise ValueError(f"pick two different instruments (both are {class_a!r})")
    clips = []
    for name in (class_a, class_b):
        if name not in library.classes:
            raise ValueError(f"{name!r} is not a class of this library ({', '.join(library.classes)})")
        ci = library.classes.index(name)
        if ci not in library.by_class:
            raise ValueError(f"the {library.split!r} split of {library.root} has no clip of {name!r}")
        clips.append(library.by_class[ci])
    rng = np.random.default_rng(seed)
    # MixDataset's crop: a random n_samples window that is not near-silent (zero-padded if the clip is short)
    cropper = MixDataset(library, audio_cfg, n_sources=1, n_mixtures=1)
    crops, rels = [], []
    for choices in clips:
        clip = choices[int(rng.integers(len(choices)))]
        crops.append(cropper.crop(library.load(clip, audio_cfg.sample_rate), rng))
        rels.append(clip.rel)
    sources = np.stack(crops).astype(np.float32) / 2  # (2, L): each ÷ N, N = 2
    return {"mixture": sources.sum(axis=0), "sources": sources, "names": [class_a, class_b], "clips": rels}


def assignment_maps(assign: torch.Tensor | np.ndarray, grid: tuple[int, int], patch_size: int = 1) -> np.ndarray:
    """Grouping assignment A (P, C) → one map per class (C, F/p·s, T/p·s).

    Args:
        assign: A of one mixture, (P, C); patches are in frequency-major order
            (patch p = f_idx · T/p + t_idx, as `PatchEmbedding` flattens them).
        grid: the patch grid (F/p, T/p).
        patch_size: upsampling factor s (nearest neighbour): patch_size gives maps on the
            full (F, T) grid, 1 keeps the patch grid.
    """
    A = to_numpy(assign)
    n_f, n_t = grid
    if A.ndim != 2 or A.shape[0] != n_f * n_t:
        raise ValueError(f"assign must be (P, C) with P = {n_f}·{n_t}, got {A.shape}")
    maps = A.T.reshape(A.shape[1], n_f, n_t)  # (P, C) → (C, P) → (C, F/p, T/p): row-major = frequency-major
    return maps.repeat(patch_size, axis=1).repeat(patch_size, axis=2)  # each patch becomes a p × p block


@torch.no_grad()
def separate_example(model: torch.nn.Module, library: SoloLibrary, audio_cfg: AudioConfig, class_a: str,
                     class_b: str, seed: int = 0, classes: Sequence[str] | None = None) -> dict[str, Any]:
    """Mix `class_a` + `class_b` (:func:`mix_pair`) and run a class-conditioned model on the mixture.

    Args:
        model: an `SGN` (any variant) whose grid matches `audio_cfg`; it is run in eval mode.
        classes: the model's class list (class i = classes[i]); default the library's.

    Returns:
        dict of NumPy arrays (and a few names):
          `class_names` (the model's C classes), `names` [class_a, class_b], `class_idx` (2,),
          `mixture` (L,), `sources` (2, L), `estimates` (2, L),
          `log_mag` (F, T) network input, `mag_warped` (F, T), `source_mag_warped` (2, F, T),
          `target` (2, F, T) ideal binary masks, `masks_all` (C, F, T) sigmoid(mask_logits),
          `masks` (2, F, T) the masks of the two classes, `presence` (C,) probabilities or None,
          `assign` (C, F/p, T/p) assignment maps on the patch grid or None, `patch_size`,
          `sample_rate`.
    """
    class_names = list(classes) if classes is not None else list(library.classes)
    for name in (class_a, class_b):
        if name not in class_names:
            raise ValueError(f"{name!r} is not a class of the model ({', '.join(class_names)})")
    pair = mix_pair(library, audio_cfg, class_a, class_b, seed)
    device = next(model.parameters()).device
    frontend = SpectralFrontEnd(audio_cfg).to(device)
    mixture = torch.from_numpy(pair["mixture"])[None].to(device)   # (1, L)
    sources = torch.from_numpy(pair["sources"])[None].to(device)   # (1, 2, L)
    feats = mix_features(mixture, sources, frontend)
    was_training = model.training
    model.eval()
    try:
        sep = masks_for(model, feats["log_mag"])                   # every class: masks (1, C, F, T)
    finally:
        model.train(was_training)
    class_idx = torch.tensor([[class_names.index(class_a), class_names.index(class_b)]], device=device)  # (1, 2)
    masks = select_masks(sep.masks, class_idx)                     # (1, C, F, T) → the two classes (1, 2, F, T)
    estimates = frontend.apply_masks(masks, feats["stft"])         # (1, 2, L)
    assign = None
    if sep.assign is not None:
        assign = assignment_maps(sep.assign[0], model.patch_embed.grid)  # (C, F/p, T/p)
    return {
        "class_names": class_names, "names": pair["names"], "clips": pair["clips"],
        "class_idx": class_idx[0].cpu().numpy(),
        "mixture": pair["mixture"], "sources": pair["sources"], "estimates": to_numpy(estimates[0]),
        "log_mag": to_numpy(feats["log_mag"][0, 0]), "mag_warped": to_numpy(feats["mag_warped"][0, 0]),
        "source_mag_warped": to_numpy(feats["source_mag_warped"][0]), "target": to_numpy(feats["target_binary"][0]),
        "masks_all": to_numpy(sep.masks[0]), "masks": to_numpy(masks[0]),
        "presence": None if sep.presence is None else to_numpy(sep.presence[0]),
        "assign": assign, "patch_size": getattr(model.cfg, "patch_size", 1),
        "sample_rate": audio_cfg.sample_rate,
    }


__all__ = ["mix_pair", "assignment_maps", "separate_example"]
