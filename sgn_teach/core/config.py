"""Configuration dataclasses and the three presets (`paper`, `small`, `tiny`).

Every hyper-parameter that changes a tensor shape lives here, and the whole
config is stored as JSON inside each checkpoint so a model can be rebuilt from
its file alone (the open-unmix habit of keeping hyper-parameters next to the
weights).

Shapes used throughout the package:
    B  batch, N  sources in a mixture, C  classes (11 for MUSIC),
    F  frequency bins (warped grid unless said "linear"), T  STFT frames,
    P  patches, D  feature width.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

SAMPLE_RATE = 11025  # Hz: SoP's rate, every model's and the course data's (AudioConfig.sample_rate)
TRAIN_RMS = 0.146    # median RMS of the course's training mixtures (measured): the level `separate` feeds a model
                     # whose checkpoint does not record its own (model.pt's `train_mix_rms`)

MODEL_VARIANTS = ("sgn", "sct", "cag", "baseline", "sop")  # the mask models: SGN's Table III and SoP
GENERATIVE_VARIANTS = ("diffusion",)  # sample each source's spectrogram instead of predicting a mask (notebook 07)
# every model kind `train --model` accepts: the mask models, the generative one, the text-conditioned
# separator of notebook 08 (sgn_teach.models.text_separator) and the audio–text embedding its weak losses use
# (sgn_teach.models.audio_text), and the instrument classifier that names SoP's outputs
# (sgn_teach.models.classifier); each trains through sgn_teach.training.loop with the recipe of its kind
MODEL_KINDS = MODEL_VARIANTS + GENERATIVE_VARIANTS + ("text", "audio_text", "classifier")
SEPARATOR_KINDS = MODEL_VARIANTS + GENERATIVE_VARIANTS + ("text",)  # the kinds that separate (evaluate, separate)
PRESETS = ("paper", "small", "tiny")
PRECISIONS = ("auto", "fp32", "bf16")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine")
MASK_TARGETS = ("binary", "ratio")
ASSIGNMENTS = ("softmax", "hard")
CONDITIONS = ("sgn", "class")
PREDICTIONS = ("v", "eps")
DIFFUSION_TARGETS = ("relative", "absolute")
TRUNKS = ("paper", "film")


def option(default: Any, help: str, choices: tuple[str, ...] | None = None, **kwargs: Any) -> Any:
    """A config field that the command line offers: its default, the help text of its flag, and its
    choices (the flag ``--<field-name>`` is made from it by :mod:`sgn_teach.cli.flags`)."""
    meta = {"help": help, **({"choices": choices} if choices else {})}
    if isinstance(default, (list, dict, tuple)):
        return field(default_factory=lambda: default, metadata=meta, **kwargs)
    return field(default=default, metadata=meta, **kwargs)


@dataclass
class AudioConfig:
    """SoP's audio front-end.

    With the defaults: 65535 samples at 11025 Hz (≈5.94 s), STFT with a Hann
    window of 1022 and hop 256 → 512 linear bins × 256 frames, warped to a
    256-bin log-frequency axis → a 256×256 grid.
    """

    sample_rate: int = SAMPLE_RATE
    n_samples: int = 65535
    n_fft: int = 1022
    hop_length: int = 256
    n_freq_warped: int = 256

    @property
    def n_freq_linear(self) -> int:
        """Linear STFT bins: n_fft // 2 + 1 (512 for SoP)."""
        return self.n_fft // 2 + 1

    @property
    def n_frames(self) -> int:
        """STFT frames with centred framing: 1 + n_samples // hop (256 for SoP)."""
        return 1 + self.n_samples // self.hop_length

    @property
    def duration(self) -> float:
        """Clip length in seconds."""
        return self.n_samples / self.sample_rate


