"""Generative separation: sample each source's spectrogram, guided by its class (notebook 07).

DAVIS (Huang et al. 2023) separates by *synthesis*: starting from Gaussian noise, a
denoiser conditioned on the mixture and on a guide (in DAVIS, video frames) walks
back to the source's magnitude spectrogram. We have no video; the guide is the class:

    condition "sgn"    g_i, the grouped class feature of a frozen, trained SGN (notebook 04):
                       (B, C, D) from `SGN.class_features(log_mag)`, row i for class i
    condition "class"  a learned embedding per class: the simple variant

What is generated (x_0, the data of `sgn_teach.models.ddpm`). Magnitudes w on the warped grid are
put on a bounded log scale,

    repr(w) = 2 · clamp(log1p(w / mag_ref) / log1p(mag_max / mag_ref), 0, 1) − 1   ∈ [−1, 1]

(DAVIS: log1p(w)·0.15 clamped to [0, 1]): bounded, because a deterministic sampler clips
its guesses to the data range; log1p, because it is linear for quiet bins (they all sit
near −1 and cost nothing) and logarithmic for loud ones, where the structure is;
mag_ref = 0.1 spreads the course's mixtures (median bin ≈ 0.1, loudest ≈ 90) over the range.

    target "relative" (default)  x_0 = data_scale · clamp(repr(w_i) − repr(w_mix), −1, 1)
    target "absolute" (DAVIS)    x_0 = data_scale · repr(w_i)

Relative: 0 is "as loud as the mixture", −data_scale "absent", > 0 "louder than the
mixture"; a fresh network (which predicts x̂_0 ≈ 0) starts from "copy the mixture" instead
of silence. data_scale = 4 gives x_0 about unit variance (the relative target's RMS is
≈ 0.24): v-prediction is EDM's preconditioning for data of unit variance, and with data
four times smaller the network must first learn to undo its own skip path at every
noise level — in our short runs multi-step sampling then drifted away from the data.

Training, chosen for a CPU budget of ~1000 steps (measured in short runs, see the README):
one random source per mixture (more mixtures for the same compute), half of the sources
at the noisiest third of the steps (where the separation is decided; the sampler's first
step is pure regression), and SoP's per-bin weight log1p(w_mix) so that the loud bins,
where the sources compete, dominate the loss.

The estimate is inverted like every other row of the course: the sampled magnitude
becomes a ratio against the mixture on the warped grid, ŵ_i / w_mix clamped to
[0, max_ratio], un-warped, multiplied with the mixture's linear magnitude and the
*mixture phase*. (A ratio keeps the mixture's fine linear-frequency detail that the
128-row warp cannot represent; with max_ratio > 1 the estimate may exceed the mixture
where the sources cancelled.)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..core.config import AudioConfig, DiffusionConfig, ModelConfig
from ..signal.spectral import EPS
from ..signal.targets import sop_weight
from . import ddpm
from .diffusion import SeparationUNet

NOISY_FROM = 2 / 3  # `noisy_share` of the training sources draw t from [NOISY_FROM·T, T)


class DiffusionSeparator(nn.Module):
    """A class-conditioned generative separator (DAVIS-style denoiser + DDPM/DDIM).

    Args:
        model_cfg: `variant` "diffusion" and `n_classes`.
        audio_cfg: the front-end; the grid is (n_freq_warped, n_frames).
        dcfg: everything else (see :class:`sgn_teach.core.config.DiffusionConfig`). With condition
            "sgn", ``dcfg.sgn_model`` holds the frozen SGN's ModelConfig; its weights are
            part of this model's state (load them with :func:`sgn_teach.hub.diffusion.load_condition_weights`).

    forward(log_mag (B, 1, F, T), classes (B, K) or None) → dict with
        masks           (B, K, F, T) ratios in [0, max_ratio], sampled with `sampling_steps` DDIM steps
                        (the average of `n_samples` samples, one by default)
        mask_classes    (B, K)
        presence_logits (B, C) or None — the frozen SGN's presence head (condition "sgn")
    forward(log_mag, classes (B, N), targets=mix_features(…)) → {"loss", "parts"}: the training loss
    """

    class_conditioned = True   # the flags of the Separator protocol (sgn_teach.models.interface)
    generative = True  # masks are sampled, not predicted in one pass; trains with `training_loss`
    takes_prompts = False

    def __init__(self, model_cfg: ModelConfig, audio_cfg: AudioConfig, dcfg: DiffusionConfig) -> None:
        super().__init__()
        from .sgn import SGN

        self.cfg, self.dcfg = model_cfg, dcfg
        self.grid = (audio_cfg.n_freq_warped, audio_cfg.n_frames)
        self.sgn: SGN | None = None
        self.class_embed: nn.Embedding | None = None
        if dcfg.condition == "sgn":
            if not dcfg.sgn_model:
                raise ValueError("condition 'sgn' needs the SGN's config in DiffusionConfig.sgn_model "
                                 "(prepare_condition fills it in from a checkpoint)")
            sgn_cfg = ModelConfig(**{k: v for k, v in dcfg.sgn_model.items() if k in ModelConfig.__dataclass_fields__})
            self.sgn = SGN(sgn_cfg, grid=self.grid)
            self.sgn.requires_grad_(False)  # frozen: only the denoiser trains
            self.sgn.eval()
            cond_dim = sgn_cfg.dim
        else:
            cond_dim = dcfg.emb_dim
            self.class_embed = nn.Embedding(model_cfg.n_classes, cond_dim)
        self.denoiser = SeparationUNet(cond_dim, dcfg.channels, dcfg.levels, dcfg.attention_levels, dcfg.stem,
                                       dcfg.emb_dim, dcfg.cond_channels, dcfg.heads)
        self.denoiser.check_grid(*self.grid)
        self.register_buffer("alpha_bar", ddpm.cosine_alpha_bar(dcfg.timesteps), persistent=False)  # (T,) float64
        self.sampling_steps = dcfg.sampling_steps  # DDIM steps at inference; change freely
        self.seed = 0  # the starting noise of every sampling call: the same input gives the same output
        self.n_samples = 1  # samples averaged per estimate (seeds seed … seed+n−1); > 1 nears the posterior mean

    def train(self, mode: bool = True) -> "DiffusionSeparator":
        """Like nn.Module.train, but the frozen SGN always stays in eval mode."""
        super().train(mode)
        if self.sgn is not None:
            self.sgn.eval()
        return self

    # ----------------------------------------------------------------- representation
    def to_repr(self, mag: torch.Tensor) -> torch.Tensor:
        """Warped magnitude (any shape, ≥ 0) → x ∈ [−1, 1] (the diffusion's data)."""
        d = self.dcfg
        top = torch.log1p(torch.tensor(d.mag_max / d.mag_ref))
        return 2 * (torch.log1p(mag.clamp_min(0) / d.mag_ref) / top).clamp(0, 1) - 1

    def from_repr(self, x: torch.Tensor) -> torch.Tensor:
        """x ∈ [−1, 1] → warped magnitude (the inverse of `to_repr` below mag_max)."""
        d = self.dcfg
        top = torch.log1p(torch.tensor(d.mag_max / d.mag_ref))
        return d.mag_ref * torch.expm1((x.clamp(-1, 1) + 1) / 2 * top)

    @staticmethod
    def mixture_magnitude(log_mag: torch.Tensor) -> torch.Tensor:
        """The network input log(w + eps) back to the warped magnitude w: (B, 1, F, T)."""
        return (log_mag.float().exp() - EPS).clamp_min(0)

    def encode(self, source_mag: torch.Tensor, mix_mag: torch.Tensor) -> torch.Tensor:
        """The diffusion's data x_0 for a source: (B, N, F, T) and its mixture (B, 1, F, T) → (B, N, F, T) in [−1, 1].

        "absolute" (DAVIS): repr(w_i). "relative": repr(w_i) − repr(w_mix), clamped — 0 means
        "as loud as the mixture", −1 "absent", > 0 "louder than the mixture".
        """
        x = self.to_repr(source_mag)
        x = x if self.dcfg.target == "absolute" else (x - self.to_repr(mix_mag)).clamp(-1, 1)
        return self.dcfg.data_scale * x

    def decode(self, x0: torch.Tensor, mix_mag: torch.Tensor) -> torch.Tensor:
        """The inverse of `encode`: x_0 (B, K, F, T), mixture (B, 1, F, T) → source magnitudes (B, K, F, T)."""
        x0 = (x0 / self.dcfg.data_scale).clamp(-1, 1)
        if self.dcfg.target == "absolute":
            return self.from_repr(x0)
        return self.from_repr((self.to_repr(mix_mag) + x0).clamp(-1, 1))

    # ----------------------------------------------------------------- condition
    def condition(self, log_mag: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The guide of each wanted source: (B, 1, F, T), (B, K) long → c (B, K, Dc), presence logits (B, C) or None."""
        if self.sgn is None:
            return self.class_embed(classes.long()), None  # (B, K) → (B, K, Dc)
        with torch.no_grad():
            out = self.sgn.class_features(log_mag)
        g = out["class_features"]  # (B, C, D)
        # (B, K) → (B, K, D) for gather: the class features of the wanted classes
        g = torch.gather(g, 1, classes.long()[:, :, None].expand(-1, -1, g.shape[-1]))
        return g.float(), out["presence_logits"]

    @property
    def has_presence_head(self) -> bool:
        """Can it choose the classes itself (`--classes auto`)? Only through the frozen SGN's presence head."""
        return self.sgn is not None

    @property
    def presence_thresholds(self) -> torch.Tensor | None:
        """The frozen SGN's calibrated presence thresholds (C,), or None without an SGN guide."""
        return None if self.sgn is None else self.sgn.presence_thresholds

    def class_features(self, log_mag: torch.Tensor) -> dict[str, torch.Tensor | None]:
        """The class branch alone: {"presence_logits": (B, C) or None} (what `separate` asks before sampling)."""
        return {"presence_logits": self.presence_logits(log_mag)}

    def presence_logits(self, log_mag: torch.Tensor) -> torch.Tensor | None:
        """The frozen SGN's presence logits (B, C), or None for the class-embedding condition."""
        if self.sgn is None:
            return None
        with torch.no_grad():
            return self.sgn.class_features(log_mag)["presence_logits"]

    # ----------------------------------------------------------------- training
    def training_loss(self, feats: dict[str, torch.Tensor], class_idx: torch.Tensor
                      ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The DDPM objective on the sources of a batch of mixtures (one random source per mixture,
        or all of them with ``train_all_sources``).

        Args:
            feats: from :func:`sgn_teach.data.mix_features`: `log_mag`, `mag_warped` (B, 1, F, T)
                and `source_mag_warped` (B, N, F, T).
            class_idx: (B, N) the sources' classes.

        A step t ~ U{0 … T−1} and noise ε per source; x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε; the loss is
        the squared error of the network's v̂ (or ε̂) against its target, weighted per source by
        min(1, γ / (1 + SNR_t)), γ = snr_cap, SNR_t = ᾱ_t / (1 − ᾱ_t).

        Why the weight: an error of v̂ is an error of x̂_0 times 1/√(1−ᾱ_t) = √(1 + SNR_t), so plain
        v-MSE weighs the x_0 of nearly clean steps (SNR in the hundreds) far above that of the
        noisy steps, where a separation is decided. With the weight, every step's x_0 error counts
        min(1 + SNR_t, γ): a min-SNR-γ-*style* weight. It is not Hang et al.'s (2023) min-SNR-γ
        itself, which weighs the x_0 error by min(SNR_t, γ) (for v-prediction: min(SNR_t, γ) /
        (1 + SNR_t)); the two differ only where SNR_t is small (noisy steps), where ours keeps a
        weight of at least 1 instead of letting it go to 0.

        Returns:
            (loss, {"rec": the loss, "ce": 0, "presence": 0, "total": the loss}) — the parts every model logs.
        """
        src = feats["source_mag_warped"]
        B, N, Fq, T = src.shape
        if not self.dcfg.train_all_sources:  # one source per mixture: more mixtures for the same compute
            pick = torch.randint(0, N, (B,), device=src.device)
            src = src[torch.arange(B, device=src.device), pick][:, None]      # (B, N, F, T) → (B, 1, F, T)
            class_idx = class_idx.gather(1, pick[:, None])                     # (B, N) → (B, 1)
            N = 1
        cond, _ = self.condition(feats["log_mag"], class_idx)                  # (B, N, Dc)
        x0 = self.encode(src, feats["mag_warped"]).reshape(B * N, 1, Fq, T)   # fold the N sources into the batch
        mix = self.to_repr(feats["mag_warped"]).repeat_interleave(N, dim=0)  # (B, 1, F, T) → (B·N, 1, F, T)
        T_ = len(self.alpha_bar)
        t = torch.randint(0, T_, (B * N,), device=x0.device)
        noisy = torch.rand(B * N, device=x0.device) < self.dcfg.noisy_share  # these learn the hardest steps
        t = torch.where(noisy, torch.randint(int(NOISY_FROM * T_), T_, (B * N,), device=x0.device), t)
        noise = torch.randn_like(x0)
        x_t = ddpm.q_sample(x0, t, noise, self.alpha_bar)
        target = ddpm.v_target(x0, noise, t, self.alpha_bar) if self.dcfg.prediction == "v" else noise
        pred = self.denoiser(x_t, t, mix, cond.reshape(B * N, -1))            # (B, N, Dc) → (B·N, Dc)
        sq = (pred.float() - target).pow(2)                                    # (B·N, 1, F, T)
        if self.dcfg.loudness_weight:  # SoP's per-bin weight: the bins where the mixture is loud count more
            w = sop_weight(feats["mag_warped"].float()).repeat_interleave(N, dim=0)  # (B, 1, F, T) → (B·N, 1, F, T)
            sq = sq * w / w.mean()
        err = sq.mean(dim=(1, 2, 3))                                           # (B·N,) per source
        if self.dcfg.snr_cap > 0:
            a = self.alpha_bar[t]                                             # (B·N,) float64
            # γ / (1 + SNR) = γ·(1 − ᾱ), capped at 1: x_0's error counts min(1 + SNR, γ) (min-SNR-γ-style;
            # Hang et al.'s min-SNR-γ is min(SNR, γ))
            weight = (self.dcfg.snr_cap * (1 - a)).clamp(max=1.0).float()
        else:
            weight = torch.ones_like(err)
        loss = (weight * err).mean()
        zero = torch.zeros((), device=loss.device)
        # the parts train() logs for every model: here `rec` is the diffusion loss; there is no ce or presence
        return loss, {"rec": loss.detach(), "ce": zero, "presence": zero, "total": loss.detach()}

    # ----------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample(self, log_mag: torch.Tensor, classes: torch.Tensor, steps: int | None = None,
               generator: torch.Generator | None = None, trajectory: bool = False):
        """Sample the sources of `classes` from noise with deterministic DDIM.

        Args:
            log_mag: (B, 1, F, T) the mixture (the network input of every model).
            classes: (B, K) long.
            steps: DDIM steps (default `self.sampling_steps`).
            generator: for the starting noise (default: seeded with `self.seed`).
            trajectory: also return the per-step {"t", "x_t", "x0_hat"}, each (B, K, F, T).

        Returns:
            x̂_0 (B, K, F, T), the diffusion's data (`decode` gives magnitudes), and the
            presence logits (B, C) or None; with trajectory=True a third item.
        """
        B, K = classes.shape
        Fq, T = log_mag.shape[-2:]
        if generator is None:
            generator = torch.Generator().manual_seed(self.seed)
        cond, presence = self.condition(log_mag, classes)
        cond = cond.reshape(B * K, -1)                                                 # (B, K, Dc) → (B·K, Dc)
        mix = self.to_repr(self.mixture_magnitude(log_mag)).repeat_interleave(K, dim=0)  # (B·K, 1, F, T)

        def denoise(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return self.denoiser(x_t, t, mix, cond)

        result = ddpm.ddim_sample(denoise, (B * K, 1, Fq, T), self.alpha_bar, steps or self.sampling_steps,
                                  prediction=self.dcfg.prediction, clip=self.dcfg.data_scale, generator=generator,
                                  device=log_mag.device,
                                  trajectory=trajectory)
        x0, traj = result if trajectory else (result, None)
        x0 = x0.reshape(B, K, Fq, T)  # (B·K, 1, F, T) → (B, K, F, T)
        if not trajectory:
            return x0, presence
        for step in traj:
            step["x_t"] = step["x_t"].reshape(B, K, Fq, T)
            step["x0_hat"] = step["x0_hat"].reshape(B, K, Fq, T)
        return x0, presence, traj

    @torch.no_grad()
    def sample_mean(self, log_mag: torch.Tensor, classes: torch.Tensor, steps: int | None = None,
                    n_samples: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The average of n samples x̂_0, drawn from the starting noises of seeds seed, seed+1, … seed+n−1.

        One sample commits to one plausible source; the average of many approaches the posterior
        mean E[x_0 | mixture, class], the estimate with the least squared error (notebook 07,
        section 7). n_samples = 1 (the default, `self.n_samples`) is exactly `sample`.

        Args:
            log_mag: (B, 1, F, T) the mixture.
            classes: (B, K) long.
            steps: DDIM steps per sample (default `self.sampling_steps`).
            n_samples: how many samples to average (default `self.n_samples`); costs n × steps passes.

        Returns:
            the mean x̂_0 (B, K, F, T) and the presence logits (B, C) or None.
        """
        n = n_samples or self.n_samples
        if n < 1:
            raise ValueError(f"n_samples must be at least 1, not {n}")
        total, presence = None, None
        for k in range(n):
            x0, presence = self.sample(log_mag, classes, steps, generator=torch.Generator().manual_seed(self.seed + k))
            total = x0 if total is None else total + x0                              # (B, K, F, T)
        return total / n, presence

    def masks_from_sample(self, x0: torch.Tensor, log_mag: torch.Tensor) -> torch.Tensor:
        """Sampled sources x̂_0 (B, K, F, T) → ratios ŵ_i / w_mix in [0, max_ratio]."""
        mix = self.mixture_magnitude(log_mag)                     # (B, 1, F, T), broadcasts over K
        est = self.decode(x0, mix)                                # (B, K, F, T) magnitudes
        return (est / (mix + 1e-8)).clamp(0, self.dcfg.max_ratio)

    @torch.no_grad()
    def separation_masks(self, log_mag: torch.Tensor, classes: torch.Tensor, steps: int | None = None
                         ) -> tuple[torch.Tensor, dict[str, Any]]:
        """(B, 1, F, T), (B, K) → ratio masks (B, K, F, T) and info {"presence": (B, C)} where the SGN gives it.

        The masks come from the average of `self.n_samples` samples (one by default).
        """
        x0, presence = self.sample_mean(log_mag, classes, steps)
        info = {"presence": torch.sigmoid(presence.float())} if presence is not None else {}
        return self.masks_from_sample(x0, log_mag), info

    def forward(self, log_mag: torch.Tensor, classes: torch.Tensor | None = None,
                targets: dict[str, torch.Tensor] | None = None) -> dict[str, Any]:
        if targets is not None:  # training: the loss of `training_loss` (called through forward, so DDP sees it)
            loss, parts = self.training_loss(targets, classes)
            return {"loss": loss, "parts": parts}
        if classes is None:  # every class: C sampling runs per mixture
            classes = torch.arange(self.cfg.n_classes, device=log_mag.device).expand(log_mag.shape[0], -1)
        x0, presence = self.sample_mean(log_mag, classes)
        return {"masks": self.masks_from_sample(x0, log_mag), "mask_classes": classes, "presence_logits": presence}


__all__ = ["DiffusionSeparator", "NOISY_FROM"]
