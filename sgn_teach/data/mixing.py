"""Mix-and-separate (Sound of Pixels): training mixtures made from solo clips.

Mixture i: pick N *distinct* classes, one solo clip of each, a random crop of
n_samples from each, divide each source by N and add them up. The network sees
only the mixture; the solo crops are the ground truth, so any library of solo
clips becomes supervised training data for free.

Mixture i is a function of (library, split, N, seed, i) alone — it is drawn from
``np.random.default_rng([seed, i])`` — so it is the same in every process, in
every DataLoader worker and in any access order, and an evaluation can be
repeated exactly.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..core.config import AudioConfig, AugmentConfig
from ..core.errors import DataError
from ..signal.audio import fit_length
from ..signal.spectral import SpectralFrontEnd
from ..signal.targets import mask_target, sop_weight
from .augment import apply_augmentation, draw_params, read_length
from .library import SoloLibrary

CROP_TRIES = 8            # offsets tried per source ...
MIN_CROP_RMS_RATIO = 0.1  # ... until the crop's RMS is at least this fraction of the whole clip's


def mix_features(mixture: torch.Tensor, sources: torch.Tensor, frontend: SpectralFrontEnd,
                 mask: str = "binary") -> dict[str, torch.Tensor]:
    """Spectral inputs and targets of a batch of mixtures, computed on the tensors' device.

    Args:
        mixture: (B, L) mixture waves.
        sources: (B, N, L) source waves (already divided by N, summing to the mixture).
        frontend: a :class:`SpectralFrontEnd` on the same device.
        mask: which target is `target`: "binary" or "ratio".

    Returns:
        dict with `stft` (B, F_lin, T) complex, `mag` (B, 1, F_lin, T), `mag_warped`,
        `log_mag` and `weight` (B, 1, F, T), `source_mag_warped`, `target`,
        `target_binary` and `target_ratio` (B, N, F, T).
    """
    if mixture.dim() != 2 or sources.dim() != 3 or sources.shape[0] != mixture.shape[0]:
        raise ValueError(f"expected mixture (B, L) and sources (B, N, L), got {tuple(mixture.shape)} "
                         f"and {tuple(sources.shape)}")
    out = frontend.analyse(mixture)                      # stft, mag, mag_warped, log_mag
    src_w = frontend.warped_magnitude(sources)           # (B, N, L) → (B, N, F, T)
    mix_w = out["mag_warped"]                            # (B, 1, F, T), broadcasts over N
    out["source_mag_warped"] = src_w
    out["target_binary"] = mask_target(src_w, mix_w, kind="binary")
    out["target_ratio"] = mask_target(src_w, mix_w, kind="ratio")
    out["target"] = out[f"target_{mask}"] if mask in ("binary", "ratio") else mask_target(src_w, mix_w, kind=mask)
    out["weight"] = sop_weight(mix_w)
    return out


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


class MixDataset(Dataset):
    """Synthetic mixtures of N solo clips of distinct classes (SoP's mix-and-separate).

    Args:
        library: the solo clips to draw from (one split).
        audio_cfg: sample rate and crop length (n_samples); also the spectral front-end.
        n_sources: N, the number of sources per mixture.
        n_mixtures: the dataset's length (mixture i for i < n_mixtures).
        seed: mixture i is drawn from ``np.random.default_rng([seed, i])``.
        spectra: also return the spectral fields of :func:`mix_features` (batch axis removed).
        mask: "binary" or "ratio": which target is `target`.
        augment: source augmentation (:mod:`sgn_teach.data.augment`) for training; None or
            disabled: plain crops (evaluation). Its draws come from a second generator,
            ``default_rng([seed, i, 1])``, so the clips and crops of mixture i stay the
            same with or without it (up to the longer crop a pitch shift reads).
        defer_augment: with `augment`, return the raw crops (`raw` (N, L_raw)) and the
            draws (`aug`, a dict of tensors) instead of finished sources, so that the
            training loop runs :func:`finish_batch` on the device for a whole batch.

    Item i is a dict: `mixture` (L,) float32, `sources` (N, L) (each already ÷ N),
    `class_idx` (N,) long, `labels` (C,) float multi-hot of the classes present.
    """

    def __init__(self, library: SoloLibrary, audio_cfg: AudioConfig, n_sources: int = 2, n_mixtures: int = 1000,
                 seed: int = 0, spectra: bool = False, mask: str = "binary",
                 augment: AugmentConfig | None = None, defer_augment: bool = False) -> None:
        if mask not in ("binary", "ratio"):
            raise ValueError(f"mask must be 'binary' or 'ratio', not {mask!r}")
        if n_sources < 1 or n_mixtures < 1:
            raise ValueError(f"n_sources and n_mixtures must be ≥ 1 (got {n_sources}, {n_mixtures})")
        self.library = library
        self.audio_cfg = audio_cfg
        self.n_sources = n_sources
        self.n_mixtures = n_mixtures
        self.seed = seed
        self.spectra = spectra
        self.mask = mask
        self.augment = augment if augment is not None and augment.enabled else None
        self.defer_augment = defer_augment and self.augment is not None
        self.n_classes = len(library.classes)
        self.available = library.classes_with_clips    # class indices that have clips in this split
        if len(self.available) < n_sources:
            raise DataError(f"mixtures of {n_sources} distinct classes need {n_sources} classes with clips, but the "
                            f"{library.split!r} split of {library.root} has clips of only {len(self.available)} "
                            f"({', '.join(library.classes[i] for i in self.available) or 'none'})")
        self.frontend = SpectralFrontEnd(audio_cfg) if spectra else None

    def __len__(self) -> int:
        return self.n_mixtures

    def crop(self, wave: np.ndarray, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """A crop of n samples (default n_samples; zero-padded if the clip is shorter) that is not near-silent."""
        n = n or self.audio_cfg.n_samples
        if len(wave) <= n:
            return fit_length(wave, n)
        floor = MIN_CROP_RMS_RATIO * _rms(wave)
        best, best_rms = None, -1.0
        for _ in range(CROP_TRIES):
            offset = int(rng.integers(0, len(wave) - n + 1))
            crop = wave[offset: offset + n]
            r = _rms(crop)
            if r >= floor:
                return crop
            if r > best_rms:
                best, best_rms = crop, r
        return best  # every try was quiet: keep the loudest

    def draw(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The class indices (N,) and plain source crops (N, L) of mixture i, before division by N."""
        class_idx, crops, _ = self._draw(i)
        return class_idx, crops

    def _draw(self, i: int) -> tuple[np.ndarray, np.ndarray, list[dict[str, np.ndarray]] | None]:
        """Classes (N,), crops (N, L) — or (N, L_raw) raw crops with augmentation — and the augmentation draws."""
        rng = np.random.default_rng([self.seed, i])
        n, sr = self.audio_cfg.n_samples, self.audio_cfg.sample_rate
        class_idx = rng.choice(self.available, size=self.n_sources, replace=False)
        aug_rng = np.random.default_rng([self.seed, i, 1]) if self.augment is not None else None
        crops, params = [], []
        for c in class_idx:
            clips = self.library.by_class[int(c)]
            clip = clips[int(rng.integers(len(clips)))]
            wave = self.library.load(clip, sr)
            if aug_rng is None:
                crops.append(self.crop(wave, rng))
                continue
            p = draw_params(aug_rng, self.augment, sr)
            need = int(np.ceil(n * float(p["speed"]))) + 1  # a faster read needs a longer crop
            crops.append(fit_length(self.crop(wave, rng, need), read_length(n, self.augment)))
            params.append(p)
        return class_idx.astype(np.int64), np.stack(crops), (params or None)   # (N,), (N, L or L_raw)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not 0 <= i < self.n_mixtures:
            raise IndexError(f"mixture {i} out of range 0..{self.n_mixtures - 1}")
        class_idx, crops, params = self._draw(i)
        labels = torch.zeros(self.n_classes)
        labels[torch.from_numpy(class_idx)] = 1.0
        item: dict = {"class_idx": torch.from_numpy(class_idx), "labels": labels}
        if params is not None:
            aug = {k: torch.from_numpy(np.stack([p[k] for p in params])) for k in params[0]}  # N draws → (N, …)
            raw = torch.from_numpy(crops.astype(np.float32))
            if self.defer_augment:
                item.update(raw=raw, aug=aug)
                return item
            crops = self.finish(raw, aug).numpy()
        sources = torch.from_numpy(crops.astype(np.float32) / self.n_sources)   # (N, L), each ÷ N
        item.update(mixture=sources.sum(dim=0), sources=sources)
        if self.spectra:
            feats = mix_features(item["mixture"][None], sources[None], self.frontend, self.mask)  # add B = 1
            item.update({k: v[0] for k, v in feats.items()})  # and remove it again
        return item

    def finish(self, raw: torch.Tensor, aug: dict[str, torch.Tensor]) -> torch.Tensor:
        """Augmented sources, not yet ÷N: raw crops (..., N, L_raw) + draws (..., N, …) → (..., N, L)."""
        return apply_augmentation(raw, aug, self.augment, self.audio_cfg.n_samples, self.audio_cfg.sample_rate)


def finish_batch(batch: dict, dataset: MixDataset, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
    """Sources (B, N, L) (÷N) and their mixture (B, L) on `device`, for a collated batch of `dataset`.

    With deferred augmentation the augmentation of the whole batch runs here, on
    the device; otherwise the sources are moved there as they are. With a varying
    number of sources the padding sources stay silent (they sum to nothing).
    """
    if "raw" in batch:
        aug = {k: v.to(device, non_blocking=True) for k, v in batch["aug"].items()}
        raw = batch["raw"].to(device, non_blocking=True)  # (B, N, L_raw)
        # each source ÷N — its own mixture's N where the counts vary (MixedCountMixDataset): (B,) → (B, 1, 1)
        n = batch["n"].to(device)[:, None, None].to(raw.dtype) if "n" in batch else raw.shape[1]
        sources = dataset.finish(raw, aug) / n
    else:
        sources = batch["sources"].to(device, non_blocking=True)
    return sources, sources.sum(1)  # the mixing itself: (B, N, L) → (B, L)


class MixedCountMixDataset(Dataset):
    """Mixtures of a varying number of sources, every count in every batch (the paper's flexible N, §IV-C).

    Mixture i has N_i sources, N_i drawn from `counts` by ``default_rng([seed, i, 2])`` (repeat a count
    to make it likelier: (1, 2, 2, 3) gives a quarter of solos, half duets, a quarter of trios), and is
    item i of ``MixDataset(..., n_sources=N_i)``. So that a batch stacks, every item is padded to
    max(counts) sources: the padding sources are silent and their class is −1 (the losses skip them),
    and `n` says how many are real. Training on it teaches the presence head that most classes are
    absent whatever the count, and the masks to share a mixture's energy one, two or three ways.
    """

    def __init__(self, library: SoloLibrary, audio_cfg: AudioConfig, counts: tuple[int, ...], n_mixtures: int,
                 seed: int = 0, **kwargs) -> None:
        if not counts:
            raise ValueError("counts must list at least one source count")
        self.counts = tuple(int(n) for n in counts)
        self.max_n, self.seed, self.n_mixtures = max(self.counts), seed, n_mixtures
        self.parts = {n: MixDataset(library, audio_cfg, n_sources=n, n_mixtures=n_mixtures, seed=seed, **kwargs)
                      for n in sorted(set(self.counts))}
        first = next(iter(self.parts.values()))
        self.augment, self.audio_cfg, self.n_classes = first.augment, first.audio_cfg, first.n_classes

    def count_of(self, i: int) -> int:
        """N_i, the number of sources of mixture i."""
        return self.counts[int(np.random.default_rng([self.seed, i, 2]).integers(len(self.counts)))]

    def __len__(self) -> int:
        return self.n_mixtures

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        n = self.count_of(i)
        item = dict(self.parts[n][i])
        pad = self.max_n - n
        item["n"] = torch.tensor(n)
        if pad:
            item["class_idx"] = torch.cat([item["class_idx"], torch.full((pad,), -1, dtype=torch.long)])
            for key in ("raw", "sources"):  # silent padding sources: (N_i, L) → (max N, L)
                if key in item:
                    item[key] = torch.cat([item[key], item[key].new_zeros(pad, item[key].shape[-1])])
            if "aug" in item:  # the padding sources get the first source's draws (they change nothing: silence)
                item["aug"] = {k: torch.cat([v, v[:1].expand(pad, *v.shape[1:])]) for k, v in item["aug"].items()}
        return item

    def finish(self, raw: torch.Tensor, aug: dict[str, torch.Tensor]) -> torch.Tensor:
        return next(iter(self.parts.values())).finish(raw, aug)


def mix_batch(library: SoloLibrary, audio_cfg: AudioConfig, indices: range | list[int], n_sources: int = 2,
              seed: int = 0) -> dict[str, torch.Tensor]:
    """Mixtures `indices` of ``MixDataset(library, audio_cfg, n_sources, seed=seed)`` stacked into a batch.

    Returns `mixture` (B, L), `sources` (B, N, L), `class_idx` (B, N), `labels` (B, C).
    """
    indices = list(indices)
    ds = MixDataset(library, audio_cfg, n_sources=n_sources, n_mixtures=max(indices) + 1, seed=seed)
    items = [ds[i] for i in indices]
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}  # B items → one (B, …) tensor per key
