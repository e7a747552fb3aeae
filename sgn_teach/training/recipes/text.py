"""The text-conditioned separator trained from captions (`python -m sgn_teach train --model text`, notebook 08).

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

Item i of the data is a function of (seed, i), as for every recipe, so the one
loop's resume continues to the same weights.
"""

from __future__ import annotations

import dataclasses

import torch

from ...core.config import Config
from ...core.errors import DataError
from ...data import MixDataset
from ...data.captioned import CaptionedPairs, split_pairs
from ...data.captions import entity_prompt, parse_entities
from ...hub.audio_text import freeze, load_embedding
from ...hub.build import build_model
from ...losses.text import (
    bimodal_contrastive_loss,
    bimodal_loss,
    consistency_loss,
    consistency_union_loss,
    mix_of_mixtures_loss,
    supervised_loss,
)
from ...signal.spectral import SpectralFrontEnd
from ...signal.targets import mask_target, sop_weight
from .base import Prepared, Recipe, StepOutput, copy_config, libraries, separation_scores

TEXT_PARTS = ("unsup", "bimodal", "bimodal_acc", "consistency", "sup", "total")


def entity_indices(captions: list[str], classes: list[str], device: torch.device) -> torch.Tensor:
    """Parse each caption into its classes: K captions → (K, n) long (every caption must name n classes)."""
    rows = [[classes.index(c) for c in parse_entities(cap, classes)] for cap in captions]
    n = {len(r) for r in rows}
    if len(n) != 1:
        raise DataError(f"captions name different numbers of instruments: {captions}")
    return torch.tensor(rows, device=device)


