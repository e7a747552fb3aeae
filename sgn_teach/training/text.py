"""Training the text-conditioned separator from captions (`python -m sgn_teach train --model text`).

One step, for B captioned pairs (sgn_teach.data.captioned), makes one pass of the
separator over the mixture of mixtures x = (x1 + x2)/2 (its encoder once, its
decoder once per prompt) with the prompts the losses on (``cfg.weak``) need:

    caption 1, caption 2                                → `unsup` (the masks of x1 and x2 inside it)
    each entity of caption 1, each entity of caption 2  → `consistency` (caption i's entities rebuild x_i)
                                                          and `bimodal` (each estimate sounds like its entity)

and, for the items whose solo sources may be read (`labelled`), one pass over
x1 and x2 prompted with each entity of their caption → `sup`.

The entities are *parsed from the caption text* (sgn_teach.data.captions), not
read from the data set's labels; solo sources are read only for the `sup`
loss, and only for the items flagged `labelled`. The caption prompts are
embedded by the audio–text model's text tower; entity prompts use the
separator's stored entity embeddings — the same text tower's embeddings of
"the sound of a <class>", filled in before the first step.

The loop keeps train.py's contract: step s sees items s·B … s·B+B−1, so
``resume=True`` continues to the same weights; checkpoint.pt / model.pt /
history.json in the run folder; SIGTERM or Ctrl-C saves and stops.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..core.atomic import write_json
from ..core.config import Config
from ..core.device import get_device, resolve_precision, seed_everything
from ..core.errors import CheckpointError, DataError
from ..data import MixDataset, SoloLibrary
from ..data.captioned import CaptionedPairs, split_pairs
from ..data.captions import entity_prompt, parse_entities
from ..hub.audio_text import freeze, load_embedding
from ..hub.build import build_model
from ..hub.checkpoint import read_checkpoint, save_checkpoint
from ..losses.text import bimodal_loss, consistency_loss, mix_of_mixtures_loss, supervised_loss
from ..signal.spectral import SpectralFrontEnd
from ..signal.targets import mask_target, sop_weight
from .common import CKPT_NAME, MODEL_NAME, StepSampler, make_optimizer, validate


def entity_indices(captions: list[str], classes: list[str], device: torch.device) -> torch.Tensor:
    """Parse each caption into its classes: K captions → (K, n) long (every caption must name n classes)."""
    rows = [[classes.index(c) for c in parse_entities(cap, classes)] for cap in captions]
    n = {len(r) for r in rows}
    if len(n) != 1:
        raise DataError(f"captions name different numbers of instruments: {captions}")
    return torch.tensor(rows, device=device)


def weak_step(model: torch.nn.Module, embedding: torch.nn.Module, batch: dict, frontend: SpectralFrontEnd,
              cfg: Config, classes: list[str], class_text: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of one batch of captioned pairs and its parts (see the module docstring).

    Args:
        batch: a collated batch of :class:`CaptionedPairs` (sources on the device).
        class_text: (C, E) text embeddings of the C class prompts, the candidates of the bi-modal softmax.

    Returns:
        (total loss with gradients, {part: float} with `unsup`, `bimodal`, `bimodal_acc`, `consistency`,
        `sup`, `total`, `mix_rms` — 0 for parts that are off).
    """
    w = cfg.weak
    dev = batch["sources"].device
    x1, x2, mix = split_pairs(batch["sources"])                          # (B, L) each
    B = x1.shape[0]
    zero = torch.zeros((), device=dev)
    parts = {k: zero for k in ("unsup", "bimodal", "bimodal_acc", "consistency", "sup")}
    total = zero
    captions = list(batch["caption_1"]) + list(batch["caption_2"])
    ent = entity_indices(captions, classes, dev)                              # (2B, n) parsed from the text
    n = ent.shape[1]
    use_entities = w.bimodal or w.consistency
    if w.unsup or use_entities:
        with torch.no_grad():
            fm = frontend.analyse(mix)
            halves = frontend.warped_magnitude(torch.stack([x1, x2], 1) / 2)   # (B, 2, F, T): the two parts of mix
            target = mask_target(halves, fm["mag_warped"], cfg.train.mask)      # (B, 2, F, T): x1's and x2's masks
            weight = sop_weight(fm["mag_warped"])
            prompts = []
            if w.unsup:
                caps = embedding.text_features(captions)                        # (2B, E)
                prompts.append(torch.stack([caps[:B], caps[B:]], 1))            # (B, 2, E): caption 1, caption 2
            if use_entities:
                ent_mix = torch.cat([ent[:B], ent[B:]], 1)                      # (B, 2n): caption 1's entities, then 2's
                prompts.append(model.condition(ent_mix))                        # (B, 2n, E)
        out = model(fm["log_mag"], cond=torch.cat(prompts, 1))["mask_logits"]  # (B, 2 and/or 2n, F, T)
        if w.unsup:
            parts["unsup"] = mix_of_mixtures_loss(out[:, :2], target, weight)
            total = total + w.w_unsup * parts["unsup"]
        if use_entities:
            ent_logits = out[:, -2 * n:]                                        # (B, 2n, F, T)
            if w.consistency:
                per_caption = ent_logits.reshape(B, 2, n, *ent_logits.shape[-2:])  # (B, 2n, ..) → (B, caption, entity, ..)
                parts["consistency"] = consistency_loss(per_caption, target, weight)
                total = total + w.w_consistency * parts["consistency"]
            if w.bimodal:
                est = frontend.apply_masks(torch.sigmoid(ent_logits.float()), fm["stft"])  # (B, 2n, L) estimates
                audio = embedding.audio_features(est.reshape(-1, est.shape[-1]))   # (B·2n, E)
                parts["bimodal"], parts["bimodal_acc"] = bimodal_loss(audio, class_text, ent_mix.reshape(-1),
                                                                      w.temperature)
                total = total + w.w_bimodal * parts["bimodal"]
    labelled = batch["labelled"].to(dev)
    rows = torch.cat([labelled, labelled])                                    # (2B,) rows of [x1; x2]
    if w.sup_fraction > 0 and bool(rows.any()):
        with torch.no_grad():
            x = torch.cat([x1, x2])[rows]                                     # (R, L): the labelled captions' mixtures
            fx = frontend.analyse(x)
            src = 2 * batch["sources"]                                        # ÷4 → ÷2: the sources of x1 and x2
            src = torch.cat([src[:, :2], src[:, 2:]])[rows]                   # (R, 2, L) in source order
            cls = torch.cat([batch["class_idx"][:, :2], batch["class_idx"][:, 2:]]).to(dev)[rows]  # (R, 2)
            # put the sources in the caption's entity order: slot k holds the source of class ent[:, k]
            order = (cls[:, None, :] == ent[rows][:, :, None]).float().argmax(-1)  # (R, n, 2) → (R, n)
            src = torch.gather(src, 1, order[:, :, None].expand(-1, -1, src.shape[-1]))
            sup_target = mask_target(frontend.warped_magnitude(src), fx["mag_warped"], cfg.train.mask)
        logits = model(fx["log_mag"], classes=ent[rows])["mask_logits"]       # (R, n, F, T)
        parts["sup"] = supervised_loss(logits, sup_target, sop_weight(fx["mag_warped"]))  # every row is labelled
        total = total + w.w_sup * parts["sup"]
    out = {k: float(v.detach()) for k, v in parts.items()}
    out["total"] = float(total.detach())
    out["mix_rms"] = float(x1.pow(2).mean(-1).sqrt().median())
    return total, out


