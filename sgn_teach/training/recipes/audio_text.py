"""The course audio–text embedding (`python -m sgn_teach train --model audio_text`, notebook 08).

Contrastive training, CLIP-style, on solo clips (the shipped embedding: of **one
SoundFont**, csound, that the separator of notebook 08 never trains on — it
trains on fluidr3). Each step takes B crops of solo clips and, for every class,
one random description ("someone playing the fiddle", "a cello solo", …); the
loss asks each crop to pick its class's text among the C texts, and each text
to pick the crops of its class among the B crops (symmetric InfoNCE,
:func:`sgn_teach.losses.contrastive_loss`).

Half of the crops get a little of another instrument mixed in (−20…−8 dB) and
every other step uses half-length crops: the embedding will judge *separated*
estimates, which are never perfectly clean and come in the tiny and small
presets' lengths. Every crop is varied in timbre as the course's source
augmentation does (the preset's ``augment``: pitch ±2 semitones, spectral tilt,
EQ, reverberation), so that the embedding learns the instrument rather than one
SoundFont's samples.

Crop i is a function of (seed, i) and the texts of step s of (seed, s), so the
one loop's resume continues to the same weights. The finished model.pt is a
course embedding: :func:`sgn_teach.hub.audio_text.load_audio_text` reads it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ...data import MixDataset, SoloLibrary
from ...data.captions import describe
from ...evaluation.embedding import prompt_accuracy
from ...hub.audio_text import KIND
from ...hub.build import build_model
from ...losses.text import contrastive_loss
from .base import Prepared, Recipe, StepOutput, copy_config, libraries

LEAK_DB = (8.0, 20.0)   # another instrument this many dB below the main one ...
LEAK_PROB = 0.5         # ... in this share of the crops
MAX_LOGIT_SCALE = float(np.log(100.0))  # CLIP's clamp of the learned temperature


class SoloCrops(Dataset):
    """Item i: `wave` (L,) — crop i's main source, sometimes with a quiet second one, at a random gain —
    and `label`, its class. Items of an odd step (i // batch_size) are cut to half length, at one offset
    per step, so a batch stacks."""

    def __init__(self, mixes: MixDataset, batch_size: int) -> None:
        self.mixes, self.batch_size = mixes, batch_size

    def __len__(self) -> int:
        return len(self.mixes)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = self.mixes[i]
        rng = np.random.default_rng([self.mixes.seed, i, 1])
        main, other = item["sources"][0] * 2, item["sources"][1] * 2      # undo MixDataset's ÷N
        if rng.random() < LEAK_PROB:
            ratio = main.pow(2).mean().sqrt() / (other.pow(2).mean().sqrt() + 1e-8)
            main = main + other * ratio * 10 ** (-rng.uniform(*LEAK_DB) / 20)
        wave = main * float(rng.uniform(0.3, 1.5))
        step = i // self.batch_size
        if step % 2:                                                       # every other step: half-length crops
            half = wave.shape[0] // 2
            start = int(np.random.default_rng([self.mixes.seed, step, 3]).integers(0, half))
            wave = wave[start:start + half]
        return {"wave": wave, "label": item["class_idx"][0]}


class AudioTextRecipe(Recipe):
    """The course embedding (see the module docstring)."""

    kind = "audio_text"
    part_names = ("total",)

    def prepare(self, cfg, data_root, soundfonts, validate, device) -> Prepared:
        cfg = copy_config(cfg)
        lib, val = libraries(cfg, data_root, soundfonts, validate, min_classes=2)
        cfg.model.n_classes = len(lib.classes)
        clips = [c.path for c in lib.clips] + ([c.path for c in val.clips] if val is not None else [])
        return Prepared(cfg, lib.classes, lib, val, clips, extra={"data_root": data_root, "soundfonts": soundfonts})

    def build(self, prep, device, resuming) -> torch.nn.Module:
        return build_model(prep.cfg.model, prep.cfg.audio).to(device)

    def dataset(self, prep) -> SoloCrops:
        t = prep.cfg.train
        mixes = MixDataset(prep.train_lib, prep.cfg.audio, n_sources=2, n_mixtures=t.steps * t.batch_size, seed=t.seed,
                           augment=prep.cfg.augment)
        return SoloCrops(mixes, t.batch_size)

    def step(self, model, step_model, batch, prep, device, step, amp: bool = False) -> StepOutput:
        rng = np.random.default_rng([prep.cfg.train.seed, step, 2])
        texts = [describe(c, rng) for c in prep.classes]                   # one random description per class
        loss = contrastive_loss(model.audio_features(batch["wave"].to(device)), model.text_features(texts),
                                batch["label"].to(device), model.logit_scale)
        return StepOutput(loss, {"total": loss.detach()})

    def after_step(self, model) -> None:
        with torch.no_grad():
            model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

    def validate(self, model, prep, device) -> dict[str, float]:
        return {"prompt_acc": prompt_accuracy(model, prep.val_lib, device=device)}

    def finish(self, model, prep, device, history) -> dict:
        """The model card: same-class accuracy on the `val` clips of the training SoundFont(s) and of
        every other SoundFont of the library (timbres it never heard)."""
        fonts = prep.extra["soundfonts"]
        root = prep.extra["data_root"]
        others = [f for f in SoloLibrary(root, split="val").soundfonts_available if fonts is None or f not in fonts]
        acc = {}
        for name, fs in [("+".join(prep.train_lib.soundfonts) or "all", fonts), *[(f, [f]) for f in others]]:
            acc[name] = round(prompt_accuracy(model, SoloLibrary(root, split="val", soundfonts=fs), device=device), 4)
        t = prep.cfg.train
        # the card key keeps its first name (the shipped embedding has it): same-class prompt accuracy, not zero-shot
        history.update(zero_shot_val=acc, soundfonts=prep.train_lib.soundfonts, split=prep.train_lib.split, steps=t.steps,
                       batch_size=t.batch_size, seed=t.seed, augment=prep.cfg.augment.__dict__.copy())
        return {"kind": KIND, "vocab": model.vocab, "hparams": model.hparams}


__all__ = ["AudioTextRecipe", "SoloCrops"]
