"""Checkers for notebook 07, *Generative separation*.

Each prints ✔ or ✘ with what was expected (via :func:`sgn_teach.exercises.report`),
returns a bool, and never raises. As shipped (a placeholder answer) they say what to
compute, never the answer itself.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..models import ddpm
from . import report


def snr_crossing(timesteps: int = 1000) -> int:
    """The first step t at which the cosine schedule's SNR ᾱ_t/(1−ᾱ_t) is below 1 (0 dB)."""
    a = ddpm.cosine_alpha_bar(timesteps)
    return int(torch.nonzero(a / (1 - a) < 1)[0])


def check_snr_crossing(answer: Any, timesteps: int = 1000, tolerance: int = 5) -> bool:
    """Exercise 1: the step where signal and noise have equal power (within ±`tolerance` steps)."""
    expected = snr_crossing(timesteps)
    try:
        ok = answer is not None and not isinstance(answer, bool) and abs(float(answer) - expected) <= tolerance
    except (TypeError, ValueError):
        ok = False
    right = (f"t ≈ {expected}: ᾱ_t = 1/2 where (t/T + s)/(1 + s) = 1/2, i.e. t/T = 0.5 − s/2 — just before the "
             "middle. Half of the steps are mostly signal, half mostly noise: the cosine schedule spends its steps "
             "evenly across the SNRs that matter, unlike the linear schedule, which is almost pure noise by t = T/2.")
    if answer is None:
        hint = ("no answer yet: compute SNR = ᾱ/(1 − ᾱ) from ddpm.cosine_alpha_bar(1000) and find the first t "
                "where it drops below 1.")
    else:
        hint = (f"{answer!r} is not it. SNR_t = ᾱ_t/(1 − ᾱ_t) is 1 where ᾱ_t = 0.5; look it up in "
                "ddpm.cosine_alpha_bar(1000) (e.g. torch.nonzero(snr < 1)[0]).")
    return report(ok, right, hint)


def _probe() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    a = ddpm.cosine_alpha_bar(1000)
    x0 = torch.rand(3, 1, 4, 4, generator=g) * 2 - 1
    eps = torch.randn(3, 1, 4, 4, generator=g)
    return a, x0, eps, torch.tensor([20, 480, 950])


def check_x0_from_v(fn: Callable) -> bool:
    """Exercise 2: fn(x_t, v, alpha_bar_t) → x_0, with alpha_bar_t a (B, 1, 1, 1) tensor."""
    a, x0, eps, t = _probe()
    x_t = ddpm.q_sample(x0, t, eps, a)
    v = ddpm.v_target(x0, eps, t, a)
    a_t = a[t].float().reshape(-1, 1, 1, 1)
    try:
        got = fn(x_t, v, a_t)
    except NotImplementedError:
        return report(False, "", "not implemented yet: return √ᾱ·x_t minus something times v (see section 4).")
    except Exception as exc:  # a learner's bug must not stop the notebook
        return report(False, "", f"your function raised {type(exc).__name__}: {exc}")
    if not isinstance(got, torch.Tensor) or got.shape != x0.shape:
        return report(False, "", f"expected a tensor of shape {tuple(x0.shape)}, got {type(got).__name__}"
                                 f"{' ' + str(tuple(got.shape)) if isinstance(got, torch.Tensor) else ''}.")
    ok = torch.allclose(got.float(), x0, atol=1e-4)
    return report(ok, "x_0 = √ᾱ_t · x_t − √(1−ᾱ_t) · v: from a v-prediction the clean spectrogram follows exactly, at "
                      "every noise level — that is what lets the sampler start at t = T−1.",
                  "not x_0 yet: substitute x_t = √ᾱ x_0 + √(1−ᾱ) ε and v = √ᾱ ε − √(1−ᾱ) x_0, and solve for x_0 "
                  "(it is a combination of x_t and v with coefficients √ᾱ and √(1−ᾱ)).")


def check_ddim_step(fn: Callable) -> bool:
    """Exercise 3: fn(x_t, x0_hat, alpha_bar_t, alpha_bar_prev) → x_{t_prev}, floats for the ᾱs."""
    a, x0, eps, _ = _probe()
    t, t_prev = 600, 400
    x_t = ddpm.q_sample(x0, torch.full((3,), t), eps, a)
    x0_hat = (x0 + 0.1).clamp(-1, 1)  # an imperfect guess
    want = ddpm.ddim_step(x_t, x0_hat, t, t_prev, a)
    try:
        got = fn(x_t, x0_hat, float(a[t]), float(a[t_prev]))
    except NotImplementedError:
        return report(False, "", "not implemented yet: first the noise direction ε̂ from x_t and x̂_0, then "
                                 "recombine it with x̂_0 at the earlier step's ᾱ.")
    except Exception as exc:
        return report(False, "", f"your function raised {type(exc).__name__}: {exc}")
    if not isinstance(got, torch.Tensor) or got.shape != want.shape:
        return report(False, "", f"expected a tensor of shape {tuple(want.shape)}.")
    ok = torch.allclose(got.float(), want, atol=1e-4)
    return report(ok, "ε̂ = (x_t − √ᾱ_t x̂_0)/√(1−ᾱ_t), then x_prev = √ᾱ_prev x̂_0 + √(1−ᾱ_prev) ε̂: the same noise "
                      "direction, a smaller share of it. No fresh noise is drawn (η = 0), so the sampler is "
                      "deterministic.",
                  "not the DDIM update: keep the noise direction ε̂ implied by x_t and x̂_0, and rebuild the sample "
                  "with ᾱ_prev instead of ᾱ_t (no new random noise).")


__all__ = ["snr_crossing", "check_snr_crossing", "check_x0_from_v", "check_ddim_step"]
