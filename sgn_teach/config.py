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
from dataclasses import dataclass, field
from typing import Any

MODEL_VARIANTS = ("sgn", "sct", "cag", "baseline", "sop")
PRESETS = ("paper", "small", "tiny")


@dataclass
class AudioConfig:
    """SoP's audio front-end.

    With the defaults: 65535 samples at 11025 Hz (≈5.94 s), STFT with a Hann
    window of 1022 and hop 256 → 512 linear bins × 256 frames, warped to a
    256-bin log-frequency axis → a 256×256 grid.
    """

    sample_rate: int = 11025
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
    depth: int = 6                # transformer layers over [patches; class tokens]
    heads: int = 8
    patch_size: int = 16
    mlp_ratio: float = 4.0
    dropout: float = 0.0
    assign: str = "softmax"       # category-aware grouping: "softmax" | "hard"
    gumbel_tau: float = 1.0
    n_sources: int = 2            # N masks predicted by the `sop` variant

    def __post_init__(self) -> None:
        if self.variant not in MODEL_VARIANTS:
            raise ValueError(f"unknown model variant {self.variant!r}; choose from {', '.join(MODEL_VARIANTS)}")
        if self.assign not in ("softmax", "hard"):
            raise ValueError(f"assign must be 'softmax' or 'hard', not {self.assign!r}")


@dataclass
class TrainConfig:
    """Optimisation and data settings."""

    steps: int = 2000
    batch_size: int = 8
    lr: float = 1e-3
    optimizer: str = "sgd"        # "sgd" (paper: momentum 0.9) | "adam"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    n_sources: int = 2            # N in mix-and-separate
    mask: str = "binary"          # "binary" | "ratio" target
    amp: bool = True              # mixed precision where the device supports it
    val_every: int = 250
    val_mixtures: int = 32
    ckpt_every: int = 250
    seed: int = 0
    num_workers: int = 0


@dataclass
class Config:
    """Everything needed to rebuild and retrain a model."""

    preset: str = "paper"
    audio: AudioConfig = field(default_factory=AudioConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        return cls(
            preset=d.get("preset", "custom"),
            audio=AudioConfig(**d["audio"]),
            model=ModelConfig(**d["model"]),
            train=TrainConfig(**d["train"]),
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
            train=TrainConfig(batch_size=80, lr=1e-3, optimizer="sgd", steps=20000, val_every=1000, ckpt_every=1000),
        )
    elif name == "small":
        cfg = Config(
            preset="small",
            audio=AudioConfig(n_samples=32767, n_freq_warped=128),
            model=ModelConfig(variant=variant, unet_levels=5, ngf=16, dim=64, depth=2, heads=4),
            train=TrainConfig(batch_size=16, lr=1e-3, optimizer="adam", steps=3000, val_every=500, ckpt_every=250),
        )
    elif name == "tiny":
        cfg = Config(
            preset="tiny",
            audio=AudioConfig(n_samples=16383, n_freq_warped=64),
            model=ModelConfig(variant=variant, unet_levels=3, ngf=8, dim=32, depth=1, heads=2),
            train=TrainConfig(batch_size=4, lr=3e-3, optimizer="adam", steps=50, val_every=25, ckpt_every=25,
                              val_mixtures=8, amp=False),
        )
    else:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    for key, value in overrides.items():
        section, _, attr = key.partition("__")
        target = getattr(cfg, section)
        if not hasattr(target, attr):
            raise ValueError(f"unknown config field {section}.{attr}")
        setattr(target, attr, value)
    return cfg
