"""The MUSIC-11 class table, random phrases and the procedural synthesizer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf

from sgn_teach.core.errors import DataError
from sgn_teach.data import (
    MUSIC11,
    MUSIC11_NAMES,
    Note,
    clip_rng,
    get_class,
    random_phrase,
    synth_clip,
    synth_library,
)
from sgn_teach.data.synth import synth_phrase

SR = 11025


# ---------------------------------------------------------------- class table

def test_class_table():
    assert len(MUSIC11) == 11
    assert list(MUSIC11_NAMES) == sorted(set(MUSIC11_NAMES))
    assert {"accordion", "acoustic_guitar", "cello", "clarinet", "erhu", "flute", "saxophone", "trumpet", "tuba",
            "violin", "xylophone"} == set(MUSIC11_NAMES)
    for c in MUSIC11:
        assert 0 <= c.gm_program <= 127 and c.gm_name
        assert 21 <= c.low_midi and c.high_midi <= 108, c  # inside a piano keyboard
        assert 12 <= c.high_midi - c.low_midi <= 48, c    # one to four octaves: playable
    assert get_class("tuba").low_midi < get_class("cello").low_midi < get_class("violin").low_midi
    assert get_class("flute").high_midi > get_class("tuba").high_midi
    assert "110" in get_class("erhu").note or "Fiddle" in get_class("erhu").note  # says what stands in
    with pytest.raises(DataError, match="unknown instrument class 'banjo'"):
        get_class("banjo")


# ---------------------------------------------------------------- phrases

@pytest.mark.parametrize("name", MUSIC11_NAMES)
def test_phrases_are_playable(name):
    cls = get_class(name)
    for seed in range(3):
        notes = random_phrase(cls, np.random.default_rng(seed), 4.0)
        assert notes, "a phrase has at least one note"
        assert [n.start for n in notes] == sorted(n.start for n in notes)
        for n in notes:
            assert cls.low_midi <= n.pitch <= cls.high_midi
            assert 0 <= n.start < n.end <= 4.0 + 1e-9
            assert 1 <= n.velocity <= 127
    assert random_phrase(cls, np.random.default_rng(7), 4.0) == random_phrase(cls, np.random.default_rng(7), 4.0)
    assert random_phrase(cls, np.random.default_rng(7), 4.0) != random_phrase(cls, np.random.default_rng(8), 4.0)


def _mean_length(name: str) -> float:
    notes = [n for s in range(6) for n in random_phrase(name, np.random.default_rng(s), 6.0)]
    return float(np.mean([n.end - n.start for n in notes if n.end < 6.0]))


def _has_chords(name: str) -> bool:
    """Does any phrase have two notes starting within 0.1 s?"""
    for s in range(6):
        starts = [n.start for n in random_phrase(name, np.random.default_rng(s), 6.0)]
        if np.any(np.diff(starts) < 0.1):
            return True
    return False


def test_phrase_styles_suit_the_instrument():
    assert _mean_length("xylophone") < _mean_length("cello") < _mean_length("tuba")
    assert _has_chords("accordion") and _has_chords("acoustic_guitar")
    assert not _has_chords("flute") and not _has_chords("trumpet")  # monophonic instruments


def test_clip_rng_is_per_class_and_clip():
    a = random_phrase("violin", clip_rng(0, "violin", 3), 3.0)
    assert a == random_phrase("violin", clip_rng(0, "violin", 3), 3.0)
    assert a != random_phrase("violin", clip_rng(0, "violin", 4), 3.0)
    assert a != random_phrase("violin", clip_rng(1, "violin", 3), 3.0)


# ---------------------------------------------------------------- synthesizer

@pytest.mark.parametrize("name", MUSIC11_NAMES)
def test_synth_clip_is_deterministic_and_sane(name):
    x = synth_clip(name, np.random.default_rng(5), duration=2.0)
    assert x.shape == (2 * SR,) and x.dtype == np.float32
    assert np.all(np.isfinite(x))
    assert 0.85 <= np.abs(x).max() <= 1.0
    assert np.sqrt(np.mean(x ** 2)) > 0.02, "not (nearly) silent"
    assert np.array_equal(x, synth_clip(name, np.random.default_rng(5), duration=2.0))
    assert not np.array_equal(x, synth_clip(name, np.random.default_rng(6), duration=2.0))
    assert synth_clip(name, np.random.default_rng(5), duration=1.0, sample_rate=8000).shape == (8000,)


def harmonic_profile(name: str, seed: int, pitch: int = 60, k: int = 12) -> np.ndarray:
    """dB level of harmonics 1..k of one held note, relative to the strongest: (k,)."""
    x = synth_phrase(name, [Note(pitch, 0.0, 1.5, 100)], 1.5, SR, np.random.default_rng(seed))
    seg = x[int(0.3 * SR): int(1.3 * SR)] * np.hanning(SR)
    spec, freqs = np.abs(np.fft.rfft(seg)), np.fft.rfftfreq(SR, 1 / SR)
    f0 = 440 * 2 ** ((pitch - 69) / 12)
    amps = np.array([spec[(freqs > h * f0 * 0.97) & (freqs < h * f0 * 1.03)].max() for h in range(1, k + 1)])
    return np.maximum(20 * np.log10(amps / amps.max() + 1e-6), -60.0)


def test_classes_have_distinct_timbres():
    """Same pitch, same loudness: the harmonic profiles of two classes differ far more than two notes of one."""
    prof = {(c, s): harmonic_profile(c, s) for c in MUSIC11_NAMES for s in (1, 2)}
    dist = lambda a, b: float(np.sqrt(np.mean((a - b) ** 2)))  # noqa: E731  (dB RMS)
    within = max(dist(prof[c, 1], prof[c, 2]) for c in MUSIC11_NAMES)
    between = min(dist(prof[a, 1], prof[b, 1]) for a, b in itertools.combinations(MUSIC11_NAMES, 2))
    assert between > 2 * within, (between, within)
    clarinet = prof["clarinet", 1]
    assert clarinet[1] < clarinet[2] - 10 and clarinet[3] < clarinet[4] - 10  # odd harmonics dominate
    assert prof["flute", 1][3] < prof["violin", 1][3]                         # a flute is nearly pure


def _centroid(x: np.ndarray) -> float:
    mag, f = np.abs(np.fft.rfft(x)), np.fft.rfftfreq(len(x), 1 / SR)
    return float((mag * f).sum() / mag.sum())


def test_low_instruments_sound_low():
    tuba = np.mean([_centroid(synth_clip("tuba", clip_rng(0, "tuba", k), 2.0)) for k in range(3)])
    flute = np.mean([_centroid(synth_clip("flute", clip_rng(0, "flute", k), 2.0)) for k in range(3)])
    assert tuba < 0.5 * flute


def test_synth_library_layout(tmp_path):
    root = synth_library(tmp_path / "lib", clips_per_class=2, seed=4, duration=1.0, classes=("cello", "tuba"),
                         progress=False)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "cello", "cello/cello_0000.wav", "cello/cello_0001.wav", "library.json", "tuba", "tuba/tuba_0000.wav",
        "tuba/tuba_0001.wav"]
    wave, sr = sf.read(root / "tuba" / "tuba_0001.wav", dtype="float32")
    assert sr == SR and wave.shape == (SR,)
    np.testing.assert_allclose(wave, synth_clip("tuba", clip_rng(4, "tuba", 1), 1.0), atol=1e-4)  # 16-bit PCM
    # clip k of a class does not depend on the other classes built with it
    other = synth_library(tmp_path / "other", clips_per_class=2, seed=4, duration=1.0, classes=("tuba",),
                          progress=False)
    assert (other / "tuba" / "tuba_0001.wav").read_bytes() == (root / "tuba" / "tuba_0001.wav").read_bytes()
    with pytest.raises(DataError, match="banjo"):
        synth_library(tmp_path / "bad", classes=("cello", "banjo"), progress=False)
    assert not (tmp_path / "bad").exists()
