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

from .neighbours import (
    AUDIO_TEXT_AUGMENT,
    AUDIO_TEXT_PRESETS,
    CLASSIFIER_STEPS,
    DIFFUSION_PRESETS,
    SMALL_MIX,
    DiffusionConfig,
    WeakConfig,
)
from .options import (
    ASSIGNMENTS,
    CONDITIONS,
    DIFFUSION_TARGETS,
    MASK_TARGETS,
    OPTIMIZERS,
    PRECISIONS,
    PREDICTIONS,
    PRESENCE_SOURCES,
    SCHEDULES,
    TRUNKS,
    option,
)

SAMPLE_RATE = 11025  # Hz: SoP's rate, every model's and the course data's (AudioConfig.sample_rate)
TRAIN_RMS = 0.146    # median RMS of the course's training mixtures (measured): the level `separate` feeds a model
                     # whose checkpoint does not record its own (model.pt's `train_mix_rms`)

MODEL_VARIANTS = ("sgn", "sct", "cag", "baseline", "attn", "sop")  # the mask models: SGN's Table III (+ our `attn`
# control, sgn_teach.models.sgn) and SoP
GENERATIVE_VARIANTS = ("diffusion",)  # sample each source's spectrogram instead of predicting a mask (notebook 07)
# every model kind `train --model` accepts: the mask models, the generative one, the text-conditioned
# separator of notebook 08 (sgn_teach.models.text_separator) and the audio–text embedding its weak losses use
# (sgn_teach.models.audio_text), and the instrument classifier that names SoP's outputs
# (sgn_teach.models.classifier); each trains through sgn_teach.training.loop with the recipe of its kind
MODEL_KINDS = MODEL_VARIANTS + GENERATIVE_VARIANTS + ("text", "audio_text", "classifier")
SEPARATOR_KINDS = MODEL_VARIANTS + GENERATIVE_VARIANTS + ("text",)  # the kinds that separate (evaluate, separate)
PRESETS = ("paper", "small", "tiny")
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
    presence: str = option("tokens", "what SGN's presence head reads: tokens (the paper's: each class feature g_i) or "
                           "trunk (our extension: the U-Net encoder's pooled deepest features)", PRESENCE_SOURCES)

    def __post_init__(self) -> None:
        if self.variant not in MODEL_KINDS:
            raise ValueError(f"unknown model variant {self.variant!r}; choose from {', '.join(MODEL_KINDS)}")
        if self.trunk not in TRUNKS:
            raise ValueError(f"trunk must be one of {', '.join(TRUNKS)}, not {self.trunk!r}")
        if self.presence not in PRESENCE_SOURCES:
            raise ValueError(f"presence must be one of {', '.join(PRESENCE_SOURCES)}, not {self.presence!r}")
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

    @property
    def largest_mixture(self) -> int:
        """The most sources a training mixture holds: the largest of `n_sources_mix`, or `n_sources`."""
        return max((self.n_sources, *self.n_sources_mix))

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
    vibrato_cents: float = 0.0               # a random vibrato of up to ±this (4–7 Hz): playing style, not class


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


NAMED_RECIPE: dict[str, Any] = {"train__n_sources_mix": SMALL_MIX, "train__steps": 8000, "train__val_every": 1000}
"""The named-outputs recipe for the `small` mask models (README, "Named outputs"): mixtures of 1, 2 and 3
sources in every batch over twice the steps — ``get_preset("small", "sgn", **NAMED_RECIPE)``, or the flags
``--n-sources-mix 1,2,2,3 --steps 8000 --val-every 1000``. Not the preset's default: the preset stays what the
ablation grid and the notebooks' own short runs train (2 sources)."""

SHIPPED_STAGES: dict[str, tuple[int, ...]] = {"sgn": (8000, 12000), "sop": (8000, 12000)}
"""The step counts the shipped runs were trained to, stage by stage: the named recipe's 8000 steps, then the same
run resumed with ``--steps 12000`` (its cosine schedule restarts at the learning rate a 12000-step schedule has at
step 8000 — about a quarter of the peak — and decays again; validation was still rising at 8000). Rebuilt by
``experiments.runner.staged_run`` (``make demo`` with ``--train``, bench_loso.py)."""

SHIPPED_RECIPES: dict[str, dict[str, Any]] = {
    "sgn": {**NAMED_RECIPE, "train__steps": SHIPPED_STAGES["sgn"][-1], "model__presence": "trunk",
            "model__trunk": "film"},
    "sop": {**NAMED_RECIPE, "train__steps": SHIPPED_STAGES["sop"][-1]},  # one slot per source of the largest mix: 3
}
"""How the shipped ``sgn_small`` and ``sop_small`` were trained, on the variety library
(``data render --variety``): ``get_preset("small", v, **SHIPPED_RECIPES[v])`` — the named recipe (its steps
reached in the stages of :data:`SHIPPED_STAGES`), and for SGN presence from the trunk and the FiLM trunk (the two
named extensions chosen on validation, README "Named outputs"). Their model cards' commands spell the same flags
out; a test checks both against the checkpoints."""


def shipped_stage_configs(variant: str) -> list[Config]:
    """The config of each training stage of the shipped `variant` ("sgn" or "sop"), in order: the same recipe
    with ``train.steps`` = each of ``SHIPPED_STAGES[variant]`` (for ``experiments.runner.staged_run``)."""
    return [get_preset("small", variant, **{**SHIPPED_RECIPES[variant], "train__steps": steps})
            for steps in SHIPPED_STAGES[variant]]


def get_preset(name: str, variant: str = "sgn", **overrides: Any) -> Config:
    """Return the config of preset `name` for model `variant`.

    paper: 256×256, U-Net 7 levels ngf 64, D 256, depth 6 (GPU; batch 80, SGD 1e-3 m 0.9).
    small: ≈3 s clips, 128×128, U-Net 5 levels ngf 16, D 64, depth 2 (CPU in minutes).
    tiny:  ≈1.5 s clips, 64×64, U-Net 3 levels ngf 8, D 32, depth 1 (tests: seconds).

    `overrides` are `section.field=value` pairs given as keyword arguments with
    a double underscore, e.g. ``get_preset("small", train__steps=10)``. SoP gets one output slot per source
    of the largest training mixture (``train__n_sources_mix=(1, 2, 2, 3)``: 3) unless ``model__n_sources`` is given.
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
    if variant == "sop" and "model__n_sources" not in overrides:  # a slot per source of the largest training
        cfg.model.n_sources = cfg.train.largest_mixture                # mixture (spare slots: silence)
    return cfg


__all__ = [  # the settings' choices and the neighbours' configs are re-exported: everything settings-related is here
    "ASSIGNMENTS", "AUDIO_TEXT_AUGMENT", "AUDIO_TEXT_PRESETS", "AUGMENT_LEVELS", "AudioConfig", "AugmentConfig",
    "CLASSIFIER_STEPS", "CONDITIONS", "Config", "DIFFUSION_PRESETS", "DIFFUSION_TARGETS", "DiffusionConfig",
    "GENERATIVE_VARIANTS", "MASK_TARGETS", "MODEL_KINDS", "MODEL_VARIANTS", "ModelConfig", "OPTIMIZERS", "PRECISIONS",
    "NAMED_RECIPE", "PREDICTIONS", "PRESETS", "SAMPLE_RATE", "SCHEDULES", "SEPARATOR_KINDS", "SHIPPED_RECIPES",
    "SHIPPED_STAGES", "SMALL_MIX", "TRAIN_RMS", "TRUNKS", "TrainConfig", "WeakConfig", "augment_level", "get_preset",
    "option", "shipped_stage_configs",
]
