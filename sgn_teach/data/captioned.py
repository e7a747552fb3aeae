"""Weakly labelled training data: pairs of captioned mixtures and their mixture of mixtures.

Item i draws four solo crops of four distinct classes (a seeded
:class:`~sgn_teach.data.MixDataset` with N = 4, so item i is a function of
(library, seed, i) alone) and makes

    x1 = (s0 + s1) / 2,   x2 = (s2 + s3) / 2      two 2-source mixtures (the level of a 2-source test mixture)
    mix = (x1 + x2) / 2 = (s0 + s1 + s2 + s3) / 4  their mixture of mixtures (the level of a 4-source one)

with one caption each ("a cello and a flute playing together", written with
seeded synonyms and templates), and a flag `labelled`: whether this item's
solo sources may be used (a share `sup_fraction` of the items, drawn from
(seed, i) — 1.0 for the supervised model, 0.05 for the semi-supervised one).
The weak losses read only the mixtures and the captions.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from .captions import make_caption
from .mixing import MixDataset


class CaptionedPairs(Dataset):
    """Item i: `sources` (4, L) each ÷4 (so their sum is the mixture of mixtures), `class_idx` (4,),
    `caption_1` / `caption_2` (str, naming classes 0–1 and 2–3), `labelled` (bool tensor)."""

    def __init__(self, mixes: MixDataset, sup_fraction: float = 0.0) -> None:
        if mixes.n_sources != 4:
            raise ValueError(f"captioned pairs need a MixDataset of 4 sources, not {mixes.n_sources}")
        self.mixes = mixes
        self.sup_fraction = sup_fraction
        self.classes = mixes.library.classes

    def __len__(self) -> int:
        return len(self.mixes)

    def captions(self, i: int, class_idx: np.ndarray) -> tuple[str, str]:
        """The two captions of item i (seeded by (seed, i, 3))."""
        rng = np.random.default_rng([self.mixes.seed, i, 3])
        names = [self.classes[int(c)] for c in class_idx]
        return make_caption(names[:2], rng), make_caption(names[2:], rng)

    def labelled(self, i: int) -> bool:
        """Does item i come with its solo sources? (a fixed share `sup_fraction`, drawn from (seed, i, 2))."""
        if self.sup_fraction >= 1.0:
            return True
        return bool(np.random.default_rng([self.mixes.seed, i, 2]).random() < self.sup_fraction)

    def __getitem__(self, i: int) -> dict:
        item = self.mixes[i]
        c1, c2 = self.captions(i, item["class_idx"].numpy())
        return {"sources": item["sources"], "class_idx": item["class_idx"], "caption_1": c1, "caption_2": c2,
                "labelled": torch.tensor(self.labelled(i))}


def split_pairs(sources: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sources (B, 4, L) ÷4 → x1 (B, L), x2 (B, L) and the mixture of mixtures (B, L).

    x1 = (s0 + s1)/2 = 2·(sources[:, 0] + sources[:, 1]) undoes the ÷4 into a ÷2 mixture; mix = (x1 + x2)/2.
    """
    x1 = 2 * sources[:, :2].sum(1)
    x2 = 2 * sources[:, 2:].sum(1)
    return x1, x2, 0.5 * (x1 + x2)


__all__ = ["CaptionedPairs", "split_pairs"]
