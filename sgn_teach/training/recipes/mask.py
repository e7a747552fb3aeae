"""Mix-and-separate: the recipe of the mask models (SoP, SGN and its ablations) and of the diffusion model.

Step s trains on mixtures s·B … s·B+B−1 of a seeded
:class:`~sgn_teach.data.MixDataset` (or, with ``train.n_sources_mix``, of a
:class:`~sgn_teach.data.mixing.MixedCountMixDataset`: 1, 2 or 3 sources in every
batch), so the data a step sees depends only on (seed, step).

The step runs on the device: the host only cuts the source crops (and draws
their augmentation); the augmentation itself, the ÷N sum (the mixing), the STFT,
warp, targets, forward, loss and backward all happen on `device`. The mask
models are scored by :func:`sgn_teach.losses.sgn_loss` (eq. 9: reconstruction +
class constraint + presence); the diffusion model (notebook 07) computes its
own denoising loss inside its forward pass, so that DistributedDataParallel sees it.
"""

from __future__ import annotations

import os

import torch

from ...core.config import Config
from ...core.errors import DataError
from ...core.speed import channels_last_input
from ...data import MixDataset, finish_batch, mix_features
from ...data.mixing import MixedCountMixDataset
from ...hub.build import build_model
from ...losses.mask import sgn_loss
from ...signal.spectral import SpectralFrontEnd
from .base import Prepared, Recipe, StepOutput, copy_config, libraries, separation_scores

MASK_PARTS = ("rec", "ce", "presence", "total")  # the loss parts of sgn_loss, in history's order