def train_text(cfg: Config, data_root: str | os.PathLike, out_dir: str | os.PathLike, device: str = "auto",
               resume: bool = False, progress: bool = True, validate_during: bool = True,
               soundfonts: list[str] | None = None, embedding: torch.nn.Module | None = None) -> dict[str, Any]:
    """Train the text-conditioned separator with the losses of ``cfg.weak``; same files as :func:`sgn_teach.training.train.train`.

    `embedding`: an audio–text model to use instead of loading ``cfg.weak.embedding``
    (the notebook passes the one it already holds).
    """
    out = Path(out_dir)
    dev = get_device(device)
    lib = SoloLibrary(data_root, split="train", soundfonts=soundfonts)
    if len(lib.by_class) < 4:
        raise DataError(f"{data_root}: captioned pairs need clips of at least 4 classes in the train split")
    cfg.model.n_classes = len(lib.classes)
    try:
        val_lib = SoloLibrary(data_root, split="val", classes=lib.classes, soundfonts=soundfonts) \
            if validate_during else None
    except DataError:
        val_lib = None
    embedding = embedding if embedding is not None else load_embedding(cfg.weak.embedding, dev, cfg.audio.sample_rate)
    embedding = freeze(embedding.to(dev))
    with torch.no_grad():
        class_text = embedding.text_features([entity_prompt(c) for c in lib.classes])  # (C, E)
    cfg.model.text_dim = int(class_text.shape[1])

    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.train.seed)
    model = build_model(cfg.model, cfg.audio).to(dev)
    model.set_entity_text(class_text)
    opt = make_optimizer(model, cfg)
    precision = resolve_precision(cfg.train.precision, dev)
    history: dict[str, Any] = {"train": [], "val": [], "config": cfg.to_dict(), "classes": lib.classes,
                               "device": str(dev), "precision": precision, "validation": val_lib is not None,
                               "data": {"root": str(data_root), "soundfonts": lib.soundfonts, "train_clips": len(lib)}}
    start_step, elapsed = 0, 0.0
    ckpt_path = out / CKPT_NAME
    if resume and ckpt_path.exists():
        state = read_checkpoint(ckpt_path)
        saved = json.loads(state["config"])
        if saved["model"] != cfg.to_dict()["model"] or saved.get("weak") != cfg.to_dict()["weak"]:
            raise CheckpointError(f"{ckpt_path}: was trained with another model or loss config; use a new --out")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        extra = json.loads(state["extra"])
        history, elapsed = extra["history"], extra.get("seconds", 0.0)
        start_step = int(state["step"])
        if "rng_cpu" in state:
            torch.set_rng_state(state["rng_cpu"])
        if progress:
            print(f"resuming {ckpt_path} at step {start_step}/{cfg.train.steps}")

    t = cfg.train
    ds = CaptionedPairs(MixDataset(lib, cfg.audio, n_sources=4, n_mixtures=t.steps * t.batch_size, seed=t.seed),
                        sup_fraction=cfg.weak.sup_fraction)
    loader = torch.utils.data.DataLoader(ds, batch_size=t.batch_size, sampler=StepSampler(start_step, t.steps, t.batch_size),
                                         num_workers=t.num_workers, drop_last=True, persistent_workers=t.num_workers > 0)
    frontend = SpectralFrontEnd(cfg.audio).to(dev)
    use_amp = precision == "bf16"

    def save(step: int) -> None:
        save_checkpoint(ckpt_path, model, cfg, lib.classes, step, optimizer=opt,
                        extra={"history": history, "seconds": elapsed}, tensors={"rng_cpu": torch.get_rng_state()})
        write_json(out / "history.json", history)

    model.train()
    step = start_step
    bar = tqdm(total=t.steps, initial=start_step, desc="train text", disable=not progress)
    interrupted = False
    old_handler = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        tick = time.time()
        for batch in loader:
            batch["sources"] = batch["sources"].to(dev, non_blocking=True)
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=use_amp):
                loss, parts = weak_step(model, embedding, batch, frontend, cfg, lib.classes, class_text)
            for group in opt.param_groups:
                group["lr"] = t.lr_at(step)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            now = time.time()
            elapsed += now - tick
            if not math.isfinite(parts["total"]):
                raise RuntimeError(f"loss became {parts['total']} at step {step}: lower the learning rate")
            rec = {k: round(v, 5) for k, v in parts.items()}
            history["train"].append({"step": step, **rec, "lr": round(t.lr_at(step - 1), 7), "seconds": round(elapsed, 2)})
            bar.set_postfix({k: f"{v:.3f}" for k, v in rec.items() if k in ("unsup", "bimodal", "consistency", "sup")})
            bar.update(1)
            if val_lib is not None and (step % t.val_every == 0 or step == t.steps):
                scores = validate(model, val_lib, cfg, dev)
                history["val"].append({"step": step, **{k: round(v, 3) for k, v in scores.items()}})
                bar.write(f"step {step}: validation SDR {scores['sdr']:.2f} dB")
            if step % t.ckpt_every == 0 or step == t.steps:
                save(step)
            tick = time.time()
    except KeyboardInterrupt:
        interrupted = True
        save(step)
        bar.write(f"interrupted at step {step}: saved {ckpt_path}; continue with --resume")
    finally:
        bar.close()
        signal.signal(signal.SIGTERM, old_handler)
    history["interrupted"] = interrupted
    history["seconds"] = round(elapsed, 2)
    if not interrupted:
        rms = sorted(r["mix_rms"] for r in history["train"] if "mix_rms" in r)
        save_checkpoint(out / MODEL_NAME, model, cfg, lib.classes, step,
                        extra={"seconds": round(elapsed, 2), "device": str(dev), "data": str(data_root),
                               "precision": precision, "train_mix_rms": rms[len(rms) // 2] if rms else None,
                               "history": history})
        write_json(out / "history.json", history)
    return history


__all__ = ["train_text", "weak_step", "entity_indices"]