def weak_step(model: torch.nn.Module, embedding: torch.nn.Module, batch: dict, frontend: SpectralFrontEnd,
              cfg: Config, classes: list[str], class_text: torch.Tensor, forward: torch.nn.Module | None = None
              ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss of one batch of captioned pairs and its parts (see the module docstring).

    Args:
        batch: a collated batch of :class:`CaptionedPairs` (sources on the device).
        class_text: (C, E) text embeddings of the C class prompts: indexed by entity, the texts the contrastive
            bi-modal loss picks among (the batch's entities); all C, the closed-set softmax's candidates.
        forward: the module to run the separator's training passes through (the loop's wrapped or
            compiled `model`); default `model` itself.

    Returns:
        (total loss with gradients, {part: 0-dim detached tensor} with `unsup`, `bimodal`, `bimodal_acc`,
        `consistency`, `sup`, `total` — 0 for parts that are off).
    """
    forward = forward if forward is not None else model
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
        out = forward(fm["log_mag"], cond=torch.cat(prompts, 1))["mask_logits"]  # (B, 2 and/or 2n, F, T)
        if w.unsup:
            parts["unsup"] = mix_of_mixtures_loss(out[:, :2], target, weight)
            total = total + w.w_unsup * parts["unsup"]
        if use_entities:
            ent_logits = out[:, -2 * n:]                                        # (B, 2n, F, T)
            if w.consistency:
                per_caption = ent_logits.reshape(B, 2, n, *ent_logits.shape[-2:])  # (B, 2n, ..) → (B, caption, entity, ..)
                if w.consistency_form == "sum":  # the authors': Σ_k M_k |X| against |X_i|
                    parts["consistency"] = consistency_loss(per_caption, fm["mag_warped"], halves)
                else:
                    parts["consistency"] = consistency_union_loss(per_caption, target, weight)
                total = total + w.w_consistency * parts["consistency"]
            if w.bimodal:
                est = frontend.apply_masks(torch.sigmoid(ent_logits.float()), fm["stft"])  # (B, 2n, L) estimates
                audio = embedding.audio_features(est.reshape(-1, est.shape[-1]))   # (B·2n, E)
                labels = ent_mix.reshape(-1)                                        # (B·2n,) each estimate's entity
                if w.bimodal_form == "contrastive":  # the paper's: InfoNCE over the batch's entity prompts
                    parts["bimodal"], parts["bimodal_acc"] = bimodal_contrastive_loss(
                        audio, class_text[labels], labels, embedding.similarity_scale())
                else:  # closed set: a softmax over the C class prompts
                    parts["bimodal"], parts["bimodal_acc"] = bimodal_loss(audio, class_text, labels, w.temperature)
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
        logits = forward(fx["log_mag"], classes=ent[rows])["mask_logits"]       # (R, n, F, T)
        parts["sup"] = supervised_loss(logits, sup_target, sop_weight(fx["mag_warped"]))  # every row is labelled
        total = total + w.w_sup * parts["sup"]
    out = {k: v.detach() for k, v in parts.items()}
    out["total"] = total.detach()
    return total, out


class TextRecipe(Recipe):
    """The text-conditioned separator (see the module docstring).

    Args:
        embedding: an audio–text model to use instead of loading ``cfg.weak.embedding``
            (a notebook passes the one it already holds).
    """

    kind = "text"
    part_names = TEXT_PARTS
    progress_parts = ("unsup", "bimodal", "consistency", "sup")

    def __init__(self, embedding: torch.nn.Module | None = None) -> None:
        self.embedding = embedding

    def check(self, cfg: Config) -> None:
        from ...core.checks import require_finite_nonnegative, require_positive
        from ...core.config import WeakConfig
        from ...core.errors import ConfigError

        w = cfg.weak
        try:
            WeakConfig(**dataclasses.asdict(w))  # its own checks: sup_fraction in [0, 1], at least one loss on
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(exc)) from None
        for name in ("w_unsup", "w_bimodal", "w_consistency", "w_sup"):
            require_finite_nonnegative("--" + name.replace("_", "-"), getattr(w, name))
        require_positive("temperature", w.temperature)

    def prepare(self, cfg, data_root, soundfonts, validate, device) -> Prepared:
        cfg = copy_config(cfg)
        lib, val = libraries(cfg, data_root, soundfonts, validate, min_classes=4)  # captioned pairs: 4 classes
        cfg.model.n_classes = len(lib.classes)
        embedding = self.embedding if self.embedding is not None else \
            load_embedding(cfg.weak.embedding, device, cfg.audio.sample_rate)
        embedding = freeze(embedding.to(device))
        with torch.no_grad():
            class_text = embedding.text_features([entity_prompt(c) for c in lib.classes])  # (C, E)
        cfg.model.text_dim = int(class_text.shape[1])
        clips = [c.path for c in lib.clips] + ([c.path for c in val.clips] if val is not None else [])
        return Prepared(cfg, lib.classes, lib, val, clips, extra={
            "embedding": embedding, "class_text": class_text, "frontend": SpectralFrontEnd(cfg.audio).to(device)})

    def build(self, prep, device, resuming) -> torch.nn.Module:
        model = build_model(prep.cfg.model, prep.cfg.audio).to(device)
        model.set_entity_text(prep.extra["class_text"])
        return model

    def dataset(self, prep) -> CaptionedPairs:
        t = prep.cfg.train
        return CaptionedPairs(MixDataset(prep.train_lib, prep.cfg.audio, n_sources=4, n_mixtures=t.steps * t.batch_size,
                                         seed=t.seed), sup_fraction=prep.cfg.weak.sup_fraction)

    def step(self, model, step_model, batch, prep, device, step, amp: bool = False) -> StepOutput:
        batch["sources"] = batch["sources"].to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            loss, parts = weak_step(model, prep.extra["embedding"], batch, prep.extra["frontend"], prep.cfg,
                                    prep.classes, prep.extra["class_text"], forward=step_model)
        x1 = split_pairs(batch["sources"])[0]
        return StepOutput(loss, parts, x1.detach().pow(2).mean(-1).sqrt())  # the level of a 2-source mixture

    def validate(self, model, prep, device) -> dict[str, float]:
        return separation_scores(model, prep.val_lib, prep.cfg, device)


__all__ = ["TEXT_PARTS", "TextRecipe", "entity_indices", "weak_step"]
