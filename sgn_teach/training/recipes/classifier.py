"""The instrument classifier that names SoP's outputs (`python -m sgn_teach train --model classifier`).

It trains on the same crops as the audio–text embedding (:class:`.audio_text.SoloCrops`:
a solo clip's crop, in half of them with a second instrument 8–20 dB below, at a random
gain, every other step half as long, with timbre augmentation) and learns their class
with cross-entropy. Validation: the share of seeded val crops it names right.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...data import MixDataset
from ...hub.build import build_model
from .audio_text import SoloCrops
from .base import Prepared, Recipe, StepOutput, copy_config, libraries


class ClassifierRecipe(Recipe):
    """The instrument classifier (see the module docstring)."""

    kind = "classifier"
    part_names = ("total", "accuracy")

    def prepare(self, cfg, data_root, soundfonts, validate, device) -> Prepared:
        cfg = copy_config(cfg)
        lib, val = libraries(cfg, data_root, soundfonts, validate, min_classes=2)
        cfg.model.n_classes = len(lib.classes)
        clips = [c.path for c in lib.clips] + ([c.path for c in val.clips] if val is not None else [])
        return Prepared(cfg, lib.classes, lib, val, clips)

    def build(self, prep, device, resuming) -> torch.nn.Module:
        return build_model(prep.cfg.model, prep.cfg.audio).to(device)

    def dataset(self, prep) -> SoloCrops:
        t = prep.cfg.train
        return SoloCrops(MixDataset(prep.train_lib, prep.cfg.audio, n_sources=2, n_mixtures=t.steps * t.batch_size,
                                    seed=t.seed, augment=prep.cfg.augment), t.batch_size)

    def step(self, model, step_model, batch, prep, device, step, amp: bool = False) -> StepOutput:
        logits = step_model(batch["wave"].to(device))                      # (B, C)
        labels = batch["label"].to(device)
        loss = F.cross_entropy(logits.float(), labels)
        accuracy = (logits.argmax(-1) == labels).float().mean()
        return StepOutput(loss, {"total": loss.detach(), "accuracy": accuracy.detach()})

    @torch.no_grad()
    def validate(self, model, prep, device) -> dict[str, float]:
        ds = MixDataset(prep.val_lib, prep.cfg.audio, n_sources=1, n_mixtures=prep.cfg.train.val_mixtures, seed=7)
        items = [ds[i] for i in range(len(ds))]
        wave = torch.stack([it["mixture"] for it in items]).to(device)     # (M, L) solo crops
        labels = torch.stack([it["class_idx"][0] for it in items]).to(device)
        return {"accuracy": float((model(wave).argmax(-1) == labels).float().mean())}


__all__ = ["ClassifierRecipe"]
