"""Denoising diffusion, the maths only: noise schedule, forward process, v/ε targets, DDIM sampling.

Notation (Ho et al. 2020, DDPM; Song et al. 2021, DDIM; Salimans & Ho 2022, v-prediction):

    x_0        the clean data (here: a source's spectrogram in the representation of
               `sgn_teach.models.diffusion`, values in [−1, 1])
    ᾱ_t        the share of signal variance left at step t (t = 0 … T−1), ᾱ_0 ≈ 1, ᾱ_{T−1} ≈ 0
    x_t        = √ᾱ_t · x_0 + √(1−ᾱ_t) · ε,   ε ~ N(0, I)       (the forward process, `q_sample`)
    v          = √ᾱ_t · ε − √(1−ᾱ_t) · x_0                     (what our network predicts)

From (x_t, v) both x_0 and ε follow exactly:
    x_0 = √ᾱ_t · x_t − √(1−ᾱ_t) · v,     ε = √(1−ᾱ_t) · x_t + √ᾱ_t · v.

Why v rather than ε: a few-step sampler starts at t = T−1, where ᾱ ≈ 0. There an
ε-prediction says almost nothing about x_0 (x_0 = (x_t − √(1−ᾱ)ε)/√ᾱ divides by ≈ 0),
while a v-prediction *is* −x_0 up to sign; at t ≈ 0 it becomes ε. So v is
well-conditioned at both ends of the schedule — what a deterministic sampler with
4–16 steps needs.

DDIM (η = 0) walks a few steps τ_S > … > τ_1 deterministically:
    x_{τ_{i−1}} = √ᾱ_{τ_{i−1}} · x̂_0 + √(1−ᾱ_{τ_{i−1}}) · ε̂,
the same noise direction ε̂, with the signal part replaced by the current guess x̂_0.
The same starting noise gives the same result, which is why `separate` is
reproducible.

Nothing here knows about audio; tensors are any shape (B, …) with t of shape (B,).
"""

from __future__ import annotations

import math
from typing import Callable

import torch

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t (B, …), t (B,) long) → prediction (B, …)


