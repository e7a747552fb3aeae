"""A procedural synthesizer: one recognisable timbre per MUSIC-11 class, in pure NumPy.

No system packages, no SoundFont, deterministic for a seed, and fast (tests build
whole libraries with it). It is the fallback course data wherever FluidSynth is
missing. Each class differs in the ways that real instruments differ:

* the **harmonic amplitude profile** a_k of partial k (a spectral tilt k^-tilt,
  odd harmonics only for the clarinet's cylindrical bore, the pluck-position comb
  |sin(π k p)| of a guitar string, body resonances / formants at fixed
  frequencies, such as the violin's "bridge hill" near 3 kHz or the erhu's nasal
  peak near 1.1 kHz);
* the **envelope**: ADSR for bowed and blown notes, an exponential decay for
  plucked and struck ones, where high partials die first;
* **vibrato** (bowed and wind instruments), **slides** into notes (erhu),
  **detuned reed pairs** (accordion "musette" beating), brass getting brighter
  during the attack;
* **noise**: bow and breath noise, a pick or mallet click;
* **inharmonic partials** for the xylophone's bars (1 : 3 : 6.2 : 9.7).

A harmonic sound is read from a *wavetable*: one period built with an inverse FFT
from a_k (only partials below Nyquist, so no aliasing), read at the running phase
∫ f0(t) dt, so vibrato and slides cost nothing extra.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from ..core.config import SAMPLE_RATE
from ..core.errors import DataError
from ..signal.audio import save_audio
from .classes import MUSIC11_NAMES, check_classes, class_index, get_class
from .phrases import Note, clip_rng, random_phrase

TABLE_SIZE = 2048   # samples in one wavetable period
PEAK = 0.9          # clips are peak-normalised to this


@dataclass(frozen=True)
class Timbre:
    """The synthesis recipe of one class (see the module docstring for the ideas).

    Amplitude of harmonic k at frequency k·f0:
        a_k = k^-tilt · geo^(k-1) · (even if k even) · |sin(π k pluck)| · (1 + Σ formant bumps) · exp(-k f0 / cutoff)
    """

    tilt: float = 1.0
    geo: float = 1.0                       # extra geometric roll-off per harmonic
    even: float = 1.0                      # gain of even harmonics (clarinet: weak)
    even_above: float = 1e9                # ... but only below this frequency (Hz)
    pluck: float = 0.0                     # pluck position along the string (0: off)
    fundamental: float = 1.0               # extra gain of harmonic 1
    formants: tuple[tuple[float, float, float], ...] = ()   # (centre Hz, width Hz, gain)
    cutoff: float = 4000.0                 # Hz, soft high-frequency roll-off
    kind: str = "sustained"                # "sustained" | "plucked" | "bar"
    attack: float = 0.05                   # s
    decay: float = 0.1                     # s, attack peak → sustain level
    sustain: float = 0.85
    release: float = 0.1                   # s to -40 dB after the note ends
    ring: float = 1.0                      # s, decay time constant at 220 Hz (plucked / bar)
    bright_tilt: float | None = None       # a second, brighter layer ...
    bright_attack: float = 0.0             # ... that fades in (brass) ...
    bright_ring: float = 0.0               # ... or dies out (plucked) with this time constant
    detune_cents: float = 0.0              # second, detuned copy (accordion reeds)
    vibrato_rate: float = 0.0              # Hz
    vibrato_depth: float = 0.0             # relative frequency deviation
    vibrato_delay: float = 0.2             # s before vibrato is full
    slide: float = 0.0                     # s, time constant of a glide from the previous note
    noise_hz: float = 2000.0               # centre of the band-passed noise
    attack_noise: float = 0.0              # level of a noise burst at the onset
    noise_sustain: float = 0.0             # level of bow / breath noise during the note


TIMBRES: dict[str, Timbre] = {
    "accordion": Timbre(tilt=0.7, formants=((1800, 700, 1.5),), cutoff=4500, attack=0.03, decay=0.05,
                        sustain=0.9, release=0.06, detune_cents=7.0, noise_hz=2500, noise_sustain=0.004),
    "acoustic_guitar": Timbre(tilt=1.0, pluck=0.17, formants=((200, 80, 2.0), (400, 150, 1.0)), cutoff=4000,
                              kind="plucked", ring=0.9, bright_tilt=0.4, bright_ring=0.12, noise_hz=3500,
                              attack_noise=0.25),
    "cello": Timbre(tilt=1.0, formants=((250, 100, 2.0), (600, 200, 1.5), (1600, 500, 1.0)), cutoff=3000,
                    attack=0.08, decay=0.1, sustain=0.85, release=0.15, vibrato_rate=5.2, vibrato_depth=0.0035,
                    vibrato_delay=0.25, noise_hz=1500, attack_noise=0.15, noise_sustain=0.015),
    "clarinet": Timbre(tilt=1.0, even=0.06, even_above=1800, cutoff=3000, attack=0.04, decay=0.05, sustain=0.95,
                       release=0.08, noise_hz=2000, noise_sustain=0.008),
    "erhu": Timbre(tilt=0.8, fundamental=0.5, formants=((1100, 350, 3.0), (2500, 600, 1.0)), cutoff=4500,
                   attack=0.06, decay=0.08, sustain=0.9, release=0.12, vibrato_rate=6.0, vibrato_depth=0.012,
                   vibrato_delay=0.12, slide=0.035, noise_hz=2000, attack_noise=0.12, noise_sustain=0.015),
    "flute": Timbre(tilt=0.0, geo=0.35, cutoff=5000, attack=0.06, decay=0.1, sustain=0.9, release=0.1,
                    vibrato_rate=5.0, vibrato_depth=0.004, vibrato_delay=0.2, noise_hz=2500, attack_noise=0.25,
                    noise_sustain=0.06),
    "saxophone": Timbre(tilt=0.6, formants=((550, 200, 2.0), (1600, 500, 2.0)), cutoff=3500, attack=0.04,
                        decay=0.08, sustain=0.85, release=0.08, vibrato_rate=5.5, vibrato_depth=0.005,
                        vibrato_delay=0.3, noise_hz=1500, attack_noise=0.1, noise_sustain=0.02),
    "trumpet": Timbre(tilt=1.5, fundamental=0.6, formants=((1300, 450, 4.0),), cutoff=2500, attack=0.02, decay=0.1, sustain=0.85,
                      release=0.08, bright_tilt=0.3, bright_attack=0.08, vibrato_rate=5.5, vibrato_depth=0.002,
                      vibrato_delay=0.4, noise_hz=1500, attack_noise=0.05),
    "tuba": Timbre(tilt=1.4, formants=((230, 120, 2.0),), cutoff=900, attack=0.07, decay=0.1, sustain=0.85,
                   release=0.12, bright_tilt=0.8, bright_attack=0.12, noise_hz=400, noise_sustain=0.01),
    "violin": Timbre(tilt=0.9, formants=((280, 100, 1.5), (500, 150, 1.0), (2800, 900, 2.0)), cutoff=5000,
                     attack=0.06, decay=0.1, sustain=0.85, release=0.12, vibrato_rate=5.8, vibrato_depth=0.005,
                     vibrato_delay=0.2, noise_hz=3000, attack_noise=0.1, noise_sustain=0.012),
    "xylophone": Timbre(kind="bar", ring=0.35, noise_hz=4000, attack_noise=0.3),
}

# xylophone bar modes: frequency ratio, amplitude, decay-time ratio
BAR_PARTIALS = ((1.0, 1.0, 1.0), (3.0, 0.35, 0.35), (6.2, 0.12, 0.15), (9.7, 0.06, 0.08))


def midi_to_hz(pitch: float) -> float:
    """MIDI pitch → frequency (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


def harmonic_amplitudes(t: Timbre, f0: float, sample_rate: int, tilt: float | None = None) -> np.ndarray:
    """a_k of the harmonics k = 1..K below 0.45·sample_rate: (K,)."""
    k = np.arange(1, max(2, int(0.45 * sample_rate / f0)) + 1, dtype=np.float64)
    f = k * f0
    a = k ** -(t.tilt if tilt is None else tilt) * t.geo ** (k - 1)
    a *= np.where((k % 2 == 0) & (f < t.even_above), t.even, 1.0)
    if t.pluck:
        a *= np.abs(np.sin(np.pi * k * t.pluck)) + 0.05
    bumps = sum(g * np.exp(-0.5 * ((f - fc) / bw) ** 2) for fc, bw, g in t.formants)
    a *= 1.0 + bumps
    a *= np.exp(-f / t.cutoff)
    a[0] *= t.fundamental
    return a


@functools.lru_cache(maxsize=4096)
def wavetable(name: str, pitch: int, sample_rate: int, bright: bool = False) -> np.ndarray:
    """One period of class `name` at MIDI `pitch`: (TABLE_SIZE + 1,) float32, peak 1, last = first sample.

    Built with an inverse real FFT: bin k of the spectrum holds harmonic k.
    """
    t = TIMBRES[name]
    a = harmonic_amplitudes(t, midi_to_hz(pitch), sample_rate, tilt=t.bright_tilt if bright else None)
    a = a[: TABLE_SIZE // 2 - 1]
    phases = np.random.default_rng(class_index(name)).uniform(0, 2 * np.pi, len(a))  # fixed per class
    spec = np.zeros(TABLE_SIZE // 2 + 1, dtype=np.complex128)
    spec[1: len(a) + 1] = a * np.exp(1j * phases)
    table = np.fft.irfft(spec, n=TABLE_SIZE)
    table /= np.abs(table).max()
    return np.append(table, table[0]).astype(np.float32)  # wrap-around sample for interpolation


def _read_table(table: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Linear-interpolated lookup at `phase` (in cycles, any real): (n,) → (n,)."""
    pos = (phase % 1.0) * TABLE_SIZE
    i = pos.astype(np.int64)
    frac = (pos - i).astype(np.float32)
    return table[i] + frac * (table[i + 1] - table[i])


def _adsr(t: Timbre, n_on: int, time: np.ndarray) -> np.ndarray:
    """Attack-decay-sustain while the key is down (n_on samples), then an exponential release.

    Args:
        time: (n,) seconds since the onset.
    """
    n = len(time)
    env = np.minimum(time / t.attack, 1.0)
    after = np.maximum(time - t.attack, 0.0)
    env = env * (t.sustain + (1 - t.sustain) * np.exp(-after / t.decay))
    if n > n_on:
        held = env[n_on - 1] if n_on > 0 else 0.0
        env[n_on:] = held * np.exp(-(time[n_on:] - time[n_on - 1 if n_on else 0]) * 4.6 / t.release)
    return env


def _noise_band(rng: np.random.Generator, n: int, centre: float, sr: int) -> np.ndarray:
    """White noise through a two-pole resonator at `centre` Hz (≈ one octave wide), unit RMS: (n,)."""
    r = 0.75
    theta = 2 * np.pi * min(centre, 0.45 * sr) / sr
    y = lfilter([1.0 - r], [1.0, -2 * r * np.cos(theta), r * r], rng.standard_normal(n))
    return (y / (np.sqrt(np.mean(y ** 2)) + 1e-12)).astype(np.float32)


def _note(name: str, note: Note, prev_pitch: int | None, n_max: int, sr: int,
          rng: np.random.Generator, noise: np.ndarray) -> np.ndarray:
    """Render one note, release included, at most n_max samples: (n,) float32."""
    t = TIMBRES[name]
    f0 = midi_to_hz(note.pitch)
    n_on = max(1, int(round((note.end - note.start) * sr)))
    if t.kind == "sustained":
        n = n_on + int(t.release * sr)
    else:  # plucked / struck: ring until -60 dB, shorter for high notes
        n = int(6.9 * t.ring * (f0 / 220) ** -0.4 * sr)
    n = min(n, n_max)
    time = np.arange(n, dtype=np.float32) / np.float32(sr)   # seconds since the onset
    amp = (note.velocity / 127) ** 1.5

    if t.kind == "bar":  # a few inharmonic modes, each with its own decay
        tau = t.ring * (f0 / 523.0) ** -0.4
        out = np.zeros(n, dtype=np.float32)
        for ratio, a, tr in BAR_PARTIALS:
            if ratio * f0 < 0.45 * sr:
                out += a * np.exp(-time / (tau * tr)) * np.sin(2 * np.pi * ratio * f0 * time + rng.uniform(0, 6.3))
    else:
        freq = np.full(n, f0)                                   # instantaneous frequency f0(t), Hz (float64)
        if t.vibrato_depth:
            ramp = np.minimum(time / t.vibrato_delay, 1.0)
            rate = t.vibrato_rate * rng.uniform(0.93, 1.07)
            freq *= 1 + t.vibrato_depth * ramp * np.sin(2 * np.pi * rate * time + rng.uniform(0, 6.3))
        if t.slide and prev_pitch is not None and 0 < abs(prev_pitch - note.pitch) <= 7:
            freq *= 2.0 ** ((prev_pitch - note.pitch) / 12 * np.exp(-time / t.slide))  # glide from the last note
        phase = np.cumsum(freq) / sr + rng.uniform()           # running phase in cycles
        if t.kind == "plucked":
            tau = t.ring * (f0 / 220) ** -0.4
            env = np.exp(-time / tau) * np.minimum(time / 0.002, 1.0)
            env[n_on:] *= np.exp(-(time[n_on:] - time[min(n_on, n - 1)]) / 0.08)  # the string is damped
        else:
            env = _adsr(t, n_on, time)
        out = env * _read_table(wavetable(name, note.pitch, sr), phase)
        if t.bright_tilt is not None:
            bright = _read_table(wavetable(name, note.pitch, sr, bright=True), phase)
            if t.kind == "plucked":   # bright at the pluck, mellow as it rings
                out += 0.8 * np.exp(-time / t.bright_ring) * env * bright
            else:                     # brass: the upper partials bloom after the attack
                out = 0.6 * out + 0.6 * np.minimum(time / t.bright_attack, 1.0) * env * bright
        if t.detune_cents:
            cents = 2.0 ** (t.detune_cents / 1200)
            out = 0.6 * out + 0.5 * env * _read_table(wavetable(name, note.pitch, sr), phase * cents + 0.3)
    start = int(rng.integers(0, len(noise) - n + 1))  # the noise buffer is longer than any note
    seg = noise[start: start + n]
    if t.attack_noise:                                  # a 20 ms burst: only its first 150 ms matter
        m = min(n, int(0.15 * sr))
        out[:m] += t.attack_noise * np.exp(-time[:m] / 0.02) * seg[:m]
    if t.noise_sustain:                                 # bow / breath noise while the note is held
        m = min(n, n_on + int(0.05 * sr))
        out[:m] += t.noise_sustain * np.minimum(time[:m] / 0.05, 1.0) * seg[:m]
    return (amp * out).astype(np.float32)


def synth_phrase(name: str, notes: list[Note], duration: float, sample_rate: int = SAMPLE_RATE,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Play `notes` with the timbre of class `name`: (L,) float32, L = round(duration·sample_rate), peak 0.9."""
    name = get_class(name).name
    rng = rng if rng is not None else np.random.default_rng(0)
    n_total = int(round(duration * sample_rate))
    out = np.zeros(n_total, dtype=np.float32)
    noise = _noise_band(rng, n_total + sample_rate // 2, TIMBRES[name].noise_hz, sample_rate)
    prev: int | None = None
    for note in notes:
        s0 = int(round(note.start * sample_rate))
        if s0 >= n_total:
            continue
        wave = _note(name, note, prev, n_total - s0, sample_rate, rng, noise)
        out[s0: s0 + len(wave)] += wave
        prev = note.pitch
    peak = float(np.abs(out).max())
    if not np.isfinite(peak) or peak == 0.0:
        raise DataError(f"synthesizing {name} gave silence or NaN: no notes in the phrase?")
    return out * np.float32(PEAK / peak)


def synth_clip(name: str, rng: np.random.Generator, duration: float = 6.0, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A random phrase (:func:`random_phrase`) played by class `name`: (L,) float32, peak 0.9.

    Deterministic: the same generator state gives the same samples.
    """
    cls = get_class(name)
    notes = random_phrase(cls, rng, duration)  # drawn first, so the SoundFont renderer plays the same phrase
    return synth_phrase(cls.name, notes, duration, sample_rate, rng)


def synth_library(out_dir: str | os.PathLike, clips_per_class: int = 20, seed: int = 0, duration: float = 6.0,
                  sample_rate: int = SAMPLE_RATE, classes: tuple[str, ...] | list[str] = MUSIC11_NAMES,
                  progress: bool = True, force: bool = False) -> Path:
    """Write a solo-clip library of synthesized phrases: OUT/<class>/<class>_<k:04d>.wav (+ OUT/library.json).

    Clip k of a class is the same for a given seed whatever `classes` and
    `clips_per_class` are (each has its own generator, :func:`clip_rng`).
    Each file is written atomically. A non-empty `out_dir` is refused unless it
    holds the same library (then missing clips are added: a killed run is
    completed) or `force` (see :mod:`sgn_teach.data.manifest`). Returns the library root.
    """
    from tqdm.auto import tqdm

    from ..core.checks import require_int, require_positive
    from .manifest import prepare_library_dir

    names = check_classes(classes)
    require_int("--clips-per-class", clips_per_class)
    require_positive("--duration", duration)
    require_int("sample_rate", sample_rate)
    root = Path(out_dir)
    completing = prepare_library_dir(root, {"generator": "synth", "seed": seed, "duration": float(duration),
                                            "sample_rate": sample_rate, "classes": list(names), "soundfonts": [],
                                            "clips_per_class": clips_per_class}, force=force)
    jobs = [(name, k) for name in names for k in range(clips_per_class)]
    for name, k in tqdm(jobs, desc="synthesizing", unit="clip", disable=not progress):
        path = root / name / f"{name}_{k:04d}.wav"
        if completing and path.is_file():
            continue  # written by the run being completed: clip k is the same
        wave = synth_clip(name, clip_rng(seed, name, k), duration, sample_rate)
        save_audio(path, wave, sample_rate)
    return root
