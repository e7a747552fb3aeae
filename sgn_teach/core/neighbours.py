"""The settings of notebook 07's and 08's neighbour systems, and the presets of the kinds that are not mask models.

WeakConfig        weak supervision of the text-conditioned separator (notebook 08)
DiffusionConfig   the DAVIS-style generative separator (notebook 07)
*_PRESETS         their sizes and training settings per preset (read by :func:`sgn_teach.core.config.get_preset`)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .options import CONDITIONS, DIFFUSION_TARGETS, PREDICTIONS, option


@dataclass
class WeakConfig:
    """Weak supervision of the text-conditioned separator (`--model text`, notebook 08).

    The separator is trained from *captions* of mixtures ("cello and flute"), never
    from solo sources, by three switchable losses (sgn_teach.losses.text):
    `unsup` mix-and-separate on mixtures of mixtures, `bimodal` audio–text
    similarity of each separated entity, `consistency` each caption's entities,
    separated from the mixture of mixtures, sum back to that caption's mixture.
    `sup_fraction` of the training mixtures also come with their solo
    sources (1.0: the supervised model; 0.05: semi-supervised).
    """

    embedding: str = option("course", "audio–text model: 'course' (shipped), a path to a course embedding, or "
                            "clap[:NAME] (transformers; downloads NAME, default laion/clap-htsat-unfused)")
    unsup: bool = True
    bimodal: bool = True
    consistency: bool = True
    sup_fraction: float = option(0.0, "share of training mixtures whose solo sources are used (1: supervised, "
                                 "0.05: semi-supervised)")
    w_unsup: float = 1.0
    # chosen on validation mixtures with the sum/contrastive forms: benchmarks/bench_weak_tune.py (README, notebook 08)
    w_bimodal: float = option(0.03, "weight of the bi-modal loss")
    w_consistency: float = option(0.1, "weight of the consistency loss")
    w_sup: float = 1.0
    temperature: float = 0.07      # of the closed-set bi-modal softmax (bimodal_form "classes" only)
    consistency_form: str = option("sum", "consistency loss: sum (the authors': the entities' masked magnitudes "
                                   "add up to the caption's, L1 weighted by log1p) or union (ours before: BCE of the "
                                   "union of the entity masks)", ("sum", "union"))
    bimodal_form: str = option("contrastive", "bi-modal loss: contrastive (the paper's: audio→text InfoNCE over the "
                               "batch's entity prompts at the embedding's own temperature) or classes (a softmax "
                               "over the fixed class prompts)", ("contrastive", "classes"))

    def __post_init__(self) -> None:
        if not 0.0 <= self.sup_fraction <= 1.0:
            raise ValueError(f"sup_fraction must be in [0, 1], not {self.sup_fraction}")
        if self.consistency_form not in ("sum", "union"):
            raise ValueError(f"consistency_form must be 'sum' or 'union', not {self.consistency_form!r}")
        if self.bimodal_form not in ("contrastive", "classes"):
            raise ValueError(f"bimodal_form must be 'contrastive' or 'classes', not {self.bimodal_form!r}")
        if not (self.unsup or self.bimodal or self.consistency or self.sup_fraction > 0):
            raise ValueError("switch on at least one loss (unsup, bimodal, consistency) or give sup_fraction > 0")


@dataclass
class DiffusionConfig:
    """The generative separator of notebook 07 (DAVIS-style; `sgn_teach.models.diffusion`).

    Only models with ``model.variant == "diffusion"`` have one (``Config.diffusion``);
    of ModelConfig they use `variant` and `n_classes` only.
    """

    condition: str = option("sgn", "the guide: g_i of a frozen SGN (sgn, default) or a learned class embedding",
                            CONDITIONS)
    condition_checkpoint: str = option("", "the SGN checkpoint g_i comes from (default: the shipped sgn_small.pt)")
    sgn_model: dict = field(default_factory=dict)  # that SGN's ModelConfig (filled in at training time)
    channels: int = 16             # width of the denoiser's first level; level k has channels·2^k
    levels: int = 4                # resolutions of the Separation U-Net (after its 2×2 patch stem)
    attention_levels: int = 2      # the lowest this many resolutions get time-frequency attention
    stem: int = 2                  # the patch stem: a stem×stem stride-stem conv in, its transpose out
    emb_dim: int = 128             # width of the timestep (+ condition) embedding
    cond_channels: int = 32        # channels of the condition tiled over the bottleneck grid
    heads: int = 4                 # attention heads of the time-frequency attention
    timesteps: int = 1000          # DDPM's T
    prediction: str = "v"          # what the network predicts: "v" (default) or "eps"
    train_all_sources: bool = False  # train on every source of a mixture (default: one random source per mixture)
    loudness_weight: bool = True   # weight the loss per bin by SoP's clamp(log1p(w_mix), 1e-3, 10) (mean 1)
    noisy_share: float = 0.5       # this share of each batch draws t from the noisiest third (the rest: uniform)
    snr_cap: float = 5.0           # γ of the loss weight min(1, γ / (1 + SNR_t)): x_0's error counts min(1 + SNR, γ)
                                   # (min-SNR-γ-style; Hang et al. use min(SNR, γ)); nearly clean steps count less (0: off)
    sampling_steps: int = option(4, "DDIM steps at inference, stored with the model (the default of "
                                 "evaluate/separate)")
    target: str = "relative"       # x_0: "relative" = repr(source) − repr(mixture), "absolute" = repr(source) (DAVIS)
    data_scale: float = 4.0        # x_0 ∈ [−data_scale, data_scale]: ≈ unit variance, what v-prediction assumes
    mag_ref: float = 0.1           # repr(w) = 2·clamp(log1p(w/mag_ref) / log1p(mag_max/mag_ref), 0, 1) − 1
    mag_max: float = 200.0
    max_ratio: float = 1.0         # the estimate becomes a ratio against the mixture, clamped to [0, max_ratio]

    def __post_init__(self) -> None:
        if self.condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {', '.join(CONDITIONS)}, not {self.condition!r}")
        if self.target not in DIFFUSION_TARGETS:
            raise ValueError(f"target must be one of {', '.join(DIFFUSION_TARGETS)}, not {self.target!r}")
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {', '.join(PREDICTIONS)}, not {self.prediction!r}")
        if self.sampling_steps < 1 or self.sampling_steps > self.timesteps:
            raise ValueError(f"sampling_steps must be in 1…{self.timesteps}, not {self.sampling_steps}")


# The denoiser's sizes and training settings of each preset (`get_preset(name, "diffusion")`).
DIFFUSION_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {"diffusion": dict(channels=64, levels=4, emb_dim=256, cond_channels=64, heads=8),
              "train": dict(batch_size=32, lr=2e-4, optimizer="adam", steps=50000, val_every=2500,
                            ckpt_every=1000, val_mixtures=32)},
    "small": {"diffusion": dict(),
              "train": dict(batch_size=16, lr=2e-3, optimizer="adam", steps=8000, schedule="cosine",
                            warmup_steps=50, val_every=500, ckpt_every=100, val_mixtures=24)},
    "tiny": {"diffusion": dict(channels=8, levels=3, attention_levels=1, emb_dim=32, cond_channels=8, heads=2,
                               sampling_steps=2),
             "train": dict(batch_size=4, lr=2e-3, optimizer="adam", steps=50, val_every=25, ckpt_every=25,
                           val_mixtures=4, precision="fp32")},
}


# The course audio–text embedding of each preset (`get_preset(name, "audio_text")`): its width E and training.
AUDIO_TEXT_PRESETS: dict[str, dict[str, Any]] = {
    name: {"dim": dim, "train": dict(batch_size=batch, lr=2e-3, optimizer="adam", steps=steps, schedule="cosine",
                                     warmup_steps=0, min_lr_ratio=0.0, val_every=steps, ckpt_every=max(steps // 8, 1),
                                     val_mixtures=32, precision="fp32")}
    for name, dim, batch, steps in (("paper", 64, 32, 800), ("small", 64, 32, 800), ("tiny", 16, 8, 20))
}
SMALL_MIX = (1, 2, 2, 3)  # the small mask models' source counts: a quarter solos, half duets, a quarter trios
CLASSIFIER_STEPS = {"paper": 1500, "small": 1500, "tiny": 20}  # the instrument classifier shares the embedding's crops
# Timbre augmentation of its crops: pitch ±2 semitones, tilt ±3 dB/octave, EQ ±8 dB, a room for 30 % of crops.
AUDIO_TEXT_AUGMENT = dict(enabled=True, gain=(0.5, 1.5), pitch_semitones=2.0, tilt_db_per_octave=3.0, eq_db=8.0,
                          reverb_prob=0.3)


__all__ = ["AUDIO_TEXT_AUGMENT", "AUDIO_TEXT_PRESETS", "CLASSIFIER_STEPS", "DIFFUSION_PRESETS", "DiffusionConfig",
           "SMALL_MIX", "WeakConfig"]