@dataclass
class ModelConfig:
    """Network sizes (paper §IV-A for the `paper` preset)."""

    variant: str = "sgn"
    n_classes: int = 11
    unet_levels: int = 7          # down/up blocks of the U-Net
    ngf: int = 64                 # channels of the first U-Net level
    dim: int = 256                # D: token width == U-Net output feature width
    depth: int = option(6, "transformer layers over [patches; class tokens]")
    heads: int = 8
    patch_size: int = 16
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    assign: str = option("softmax", "category-aware grouping: softmax (soft) or hard (straight-through Gumbel)",
                         ASSIGNMENTS)
    gumbel_tau: float = 1.0
    n_sources: int = 2            # N masks predicted by the `sop` variant
    logit_scale: bool = True      # mask logits ⟨g_i, U⟩ / √D (False: the unscaled inner product)
    fused_reconstruction: bool = True  # fold g_i into U's last conv (same numbers, far less compute)
    text_dim: int = 64            # `text`: width E of the prompt embeddings the U-Net is FiLM-conditioned on
    trunk: str = option("paper", "SGN's U-Net: paper (one class-agnostic pass, the paper's) or film (our extension: "
                        "the decoder runs once per class, FiLM-conditioned on its class feature g_i)", TRUNKS)

    def __post_init__(self) -> None:
        if self.variant not in MODEL_KINDS:
            raise ValueError(f"unknown model variant {self.variant!r}; choose from {', '.join(MODEL_KINDS)}")
        if self.trunk not in TRUNKS:
            raise ValueError(f"trunk must be one of {', '.join(TRUNKS)}, not {self.trunk!r}")
        if self.assign not in ASSIGNMENTS:
            raise ValueError(f"assign must be one of {', '.join(ASSIGNMENTS)}, not {self.assign!r}")