def cosine_alpha_bar(timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """ᾱ_t for t = 0 … T−1 of the cosine schedule (Nichol & Dhariwal 2021): (T,) float64, decreasing.

    f(τ) = cos²((τ/T + s)/(1 + s) · π/2), ᾱ_t = f(t+1)/f(0), with every per-step
    β_t = 1 − ᾱ_t/ᾱ_{t−1} clipped to `max_beta` (so ᾱ_{T−1} stays just above 0).
    """
    tau = torch.arange(timesteps + 1, dtype=torch.float64)
    f = torch.cos((tau / timesteps + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=max_beta)  # (T,)
    return torch.cumprod(1 - betas, dim=0)


def _gather(alpha_bar: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """ᾱ_t for a batch of steps t (B,), shaped (B, 1, …, 1) to broadcast against `like` (B, …)."""
    a = alpha_bar.to(like.device)[t].to(like.dtype)
    return a.reshape(-1, *([1] * (like.dim() - 1)))  # (B,) → (B, 1, …, 1)


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """The forward process: x_t = √ᾱ_t · x_0 + √(1−ᾱ_t) · ε. x0, noise (B, …); t (B,) long → (B, …)."""
    a = _gather(alpha_bar, t, x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def v_target(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """v = √ᾱ_t · ε − √(1−ᾱ_t) · x_0: (B, …)."""
    a = _gather(alpha_bar, t, x0)
    return a.sqrt() * noise - (1 - a).sqrt() * x0


def x0_from_v(x_t: torch.Tensor, v: torch.Tensor, t: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """x_0 = √ᾱ_t · x_t − √(1−ᾱ_t) · v: (B, …)."""
    a = _gather(alpha_bar, t, x_t)
    return a.sqrt() * x_t - (1 - a).sqrt() * v


def eps_from_x0(x_t: torch.Tensor, x0: torch.Tensor, t: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """ε = (x_t − √ᾱ_t · x_0) / √(1−ᾱ_t): (B, …)."""
    a = _gather(alpha_bar, t, x_t)
    return (x_t - a.sqrt() * x0) / (1 - a).sqrt()


def predict_x0(prediction: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, alpha_bar: torch.Tensor,
               kind: str = "v") -> torch.Tensor:
    """The network's guess of x_0 from its output, for either parameterisation ("v" or "eps")."""
    if kind == "v":
        return x0_from_v(x_t, prediction, t, alpha_bar)
    a = _gather(alpha_bar, t, x_t)
    return (x_t - (1 - a).sqrt() * prediction) / a.sqrt()


def ddim_timesteps(timesteps: int, steps: int) -> list[int]:
    """The S steps τ_S > … > τ_1 a DDIM sampler visits, evenly spaced and starting at T−1 ("trailing").

    Starting at the very last step matters: the sampler's input is then pure
    noise, exactly what it is given.
    """
    if not 1 <= steps <= timesteps:
        raise ValueError(f"steps must be in 1…{timesteps}, not {steps}")
    return [round(timesteps * (i + 1) / steps) - 1 for i in reversed(range(steps))]


def ddim_step(x_t: torch.Tensor, x0_hat: torch.Tensor, t: int, t_prev: int, alpha_bar: torch.Tensor) -> torch.Tensor:
    """One deterministic DDIM update (η = 0) from step t to t_prev < t (t_prev = −1: the end, returns x̂_0).

    ε̂ = (x_t − √ᾱ_t x̂_0)/√(1−ᾱ_t);  x_{t_prev} = √ᾱ_{t_prev} · x̂_0 + √(1−ᾱ_{t_prev}) · ε̂.
    """
    if t_prev < 0:
        return x0_hat
    a_t, a_prev = alpha_bar[t].item(), alpha_bar[t_prev].item()
    eps_hat = (x_t - math.sqrt(a_t) * x0_hat) / math.sqrt(1 - a_t)
    return math.sqrt(a_prev) * x0_hat + math.sqrt(1 - a_prev) * eps_hat


@torch.no_grad()
def ddim_sample(denoise: Denoiser, shape: tuple[int, ...], alpha_bar: torch.Tensor, steps: int,
                prediction: str = "v", clip: float | None = 1.0, generator: torch.Generator | None = None,
                device: torch.device | str = "cpu", trajectory: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """Deterministic DDIM sampling from pure noise.

    Args:
        denoise: the network, (x_t, t (B,) long) → its prediction (`prediction`: "v" or "eps").
        shape: (B, …) of the sample.
        steps: S, the number of network evaluations.
        clip: clamp each x̂_0 to [−clip, clip] (the data range) before the update; None: no clamp.
        generator: for the starting noise x_{T−1} (drawn on the CPU, so a seed gives the same
            noise on every device).
        trajectory: also return, per step, {"t", "x_t", "x0_hat"} (for the notebook's animation).

    Returns:
        x̂_0 (B, …), or (x̂_0, trajectory).
    """
    T = len(alpha_bar)
    taus = ddim_timesteps(T, steps)
    x = torch.randn(shape, generator=generator, dtype=torch.float32).to(device)  # x_{T−1} ~ N(0, I)
    traj: list[dict[str, torch.Tensor]] = []
    for i, t in enumerate(taus):
        t_batch = torch.full((shape[0],), t, dtype=torch.long, device=device)
        x0_hat = predict_x0(denoise(x, t_batch).float(), x, t_batch, alpha_bar, prediction)
        if clip is not None:
            x0_hat = x0_hat.clamp(-clip, clip)
        if trajectory:
            traj.append({"t": torch.tensor(t), "x_t": x.cpu(), "x0_hat": x0_hat.cpu()})
        x = ddim_step(x, x0_hat, t, taus[i + 1] if i + 1 < len(taus) else -1, alpha_bar)
    return (x, traj) if trajectory else x


__all__ = ["cosine_alpha_bar", "q_sample", "v_target", "x0_from_v", "eps_from_x0", "predict_x0",
           "ddim_timesteps", "ddim_step", "ddim_sample"]
