"""Source augmentation for mix-and-separate training: learn the instrument, not the recording.

A model trained on one rendering of each instrument learns that rendering: its
exact spectral envelope, its loudness, its dry room. Each training *source* is
therefore varied, before mixing, in ways that keep its class:

* **gain** — a random linear gain (SoP's ×0.5–1.5), so loudness is not a cue
  and the model meets every balance between the sources;
* **pitch** — a small shift by reading the crop faster or slower (±1 semitone
  also changes the tempo by ±6 %, which a phrase tolerates);
* **spectral tilt and EQ** — a smooth random gain curve over log-frequency: a
  different microphone, instrument body or room colour;
* **reverberation** — a synthetic room: exponentially decaying noise with a
  random decay time (RT60), mixed in at a random wet level;
* **vibrato** (off in every course recipe) — a slow random pitch wobble, read
  like the pitch shift: a test of whether vibrato is a cue the model should
  not trust (benchmarks/bench_timbre_transfer.py).

The mixture is the sum of the *augmented* sources, and each augmented source is
its target. The random draws (:func:`draw_params`) happen per mixture in the
dataset, from the mixture's own generator, so an augmented mixture is as
reproducible as a plain one; the signal processing (:func:`apply_augmentation`)
is batched torch code, run on the training device for a whole batch at once
(one FFT and one inverse FFT per source). Evaluation never augments.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..core.config import AugmentConfig

EQ_HARMONICS = 3      # cosines (over log-frequency) in the random EQ curve
EQ_LOW_HZ = 50.0      # the EQ/tilt curve is flat below this frequency
TILT_PIVOT_HZ = 1000.0
VIBRATO_HZ = (4.0, 7.0)  # the range of vibrato rates, Hz


def fft_size(n: int) -> int:
    """The smallest 2^a·3^b·5^c ≥ n: sizes the FFT computes quickly."""
    best = 1 << int(math.ceil(math.log2(n)))
    for b in range(0, 12):
        for c in range(0, 8):
            m = 3**b * 5**c
            if m > best:
                break
            size = m * (1 << max(int(math.ceil(math.log2(n / m))), 0))
            best = min(best, size)
    return best


def read_length(n: int, cfg: AugmentConfig) -> int:
    """Samples a raw crop must hold so that the fastest pitch shift (and vibrato's peak) can still fill n output
    samples."""
    cents = 100.0 * max(cfg.pitch_semitones, 0.0) + max(cfg.vibrato_cents, 0.0)
    return int(math.ceil(n * 2.0 ** (cents / 1200.0))) + 2


def rir_length(cfg: AugmentConfig, sample_rate: int) -> int:
    """Length of the (zero-padded) room impulse responses: the longest RT60."""
    return int(cfg.reverb_rt60[1] * sample_rate) + 1


def draw_params(rng: np.random.Generator, cfg: AugmentConfig, sample_rate: int) -> dict[str, np.ndarray]:
    """The random choices for one source.

    Returns a dict of arrays: `speed` () playback factor 2^(s/12), `tilt` () dB per
    octave, `eq_amp` (3,) and `eq_phase` (3,) of the EQ curve, `gain` (), and the
    room: `wet` () (0 for a dry source) and `rir` (L_rir,) a unit-energy impulse
    response (zeros when dry); the vibrato: `vib_cents` () depth (0: none), `vib_hz` () rate, `vib_phase` ().
    Vibrato is drawn last and only when it is on, so every other draw is what it was without it.
    """
    p = cfg.pitch_semitones
    out = {
        "speed": np.float32(2.0 ** (rng.uniform(-p, p) / 12.0) if p > 0 else 1.0),
        "tilt": np.float32(rng.uniform(-cfg.tilt_db_per_octave, cfg.tilt_db_per_octave)
                           if cfg.tilt_db_per_octave > 0 else 0.0),
        "eq_amp": (rng.uniform(-1.0, 1.0, EQ_HARMONICS) / np.arange(1, EQ_HARMONICS + 1)).astype(np.float32)
        if cfg.eq_db > 0 else np.zeros(EQ_HARMONICS, np.float32),
        "eq_phase": rng.uniform(0, 2 * np.pi, EQ_HARMONICS).astype(np.float32),
        "gain": np.float32(rng.uniform(*cfg.gain)),
        "wet": np.float32(0.0),
        "rir": np.zeros(rir_length(cfg, sample_rate), np.float32),
        "vib_cents": np.float32(0.0),
        "vib_hz": np.float32(0.0),
        "vib_phase": np.float32(0.0),
    }
    if cfg.reverb_prob > 0 and rng.random() < cfg.reverb_prob:
        rt60 = rng.uniform(*cfg.reverb_rt60)
        t = np.arange(int(rt60 * sample_rate)) / sample_rate
        tail = rng.standard_normal(len(t)) * np.exp(-6.908 * t / rt60)  # −60 dB (ln 1000 = 6.908) at t = rt60
        out["rir"][: len(tail)] = tail / (np.sqrt(np.sum(tail**2)) + 1e-12)  # unit energy
        out["wet"] = np.float32(rng.uniform(*cfg.reverb_wet))
    if cfg.vibrato_cents > 0:
        out["vib_cents"] = np.float32(rng.uniform(0.0, cfg.vibrato_cents))
        out["vib_hz"] = np.float32(rng.uniform(*VIBRATO_HZ))
        out["vib_phase"] = np.float32(rng.uniform(0, 2 * np.pi))
    return out


def vibrato_positions(speed: torch.Tensor, cents: torch.Tensor, hz: torch.Tensor, phase: torch.Tensor, n: int,
                      sample_rate: int) -> torch.Tensor:
    """Read positions (..., n) for a speed that wobbles by ±`cents` at `hz` around `speed`: all (...) → (..., n).

    The instantaneous speed is speed · 2^(cents · sin(2π·hz·t + phase) / 1200); the position is its running sum.
    """
    t = torch.arange(n, device=speed.device, dtype=torch.float32) / sample_rate                # (n,) seconds
    wobble = cents.unsqueeze(-1) * torch.sin(2 * math.pi * hz.unsqueeze(-1) * t + phase.unsqueeze(-1))  # (..., n)
    step = speed.unsqueeze(-1) * 2.0 ** (wobble / 1200.0)                                     # (..., n) samples/sample
    return torch.cumsum(step, -1) - step[..., :1]                                             # starts at 0


def change_speed(raw: torch.Tensor, speed: torch.Tensor, n: int, positions: torch.Tensor | None = None) -> torch.Tensor:
    """Read each crop at its own speed by linear interpolation: (..., L_raw), (...) → (..., n).

    speed > 1 raises the pitch (and the tempo), < 1 lowers both. `positions` (..., n), when given, are the read
    positions instead (:func:`vibrato_positions`).
    """
    pos = (torch.arange(n, device=raw.device, dtype=torch.float32) * speed.unsqueeze(-1)  # (..., n) read positions
           if positions is None else positions)
    pos = pos.clamp(max=raw.shape[-1] - 1)  # past the end: hold the last sample
    # the left neighbour as an integer, at most the second-to-last sample (a float bound such as L − 1.001
    # rounds up to L − 1 in float32 once L > 2^14, and left + 1 would then read past the end)
    left = pos.floor().long().clamp(max=raw.shape[-1] - 2)
    frac = pos - left
    a = torch.gather(raw, -1, left)
    b = torch.gather(raw, -1, left + 1)
    return a + frac * (b - a)


def eq_curve_db(freqs: torch.Tensor, tilt: torch.Tensor, eq_amp: torch.Tensor, eq_phase: torch.Tensor,
                eq_db: float) -> torch.Tensor:
    """Gain curves in dB: freqs (K,), tilt (...), eq_amp/eq_phase (..., 3) → (..., K).

    tilt · log2(f / 1 kHz) plus a sum of 3 cosines over log-frequency scaled to at most ±eq_db.
    """
    f = freqs.clamp(min=EQ_LOW_HZ)
    curve = tilt.unsqueeze(-1) * torch.log2(f / TILT_PIVOT_HZ)  # (..., K)
    if eq_db > 0:
        u = torch.log2(f / EQ_LOW_HZ) / math.log2(max(float(freqs[-1]), 2 * EQ_LOW_HZ) / EQ_LOW_HZ)  # (K,) 0 … 1
        k = torch.arange(1, EQ_HARMONICS + 1, device=freqs.device, dtype=freqs.dtype)  # (3,)
        # (..., 3, 1) amplitudes and phases against (3, K) cosine arguments, summed over the 3 → (..., K)
        bumps = (eq_amp.unsqueeze(-1) * torch.cos(math.pi * k[:, None] * u + eq_phase.unsqueeze(-1))).sum(-2)
        peak = bumps.abs().amax(-1, keepdim=True).clamp(min=1.0)
        curve = curve + eq_db * bumps / peak
    return curve


def apply_augmentation(raw: torch.Tensor, params: dict[str, torch.Tensor], cfg: AugmentConfig, n: int,
                       sample_rate: int) -> torch.Tensor:
    """Augment a batch of raw crops: (..., L_raw) and the params of :func:`draw_params` stacked to (...) → (..., n).

    Pitch (speed, and the vibrato when it is on) first, then one spectral multiply per source holding the EQ/tilt
    curve and the room (dry·δ + wet·RIR), then the loudness is set back to the
    crop's own RMS and the random gain applied.
    """
    positions = (vibrato_positions(params["speed"], params["vib_cents"], params["vib_hz"], params["vib_phase"], n,
                                   sample_rate) if cfg.vibrato_cents > 0 else None)
    x = change_speed(raw.float(), params["speed"], n, positions)  # (..., n)
    rms = x.pow(2).mean(-1, keepdim=True).sqrt()
    size = fft_size(n + params["rir"].shape[-1])  # long enough for a linear, not circular, convolution
    spectrum = torch.fft.rfft(x, size)  # (..., K)
    freqs = torch.fft.rfftfreq(size, 1.0 / sample_rate, device=x.device)  # (K,)
    response = 10 ** (eq_curve_db(freqs, params["tilt"], params["eq_amp"], params["eq_phase"], cfg.eq_db) / 20)
    wet = params["wet"].unsqueeze(-1)  # (..., 1)
    room = (1 - wet).sqrt() + wet.sqrt() * torch.fft.rfft(params["rir"].float(), size)  # δ is 1 at every frequency
    y = torch.fft.irfft(spectrum * response * room, size)[..., :n]
    y = y * rms / y.pow(2).mean(-1, keepdim=True).sqrt().clamp(min=1e-12)  # colour and room change timbre, not level
    return y * params["gain"].unsqueeze(-1)


__all__ = ["VIBRATO_HZ", "apply_augmentation", "change_speed", "draw_params", "eq_curve_db", "fft_size", "read_length",
           "rir_length", "vibrato_positions"]