@dataclass
class TrainConfig:
    """Optimisation and data settings."""

    steps: int = option(2000, "optimiser steps")
    batch_size: int = option(8, "mixtures per step")
    lr: float = option(1e-3, "peak learning rate")
    optimizer: str = option("sgd", "sgd (the paper's, momentum 0.9), adam or adamw", OPTIMIZERS)
    momentum: float = 0.9
    weight_decay: float = 1e-4
    n_sources: int = option(2, "N, the sources of a training (and validation) mixture")
    n_sources_mix: tuple[int, ...] = option((), "source counts of the training mixtures, e.g. 1,2,2,3: each "
                                            "mixture draws its N from the list (repeats weight it); empty: n_sources")
    mask: str = option("binary", "mask target: binary (SoP's) or ratio", MASK_TARGETS)
    precision: str = option("auto", "auto (default): bf16 autocast where the hardware has it (CUDA ≥ 8.0, CPUs with "
                            "AMX or AVX512-BF16), else float32", PRECISIONS)
    schedule: str = option("constant", "learning rate: constant, or cosine (linear warm-up, then cosine decay)",
                           SCHEDULES)
    warmup_steps: int = option(0, "steps of linear warm-up (cosine schedule)")
    min_lr_ratio: float = 0.02    # the cosine ends at lr · min_lr_ratio
    w_rec: float = option(1.0, "weight of the reconstruction loss (L = w_rec·L_rec + w_ce·L_ce + "
                          "w_presence·L_presence; the paper's is 1, 1, 1)")
    w_ce: float = option(1.0, "weight of the class-constraint loss")
    w_presence: float = option(1.0, "weight of the presence loss")
    val_every: int = option(250, "validate every this many steps")
    val_mixtures: int = option(32, "validation mixtures")
    ckpt_every: int = 250
    seed: int = option(0, "the seed of the initial weights and of every mixture")
    num_workers: int = option(0, "DataLoader worker processes")
    log_every: int = option(1, "read the loss back from the device every k steps (fewer host-device syncs on a "
                            "GPU; history keeps every step)")
    channels_last: bool = False   # conv activations in channels_last memory order (GPU tensor cores)
    compile: bool = False         # torch.compile the model (falls back to eager where it cannot)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}")
        if self.mask not in MASK_TARGETS:
            raise ValueError(f"mask must be one of {', '.join(MASK_TARGETS)}, not {self.mask!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.log_every < 1:
            raise ValueError(f"log_every must be ≥ 1, not {self.log_every}")

    def lr_at(self, step: int) -> float:
        """Learning rate of optimiser step `step` (0-based): a function of the step alone, so resuming is exact."""
        if self.schedule == "constant":
            return self.lr
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        span = max(self.steps - self.warmup_steps, 1)
        progress = min((step - self.warmup_steps) / span, 1.0)
        return self.lr * (self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


@dataclass
class AugmentConfig:
    """Seeded on-the-fly augmentation of each *source* before mixing (training only).

    What a separation course teaches about data augmentation: the model should
    learn the instrument, not one recording of it, so each training source is
    varied in ways that keep its class — loudness, small pitch changes, the
    colour of the microphone/room (EQ, spectral tilt) and reverberation.
    Evaluation mixtures are never augmented.
    """

    enabled: bool = False
    gain: tuple[float, float] = (0.5, 1.5)   # per-source linear gain (SoP's ×0.5–1.5)
    pitch_semitones: float = 0.0             # uniform shift in ±this (resampling the crop)
    tilt_db_per_octave: float = 0.0          # uniform spectral tilt in ±this, around 1 kHz
    eq_db: float = 0.0                       # a smooth random EQ curve of up to ±this dB
    reverb_prob: float = 0.0                 # probability of a synthetic room
    reverb_rt60: tuple[float, float] = (0.2, 0.8)  # its decay time range, seconds
    reverb_wet: tuple[float, float] = (0.1, 0.5)   # fraction of reverberant energy


AUGMENT_LEVELS = ("off", "gain", "full")


def augment_level(level: str) -> AugmentConfig:
    """The course's three augmentation levels.

    off:  plain crops (SoP without its gain);
    gain: SoP's per-source gain ×0.5–1.5 (the `small` preset's default);
    full: gain + pitch ±1 semitone, tilt ±3 dB/octave, EQ ±6 dB, a synthetic room for 30 % of sources.
    """
    if level == "off":
        return AugmentConfig(enabled=False)
    if level == "gain":
        return AugmentConfig(enabled=True)
    if level == "full":
        return AugmentConfig(enabled=True, pitch_semitones=1.0, tilt_db_per_octave=3.0, eq_db=6.0, reverb_prob=0.3)
    raise ValueError(f"augmentation level must be one of {', '.join(AUGMENT_LEVELS)}, not {level!r}")


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
    w_bimodal: float = option(0.1, "weight of the bi-modal loss")
    w_consistency: float = option(1.0, "weight of the consistency loss")
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
    snr_cap: float = 5.0           # loss weight min(1, snr_cap / (1 + SNR_t)): nearly clean steps count less (0: off)
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
              "train": dict(batch_size=16, lr=2e-3, optimizer="adam", steps=4000, schedule="cosine",
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


@dataclass
class Config:
    """Everything needed to rebuild and retrain a model."""

    preset: str = "paper"
    audio: AudioConfig = field(default_factory=AudioConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    weak: WeakConfig = field(default_factory=WeakConfig)
    diffusion: DiffusionConfig | None = None  # only for model.variant == "diffusion"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def check(self) -> None:
        """ValueError naming the first setting out of its range (a config read from a file may be anything)."""
        def need(ok: bool, what: str, value: Any) -> None:
            if not ok:
                raise ValueError(f"{what} = {value!r}")

        def count(v: Any, low: int = 1) -> bool:
            return isinstance(v, int) and not isinstance(v, bool) and v >= low

        def positive(v: Any) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0

        a, m = self.audio, self.model
        need(count(a.sample_rate, 1000) and a.sample_rate <= 384000, "audio.sample_rate", a.sample_rate)
        need(count(a.n_fft, 16), "audio.n_fft", a.n_fft)
        need(count(a.hop_length) and a.hop_length <= a.n_fft, "audio.hop_length", a.hop_length)
        need(count(a.n_samples) and a.n_samples >= a.n_fft, "audio.n_samples", a.n_samples)
        need(count(a.n_freq_warped, 8), "audio.n_freq_warped", a.n_freq_warped)
        for name in ("n_classes", "unet_levels", "ngf", "dim", "heads", "patch_size", "n_sources", "text_dim"):
            need(count(getattr(m, name)), f"model.{name}", getattr(m, name))
        need(count(m.depth, 0), "model.depth", m.depth)
        d = self.diffusion
        if d is not None:
            for name in ("mag_ref", "data_scale", "max_ratio"):
                need(positive(getattr(d, name)), f"diffusion.{name}", getattr(d, name))
            need(positive(d.mag_max) and d.mag_max > d.mag_ref, "diffusion.mag_max", d.mag_max)
            for name in ("timesteps", "channels", "levels", "emb_dim", "heads", "stem"):
                need(count(getattr(d, name)), f"diffusion.{name}", getattr(d, name))
            need(count(d.sampling_steps) and d.sampling_steps <= d.timesteps, "diffusion.sampling_steps",
                 d.sampling_steps)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        """Rebuild from `to_dict()`; fields this version does not know are dropped, missing ones take defaults."""
        def build(kind, values: dict[str, Any] | None):
            names = {f.name for f in dataclasses.fields(kind)}
            kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in (values or {}).items() if k in names}
            return kind(**kwargs)

        train = dict(d.get("train", {}))
        if "amp" in train and "precision" not in train:  # checkpoints before --precision
            train["precision"] = "auto" if train["amp"] else "fp32"
        model = dict(d.get("model", {}))
        model.setdefault("logit_scale", False)  # checkpoints before the 1/√D scale computed ⟨g, U⟩ unscaled
        return cls(
            preset=d.get("preset", "custom"),
            audio=build(AudioConfig, d.get("audio")),
            model=build(ModelConfig, model),
            train=build(TrainConfig, train),
            augment=build(AugmentConfig, d.get("augment")),
            weak=build(WeakConfig, d.get("weak")),
            diffusion=build(DiffusionConfig, d["diffusion"]) if d.get("diffusion") else None,
        )


def get_preset(name: str, variant: str = "sgn", **overrides: Any) -> Config:
    """Return the config of preset `name` for model `variant`.

    paper: 256×256, U-Net 7 levels ngf 64, D 256, depth 6 (GPU; batch 80, SGD 1e-3 m 0.9).
    small: ≈3 s clips, 128×128, U-Net 5 levels ngf 16, D 64, depth 2 (CPU in minutes).
    tiny:  ≈1.5 s clips, 64×64, U-Net 3 levels ngf 8, D 32, depth 1 (tests: seconds).

    `overrides` are `section.field=value` pairs given as keyword arguments with
    a double underscore, e.g. ``get_preset("small", train__steps=10)``.
    """
    if name == "paper":
        cfg = Config(
            preset="paper",
            audio=AudioConfig(),
            model=ModelConfig(variant=variant),
            train=TrainConfig(batch_size=80, lr=1e-3, optimizer="sgd", steps=20000, val_every=1000, ckpt_every=1000,
                              log_every=20, num_workers=4),
        )
    elif name == "small":
        # the recipe measured in benchmarks/bench_recipe.py (README): 1/√D logits, Adam with warm-up and
        # cosine decay, SoP's binary target, SoP's per-source gain
        cfg = Config(
            preset="small",
            audio=AudioConfig(n_samples=32767, n_freq_warped=128),
            model=ModelConfig(variant=variant, unet_levels=5, ngf=16, dim=64, depth=2, heads=4),
            train=TrainConfig(batch_size=16, lr=2e-3, optimizer="adam", steps=4000, schedule="cosine",
                              warmup_steps=200, val_every=500, val_mixtures=128, ckpt_every=250),
            augment=augment_level("gain"),
        )
    elif name == "tiny":
        cfg = Config(
            preset="tiny",
            audio=AudioConfig(n_samples=16383, n_freq_warped=64),
            model=ModelConfig(variant=variant, unet_levels=3, ngf=8, dim=32, depth=1, heads=2),
            train=TrainConfig(batch_size=4, lr=3e-3, optimizer="adam", steps=50, val_every=25, ckpt_every=25,
                              val_mixtures=8, precision="fp32", schedule="cosine", warmup_steps=5),
            augment=augment_level("gain"),
        )
    else:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    if name == "small" and variant in MODEL_VARIANTS:  # the shipped mask models' recipe (README, "Named outputs"):
        cfg.train.n_sources_mix = SMALL_MIX         # mixtures of 1, 2 and 3 sources in every batch ...
        cfg.train.steps, cfg.train.val_every = 8000, 1000  # ... over twice the steps
    if variant in ("audio_text", "classifier"):  # crops of solo clips: their own width and training settings
        cfg.model.dim = AUDIO_TEXT_PRESETS[name]["dim"]
        cfg.augment = AugmentConfig(**AUDIO_TEXT_AUGMENT)
        for attr, value in AUDIO_TEXT_PRESETS[name]["train"].items():
            setattr(cfg.train, attr, value)
        if variant == "classifier":
            cfg.train.steps = cfg.train.val_every = CLASSIFIER_STEPS[name]
    if variant in GENERATIVE_VARIANTS:  # the denoiser has its own sizes and training settings
        cfg.diffusion = DiffusionConfig(**DIFFUSION_PRESETS[name]["diffusion"])
        for attr, value in DIFFUSION_PRESETS[name]["train"].items():
            setattr(cfg.train, attr, value)
    for key, value in overrides.items():
        section, _, attr = key.partition("__")
        target = getattr(cfg, section)
        if not hasattr(target, attr):
            raise ValueError(f"unknown config field {section}.{attr}")
        setattr(target, attr, value)
    return cfg