class MaskRecipe(Recipe):
    """SoP, SGN and its ablations (and, through :class:`DiffusionRecipe`, the diffusion model)."""

    kind = "mask"
    part_names = MASK_PARTS

    def prepare(self, cfg: Config, data_root: str | os.PathLike, soundfonts: list[str] | None, validate: bool,
                device: torch.device) -> Prepared:
        cfg = copy_config(cfg)
        t = cfg.train
        lib, val = libraries(cfg, data_root, soundfonts, validate, min_classes=t.largest_mixture)
        if val is not None and len(val.by_class) < t.n_sources:
            raise DataError(f"{data_root}: the val split has clips of {len(val.by_class)} classes; validating on "
                            f"mixtures of N={t.n_sources} distinct classes needs at least that many "
                            "(add clips, or train without validation: --no-val)")
        cfg.model.n_classes = len(lib.classes)
        if cfg.model.variant == "sop":  # as get_preset does, for a config edited after it (spare slots: silence)
            cfg.model.n_sources = t.largest_mixture
        clips = [c.path for c in lib.clips] + ([c.path for c in val.clips] if val is not None else [])
        return Prepared(cfg, lib.classes, lib, val, clips,
                        extra={"frontend": SpectralFrontEnd(cfg.audio).to(device)})

    def build(self, prep: Prepared, device: torch.device, resuming: bool) -> torch.nn.Module:
        cfg = prep.cfg
        return build_model(cfg.model, cfg.audio, diffusion=cfg.diffusion).to(device)

    def dataset(self, prep: Prepared) -> MixDataset | MixedCountMixDataset:
        cfg, t = prep.cfg, prep.cfg.train
        if t.n_sources_mix:  # N_i per mixture from (seed, i), padded to the largest count
            ds = MixedCountMixDataset(prep.train_lib, cfg.audio, t.n_sources_mix, t.steps * t.batch_size,
                                      seed=t.seed, augment=cfg.augment, defer_augment=True)
        else:
            ds = MixDataset(prep.train_lib, cfg.audio, n_sources=t.n_sources, n_mixtures=t.steps * t.batch_size,
                            seed=t.seed, augment=cfg.augment, defer_augment=True)
        prep.extra["dataset"] = ds  # finish_batch applies its augmentation on the device
        return ds

    def features(self, batch: dict, prep: Prepared, device: torch.device
                 ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        """The batch on the device: class indices (B, N), presence labels (B, C), the spectral inputs and
        targets (:func:`~sgn_teach.data.mix_features`) and the mixtures (B, L)."""
        class_idx = batch["class_idx"].to(device, non_blocking=True)
        labels = batch["labels"].to(device, non_blocking=True)
        with torch.no_grad():
            sources, mixture = finish_batch(batch, prep.extra["dataset"], device)  # (B, N, L) ÷N, augmented; (B, L)
            feats = mix_features(mixture, sources, prep.extra["frontend"], mask=prep.cfg.train.mask)
        if prep.cfg.train.channels_last:
            feats["log_mag"] = channels_last_input(feats["log_mag"])
        return class_idx, labels, feats, mixture

    def step(self, model, step_model, batch, prep, device, step, amp: bool = False) -> StepOutput:
        t = prep.cfg.train
        class_idx, labels, feats, mixture = self.features(batch, prep, device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            # only the N wanted masks are computed (a padding class −1 asks for class 0, whose loss is skipped)
            outputs = step_model(feats["log_mag"], classes=class_idx.clamp(min=0))
        loss, parts = sgn_loss(outputs, feats["target"], feats["weight"], class_idx, labels, prep.cfg.model.variant,
                               weights=(t.w_rec, t.w_ce, t.w_presence))
        return StepOutput(loss, parts, mixture.detach().pow(2).mean(-1).sqrt())

    def validate(self, model, prep, device) -> dict[str, float]:
        return separation_scores(model, prep.val_lib, prep.cfg, device)

    def finish(self, model, prep, device, history) -> dict:
        """Calibrate the presence head's thresholds on validation mixtures of the training's source counts
        (stored in the model's `presence_thresholds` buffer, so model.pt carries them; ``--classes auto`` uses them)."""
        if not model.has_presence_head or prep.val_lib is None:
            return {}
        from ...evaluation.naming import calibrate_presence

        t = prep.cfg.train
        counts = tuple(sorted(set(t.n_sources_mix))) or (t.n_sources,)
        thresholds = calibrate_presence(model, prep.val_lib, prep.cfg.audio, counts=counts,
                                        n_mixtures=3 * t.val_mixtures, device=device)
        model.presence_thresholds.copy_(torch.tensor(thresholds))
        history["presence_thresholds"] = dict(zip(prep.classes, thresholds))
        return {}


class DiffusionRecipe(MaskRecipe):
    """The generative separator of notebook 07: the same mixtures, its own denoising loss.

    It is guided by a frozen SGN (``diffusion.condition = "sgn"``): :meth:`prepare` checks that
    SGN's checkpoint and records its config; :meth:`build` copies its weights in (a resumed run
    has them in its own checkpoint).
    """

    kind = "diffusion"

    def check(self, cfg) -> None:
        from ...core.errors import ConfigError

        if cfg.train.n_sources_mix:
            raise ConfigError("the diffusion model trains on mixtures of one N (--n-sources), not a mix of counts")

    def finish(self, model, prep, device, history) -> dict:
        return {}  # its presence head is the frozen SGN's, calibrated already

    def prepare(self, cfg, data_root, soundfonts, validate, device) -> Prepared:
        from ...hub.diffusion import prepare_condition

        prep = super().prepare(cfg, data_root, soundfonts, validate, device)
        prepare_condition(prep.cfg, prep.classes)  # fills in the SGN's config: checked now, before any work
        return prep

    def build(self, prep, device, resuming) -> torch.nn.Module:
        from ...hub.diffusion import load_condition_weights

        model = super().build(prep, device, resuming)
        if not resuming:
            load_condition_weights(model)  # the trained SGN
        return model

    def step(self, model, step_model, batch, prep, device, step, amp: bool = False) -> StepOutput:
        class_idx, _, feats, mixture = self.features(batch, prep, device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            outputs = step_model(feats["log_mag"], classes=class_idx, targets=feats)  # the DDPM loss
        return StepOutput(outputs["loss"], outputs["parts"], mixture.detach().pow(2).mean(-1).sqrt())


__all__ = ["DiffusionRecipe", "MASK_PARTS", "MaskRecipe"]
