"""Random, musically plausible phrases for each instrument.

A phrase is a list of :class:`Note` (pitch, start, end, velocity): a melody that
walks a scale in a random key, mostly by steps with an occasional leap, with
note lengths, rests, breaths and chords that suit the instrument (a xylophone
plays short strokes, a tuba long bass notes, winds stop to breathe, an accordion
adds dyads and triads under the tune, a guitar strums chords).

Both course-data generators play the *same* phrase for the same seed — the
procedural synthesizer (`synth.py`) and the SoundFont renderer (`render.py`) —
so their libraries differ only in timbre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .classes import InstrumentClass, class_index, get_class


@dataclass(frozen=True)
class Note:
    """One note: MIDI `pitch` (60 = C4), `start`/`end` in seconds, MIDI `velocity` 1..127."""

    pitch: int
    start: float
    end: float
    velocity: int


@dataclass(frozen=True)
class Style:
    """How an instrument phrases.

    Attributes:
        beats: note lengths in beats to choose from (repeat a value to weight it).
        tempo: (low, high) tempo range in beats per minute.
        gate: fraction of a note's length that sounds (1 = legato, 0.5 = staccato).
        rest_prob: probability that a slot is a rest instead of a note.
        chord_prob: probability that a note is played as a dyad or triad.
        breath_beats: a wind player breathes after about this many beats (0: never).
        strum: seconds between the strings of a strummed chord (0: struck together).
        leap_prob: probability of a leap (a fourth or more) instead of a step.
        scales: modes to choose from (names in :data:`SCALES`).
    """

    beats: tuple[float, ...]
    tempo: tuple[float, float]
    gate: float
    rest_prob: float = 0.08
    chord_prob: float = 0.0
    breath_beats: float = 0.0
    strum: float = 0.0
    leap_prob: float = 0.12
    scales: tuple[str, ...] = ("major", "minor", "dorian")


SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "pentatonic": (0, 2, 4, 7, 9),
    "minor_pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
}

STYLES: dict[str, Style] = {
    "accordion": Style(beats=(0.5, 1, 1, 1, 2), tempo=(84, 132), gate=0.95, chord_prob=0.35,
                       breath_beats=0, scales=("major", "minor", "mixolydian")),
    "acoustic_guitar": Style(beats=(0.5, 0.5, 1, 1, 2), tempo=(72, 128), gate=1.0, chord_prob=0.4,
                             strum=0.018, scales=("major", "minor", "mixolydian", "minor_pentatonic")),
    "cello": Style(beats=(0.5, 1, 1, 2, 3), tempo=(60, 104), gate=0.95, rest_prob=0.06),
    "clarinet": Style(beats=(0.5, 0.5, 1, 1, 2), tempo=(72, 120), gate=0.9, breath_beats=8),
    "erhu": Style(beats=(0.5, 1, 1, 1.5, 2, 3), tempo=(60, 100), gate=0.97, rest_prob=0.06,
                  scales=("pentatonic", "minor_pentatonic", "pentatonic")),
    "flute": Style(beats=(0.25, 0.5, 0.5, 1, 1, 2), tempo=(76, 126), gate=0.9, breath_beats=8,
                   scales=("major", "minor", "dorian", "pentatonic")),
    "saxophone": Style(beats=(0.5, 0.5, 1, 1.5, 2), tempo=(80, 140), gate=0.9, breath_beats=8,
                       scales=("blues", "dorian", "mixolydian", "minor_pentatonic")),
    "trumpet": Style(beats=(0.5, 1, 1, 2), tempo=(80, 132), gate=0.85, breath_beats=6, leap_prob=0.2,
                     scales=("major", "mixolydian", "minor")),
    "tuba": Style(beats=(1, 1, 2, 2, 4), tempo=(60, 100), gate=0.85, breath_beats=6, leap_prob=0.3,
                  scales=("major", "minor", "mixolydian")),
    "violin": Style(beats=(0.25, 0.5, 0.5, 1, 1, 2), tempo=(66, 120), gate=0.95, rest_prob=0.06),
    "xylophone": Style(beats=(0.25, 0.5, 0.5, 0.5, 1), tempo=(96, 150), gate=0.9, chord_prob=0.12,
                       scales=("major", "pentatonic", "mixolydian")),
}


def _scale_pitches(low: int, high: int, tonic: int, mode: str) -> np.ndarray:
    """All MIDI pitches of the scale (tonic pitch class 0..11, mode) within [low, high], ascending."""
    steps = np.asarray(SCALES[mode])
    octaves = np.arange(-1, 11)[:, None] * 12                 # (12, 1)
    pitches = (octaves + tonic + steps[None, :]).reshape(-1)  # every scale tone over 12 octaves, flattened
    return np.sort(pitches[(pitches >= low) & (pitches <= high)])


def _next_degree(rng: np.random.Generator, degree: int, n_degrees: int, style: Style) -> int:
    """One melodic move on the scale: a step, a repeat or a leap, pulled back toward the middle."""
    if rng.random() < style.leap_prob:
        move = int(rng.choice([3, 4, 7])) * int(rng.choice([-1, 1]))  # a fourth, fifth or octave
    else:
        move = int(rng.choice([-2, -1, -1, 0, 1, 1, 2]))
    centre = (n_degrees - 1) / 2
    if abs(degree + move - centre) > 0.35 * n_degrees and np.sign(move) == np.sign(degree - centre):
        move = -move  # turn back toward the middle of the range
    return int(np.clip(degree + move, 0, n_degrees - 1))


def random_phrase(cls: InstrumentClass | str, rng: np.random.Generator, duration: float) -> list[Note]:
    """A random phrase of `duration` seconds for instrument `cls`.

    Args:
        cls: an :class:`InstrumentClass` (or its name).
        rng: the only source of randomness: the same generator state gives the same phrase.
        duration: length in seconds; every note starts before it and ends by it.

    Returns:
        notes sorted by start time (chords are several notes with (nearly) the same start).
    """
    cls = get_class(cls)
    style = STYLES[cls.name]
    tonic = int(rng.integers(12))
    mode = str(style.scales[int(rng.integers(len(style.scales)))])
    scale = _scale_pitches(cls.low_midi, cls.high_midi, tonic, mode)
    beat = 60.0 / rng.uniform(*style.tempo)                  # seconds per beat
    dynamic = rng.uniform(60, 105)                           # the phrase's overall loudness (velocity)
    # start somewhere in the middle half of the range, where players spend most time
    n = len(scale)
    degree = int(rng.integers(n // 4, max(n // 4 + 1, 3 * n // 4)))

    notes: list[Note] = []
    t = float(rng.uniform(0.0, 0.25))
    beats_since_breath = 0.0
    first = True
    while t < duration:
        length_beats = float(style.beats[int(rng.integers(len(style.beats)))])
        length = length_beats * beat
        if style.breath_beats and beats_since_breath >= style.breath_beats * rng.uniform(0.75, 1.25):
            t += beat * float(rng.choice([0.5, 1.0]))        # a breath
            beats_since_breath = 0.0
            continue
        if not first and rng.random() < style.rest_prob:
            t += length                                      # a rest
            continue
        first = False
        degree = _next_degree(rng, degree, n, style)
        on_beat = abs((t / beat) - round(t / beat)) < 1e-6
        velocity = int(np.clip(dynamic + (10 if on_beat else 0) + rng.normal(0, 6), 20, 127))
        end = min(t + length * style.gate, duration)
        if rng.random() < style.chord_prob:
            # a dyad or triad built down the scale from the melody note (thirds below it)
            size = int(rng.choice([2, 3]))
            degrees = [d for d in range(degree - 2 * (size - 1), degree + 1, 2) if d >= 0]
            for j, d in enumerate(degrees):                  # low to high: a guitar's down-strum
                start = t + min(j * style.strum, max(0.0, end - t - 1e-3))
                notes.append(Note(int(scale[d]), start, end, max(1, velocity - 8 * (j < len(degrees) - 1))))
        else:
            notes.append(Note(int(scale[degree]), t, end, velocity))
        t += length
        beats_since_breath += length_beats
    return sorted(notes, key=lambda nt: (nt.start, nt.pitch))


def clip_rng(seed: int, name: str, k: int, stream: str | None = None) -> np.random.Generator:
    """The generator of clip k of class `name` in a library built with `seed`.

    Seeded by (seed, MUSIC-11 index, k), so clip k is the same whichever other
    classes or how many clips are built, and the synthesizer and the SoundFont
    renderer draw the same phrase from it. A `stream` name (e.g. a SoundFont's
    key in a multi-SoundFont library) gives an independent phrase per stream, so
    that no phrase is heard in two SoundFonts.
    """
    if stream is None:
        return np.random.default_rng([int(seed), class_index(name), int(k)])
    stream_id = int.from_bytes(stream.encode("utf-8")[:8].ljust(8, b"\0"), "little")  # a stable number per name
    return np.random.default_rng([int(seed), class_index(name), int(k), stream_id])
