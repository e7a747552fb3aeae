"""Training and inspecting the course audio–text embedding (sgn_teach.models.audio_text).

Contrastive training, CLIP-style, on solo clips of **one SoundFont** (default:
csound) that the separator of notebook 08 never trains on (it trains on
fluidr3). Each step takes B crops of solo clips and, for every class, one
random description ("someone playing the fiddle", "a cello solo", …); the loss
asks each crop to pick its class's text among the C texts, and each text to pick
the crops of its class among the B crops (symmetric InfoNCE).

Half of the crops get a little of another instrument mixed in (−20…−8 dB) and
half the steps use half-length crops: the embedding will judge *separated*
estimates, which are never perfectly clean and come in the tiny and small
presets' lengths. Every crop is varied in timbre as the course's source
augmentation does (:data:`EMBED_AUGMENT`: pitch ±2 semitones, spectral tilt, EQ,
reverberation), so that the embedding learns the instrument rather than one
SoundFont's samples — without it, zero-shot accuracy on an unseen SoundFont
was far lower (see the model card in README / notebook 08).

    python -m sgn_teach.training.audio_text --data data/music11 --out sgn_teach/checkpoints/audio_text_small.pt
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..core.config import AudioConfig, AugmentConfig, get_preset
from ..core.device import get_device, seed_everything
from ..data import MixDataset, SoloLibrary
from ..data.captions import describe, entity_prompt, vocabulary
from ..hub.audio_text import save_audio_text
from ..models.audio_text import CourseAudioText

LEAK_DB = (8.0, 20.0)   # another instrument this many dB below the main one ...
LEAK_PROB = 0.5         # ... in this share of the crops
EMBED_AUGMENT = AugmentConfig(enabled=True, gain=(0.5, 1.5), pitch_semitones=2.0, tilt_db_per_octave=3.0, eq_db=8.0,
                              reverb_prob=0.3)


def contrastive_loss(audio: torch.Tensor, text: torch.Tensor, labels: torch.Tensor,
                     logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE with several positives per text.

    audio (B, E), text (C, E) unit vectors, labels (B,) class of each crop → scalar:
    mean of CE(audio → its class's text) and, for each class in the batch,
    the mean log-probability of its crops among all B crops.
    """
    logits = logit_scale.exp() * audio @ text.T                          # (B, C)
    a2t = F.cross_entropy(logits, labels)
    log_p = F.log_softmax(logits.T, dim=1)                               # (C, B): each text over the crops
    pos = F.one_hot(labels, text.shape[0]).T.float()                     # (C, B): 1 where crop b is of class c
    present = pos.sum(1) > 0
    t2a = -((log_p * pos).sum(1)[present] / pos.sum(1)[present]).mean()
    return 0.5 * (a2t + t2a)


def _batch(ds: MixDataset, step: int, batch_size: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops (B, L) and their classes (B,) for `step`: main source, sometimes a quiet second one, random gain."""
    waves, labels = [], []
    for i in range(step * batch_size, (step + 1) * batch_size):
        item = ds[i]
        main, other = item["sources"][0] * 2, item["sources"][1] * 2      # undo MixDataset's ÷N
        if rng.random() < LEAK_PROB:
            db = rng.uniform(*LEAK_DB)
            ratio = main.pow(2).mean().sqrt() / (other.pow(2).mean().sqrt() + 1e-8)
            main = main + other * ratio * 10 ** (-db / 20)
        waves.append(main * rng.uniform(0.3, 1.5))
        labels.append(int(item["class_idx"][0]))
    wave = torch.stack(waves)                                            # (B, L)
    if step % 2:                                                        # every other step: half-length crops
        start = int(rng.integers(0, wave.shape[1] // 2))
        wave = wave[:, start:start + wave.shape[1] // 2]
    return wave, torch.tensor(labels)


@torch.no_grad()
def zero_shot_accuracy(model: CourseAudioText, library: SoloLibrary, n_crops: int = 110, seed: int = 7,
                       n_samples: int | None = None, device: torch.device | str = "cpu") -> float:
    """Share of `n_crops` seeded solo crops whose nearest class prompt ("the sound of a …") is their class."""
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


def train_audio_text(data_root: str | os.PathLike, out: str | os.PathLike, soundfonts: list[str] | None = ("csound",),
                     steps: int = 800, batch_size: int = 32, lr: float = 2e-3, seed: int = 0, dim: int = 64,
                     device: str = "auto", progress: bool = True, audio_cfg: AudioConfig | None = None,
                     augment: AugmentConfig | None = EMBED_AUGMENT) -> dict[str, Any]:
    """Train the course embedding on the `train` clips of `soundfonts`; write the checkpoint to `out`.

    Returns the history: loss per step and zero-shot accuracies on the `val` clips of the
    training SoundFont(s) and of every other SoundFont of the library (the timbres it never heard).
    """
    dev = get_device(device)
    fonts = list(soundfonts) if soundfonts else None
    lib = SoloLibrary(data_root, split="train", soundfonts=fonts)
    audio_cfg = audio_cfg or get_preset("small").audio
    seed_everything(seed)
    model = CourseAudioText(vocabulary(), audio_cfg, dim=dim).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    ds = MixDataset(lib, audio_cfg, n_sources=2, n_mixtures=steps * batch_size, seed=seed, augment=augment)
    rng = np.random.default_rng([seed, 1])
    history: dict[str, Any] = {"train": [], "soundfonts": lib.soundfonts, "data": str(data_root),
                               "augment": None if augment is None else augment.__dict__.copy(),
                               "steps": steps, "batch_size": batch_size, "seed": seed}
    t0 = time.time()
    model.train()
    for step in tqdm(range(steps), desc="audio–text", disable=not progress):
        wave, labels = _batch(ds, step, batch_size, rng)
        texts = [describe(c, rng) for c in lib.classes]
        lr_now = lr * 0.5 * (1 + np.cos(np.pi * step / steps))          # cosine decay
        for g in opt.param_groups:
            g["lr"] = lr_now
        loss = contrastive_loss(model.audio_features(wave.to(dev)), model.text_features(texts), labels.to(dev),
                                model.logit_scale)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, np.log(100))
        history["train"].append({"step": step + 1, "loss": round(loss.item(), 4)})
    history["seconds"] = round(time.time() - t0, 1)
    model.eval()
    acc = {}
    others = [f for f in SoloLibrary(data_root, split="val").soundfonts_available if fonts is None or f not in fonts]
    for name, fs in [("+".join(lib.soundfonts) or "all", fonts), *[(f, [f]) for f in others]]:
        val = SoloLibrary(data_root, split="val", soundfonts=fs)
        acc[name] = round(zero_shot_accuracy(model, val, device=dev), 4)
    history["zero_shot_val"] = acc
    save_audio_text(out, model, steps, extra={"history": history})
    return history


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--soundfonts", default="csound", help="comma-separated SoundFonts to train on")
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-augment", action="store_true", help="train on plain crops (no timbre augmentation)")
    args = p.parse_args(argv)
    from ..core.errors import SGNError

    try:
        fonts = [f for f in args.soundfonts.split(",") if f] or None
        h = train_audio_text(args.data, args.out, fonts, steps=args.steps, batch_size=args.batch_size, seed=args.seed,
                             device=args.device, augment=None if args.no_augment else EMBED_AUGMENT)
    except SGNError as exc:
        print(f"error: {exc}")
        return 2
    print(f"wrote {args.out}: {args.steps} steps in {h['seconds']:.0f} s, zero-shot accuracy on val clips: "
          + ", ".join(f"{k} {v:.2f}" for k, v in h["zero_shot_val"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
