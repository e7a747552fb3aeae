"""Source augmentation: each transformation does what it says, is seeded, and is off at evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sgn_teach.core.config import AugmentConfig, get_preset
from sgn_teach.data import MixDataset, SoloLibrary, finish_batch
from sgn_teach.data.augment import apply_augmentation, change_speed, draw_params, fft_size, read_length

SR = 11025
N = 8192


def _params(cfg: AugmentConfig, seed: int = 0, **fixed) -> dict[str, torch.Tensor]:
    p = draw_params(np.random.default_rng(seed), cfg, SR)
    p.update({k: np.asarray(v, dtype=np.float32) for k, v in fixed.items()})
    return {k: torch.from_numpy(np.asarray(v))[None] for k, v in p.items()}  # a batch of one source


def _sine(freq: float, n: int) -> torch.Tensor:
    return torch.sin(2 * np.pi * freq * torch.arange(n) / SR)[None].float()


def _peak_hz(x: torch.Tensor) -> float:
    spec = torch.fft.rfft(x[0] * torch.hann_window(x.shape[-1]))
    return float(spec.abs().argmax()) * SR / x.shape[-1]


def test_identity_when_everything_is_off():
    cfg = AugmentConfig(enabled=True, gain=(1.0, 1.0))
    x = torch.randn(1, read_length(N, cfg))
    y = apply_augmentation(x, _params(cfg), cfg, N, SR)
    assert y.shape == (1, N) and torch.allclose(y, x[:, :N], atol=1e-4)


def test_gain_changes_the_level_only():
    cfg = AugmentConfig(enabled=True, gain=(0.5, 1.5))
    x = torch.randn(1, read_length(N, cfg))
    y = apply_augmentation(x, _params(cfg, gain=0.5), cfg, N, SR)
    assert torch.allclose(y, 0.5 * x[:, :N], atol=1e-4)


def test_pitch_shift_moves_a_sine():
    cfg = AugmentConfig(enabled=True, gain=(1.0, 1.0), pitch_semitones=1.0)
    x = _sine(440.0, read_length(N, cfg))
    up = apply_augmentation(x, _params(cfg, speed=2 ** (1 / 12)), cfg, N, SR)
    down = apply_augmentation(x, _params(cfg, speed=2 ** (-1 / 12)), cfg, N, SR)
    assert _peak_hz(up) == pytest.approx(440 * 2 ** (1 / 12), abs=2.0)
    assert _peak_hz(down) == pytest.approx(440 * 2 ** (-1 / 12), abs=2.0)


@pytest.mark.parametrize("length", [1000, 36782])
def test_reading_past_the_end_of_a_crop_holds_its_last_sample(length):
    """A crop too short for its speed: every position past the end reads the last sample, at any crop length
    (a float bound of L − 1.001 rounded to L − 1 in float32 for long crops and read past the end)."""
    raw = torch.arange(length, dtype=torch.float32)[None].repeat(2, 1)  # (2, L): sample k holds the value k
    out = change_speed(raw, torch.tensor([2.0, 1.0]), length)           # (2, L)
    assert out.shape == (2, length)
    assert torch.all(out[0, length // 2 + 1:] == length - 1)            # 2× speed: the second half is past the end
    assert torch.allclose(out[1], raw[1])                               # 1×: the crop itself


def test_tilt_tilts_and_keeps_the_loudness():
    cfg = AugmentConfig(enabled=True, gain=(1.0, 1.0), tilt_db_per_octave=6.0)
    x = _sine(250.0, read_length(N, cfg)) + _sine(4000.0, read_length(N, cfg))
    y = apply_augmentation(x, _params(cfg, tilt=6.0), cfg, N, SR)
    spec = torch.fft.rfft(y[0] * torch.hann_window(N)).abs()
    lo, hi = (spec[int(f * N / SR) - 3:int(f * N / SR) + 4].max() for f in (250, 4000))
    assert 20 * torch.log10(hi / lo) == pytest.approx(6.0 * 4, abs=3.0)  # 4 octaves apart × 6 dB
    assert y.pow(2).mean().sqrt() == pytest.approx(x[:, :N].pow(2).mean().sqrt().item(), rel=1e-3)


def test_eq_is_bounded():
    cfg = AugmentConfig(enabled=True, gain=(1.0, 1.0), eq_db=6.0)
    from sgn_teach.data.augment import eq_curve_db

    freqs = torch.fft.rfftfreq(4096, 1 / SR)
    for seed in range(20):
        p = _params(cfg, seed)
        curve = eq_curve_db(freqs, p["tilt"], p["eq_amp"], p["eq_phase"], cfg.eq_db)
        assert curve.abs().max() <= 6.0 + 1e-4 and curve.std() > 0.1


def test_reverb_adds_a_decaying_tail():
    cfg = AugmentConfig(enabled=True, gain=(1.0, 1.0), reverb_prob=1.0, reverb_rt60=(0.5, 0.5), reverb_wet=(0.5, 0.5))
    x = torch.zeros(1, read_length(N, cfg))
    x[0, :2000] = torch.randn(2000)  # a burst, then silence
    p = _params(cfg)
    assert float(p["wet"]) == 0.5 and float(p["rir"].pow(2).sum()) == pytest.approx(1.0, rel=1e-4)
    y = apply_augmentation(x, p, cfg, N, SR)
    tail = y[0, 2500:5000].pow(2).mean()
    assert tail > 1e-4 * y[0, :2000].pow(2).mean()                    # the room rings on after the burst
    assert y[0, 7000:].pow(2).mean() < y[0, 2500:4000].pow(2).mean()  # and decays


def test_vibrato_wobbles_the_pitch_within_its_depth_and_leaves_the_other_draws_alone():
    cfg = AugmentConfig(enabled=True, gain=(1.0, 1.0), vibrato_cents=50.0)
    x = _sine(440.0, read_length(N, cfg))
    y = apply_augmentation(x, _params(cfg, vib_cents=50.0, vib_hz=5.0, vib_phase=0.0), cfg, N, SR)[0]
    y = y.numpy()
    i = np.flatnonzero((y[:-1] < 0) & (y[1:] >= 0))                            # upward zero crossings,
    crossings = i + y[i] / (y[i] - y[i + 1])                                   # placed between samples
    hz = SR / np.diff(crossings)                                               # one frequency per cycle
    cents = 1200 * np.log2(hz / 440.0)
    assert cents.max() == pytest.approx(50.0, abs=8.0) and cents.min() == pytest.approx(-50.0, abs=8.0)
    assert abs(cents.mean()) < 5.0                                             # around the note, not off it
    plain = AugmentConfig(enabled=True, pitch_semitones=1.0, eq_db=6.0, reverb_prob=0.5)
    wobbly = AugmentConfig(enabled=True, pitch_semitones=1.0, eq_db=6.0, reverb_prob=0.5, vibrato_cents=30.0)
    a, b = draw_params(np.random.default_rng(4), plain, SR), draw_params(np.random.default_rng(4), wobbly, SR)
    assert all(np.array_equal(a[k], b[k]) for k in a if not k.startswith("vib_"))  # drawn last: the rest unchanged
    assert float(a["vib_cents"]) == 0.0 and 0.0 < float(b["vib_cents"]) <= 30.0
    assert read_length(N, wobbly) > read_length(N, plain)


def test_fft_size_is_smooth_and_large_enough():
    for n in (100, 32767, 41588, 65537):
        m = fft_size(n)
        assert m >= n and m < 1.25 * n + 8
        k = m
        for f in (2, 3, 5):
            while k % f == 0:
                k //= f
        assert k == 1


def test_augmented_mixtures_are_seeded_and_evaluation_is_plain(synth_library):
    cfg = get_preset("tiny")
    aug = AugmentConfig(enabled=True, pitch_semitones=1.0, tilt_db_per_octave=3.0, eq_db=6.0, reverb_prob=0.5)
    lib = SoloLibrary(synth_library, "train")
    plain = MixDataset(lib, cfg.audio, n_mixtures=8, seed=3)
    a = MixDataset(lib, cfg.audio, n_mixtures=8, seed=3, augment=aug)
    b = MixDataset(lib, cfg.audio, n_mixtures=8, seed=3, augment=aug)
    off = MixDataset(lib, cfg.audio, n_mixtures=8, seed=3, augment=AugmentConfig(enabled=False))
    for i in range(4):
        assert torch.equal(a[i]["sources"], b[i]["sources"])                 # reproducible
        assert torch.equal(a[i]["class_idx"], plain[i]["class_idx"])         # same classes as plain
        assert not torch.allclose(a[i]["sources"], plain[i]["sources"])      # but augmented
        assert torch.equal(off[i]["sources"], plain[i]["sources"])           # disabled = plain
        assert torch.allclose(a[i]["mixture"], a[i]["sources"].sum(0))
    deferred = MixDataset(lib, cfg.audio, n_mixtures=8, seed=3, augment=aug, defer_augment=True)
    batch = torch.utils.data.default_collate([deferred[i] for i in range(4)])
    sources, mixture = finish_batch(batch, deferred, "cpu")
    assert torch.allclose(sources, torch.stack([a[i]["sources"] for i in range(4)]), atol=1e-5)
    assert torch.allclose(mixture, sources.sum(1))
