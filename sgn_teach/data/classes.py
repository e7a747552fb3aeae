"""The MUSIC-11 class table: the 11 solo instruments of the MUSIC dataset.

Each class carries what the two course-data generators need:

* the General MIDI program that the SoundFont renderer (`render.py`) plays it with
  (0-based, as FluidSynth's `program_select` expects: GM "Violin" is program 41
  in the 1-based tables printed in manuals and 40 here);
* a realistic *playable* pitch range as MIDI note numbers (60 = middle C, C4), so
  that random phrases (`phrases.py`) stay where a real player would be;
* a note saying what stands in for what.

General MIDI has no erhu. We play it with GM 110 "Fiddle" — a bowed string like
the erhu, unlike GM 111 "Shanai" (a double reed) — kept in the erhu's register
(D4, its open inner string, upwards) and played the erhu's way, with slides into
notes and a deep vibrato (see `render.py` and `synth.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import DataError


@dataclass(frozen=True)
class InstrumentClass:
    """One instrument class.

    Attributes:
        name: folder name in a solo-clip library, e.g. "acoustic_guitar".
        gm_program: 0-based General MIDI program number (0..127).
        gm_name: the GM patch name, for people.
        low_midi: lowest MIDI pitch a phrase may use.
        high_midi: highest MIDI pitch a phrase may use.
        note: what the range and patch stand for.
    """

    name: str
    gm_program: int
    gm_name: str
    low_midi: int
    high_midi: int
    note: str = ""


MUSIC11: tuple[InstrumentClass, ...] = (
    InstrumentClass("accordion", 21, "Accordion", 53, 93,
                    "treble (right-hand) keyboard, F3-A6; plays dyads and triads"),
    InstrumentClass("acoustic_guitar", 25, "Acoustic Guitar (steel)", 40, 83,
                    "standard tuning E2 up to B5 (19th fret); strums chords and picks melodies"),
    InstrumentClass("cello", 42, "Cello", 36, 76,
                    "open C2 up to E5, the usual solo range"),
    InstrumentClass("clarinet", 71, "Clarinet", 50, 89,
                    "B-flat clarinet, sounding D3 (written E3) to F6"),
    InstrumentClass("erhu", 110, "Fiddle", 62, 88,
                    "GM has no erhu: GM 110 'Fiddle' (a bowed string, like the erhu; GM 111 'Shanai' is a reed) "
                    "in the erhu's range D4 (open inner string) to E6, with slides into notes and deep vibrato"),
    InstrumentClass("flute", 73, "Flute", 60, 93,
                    "concert flute C4 to A6"),
    InstrumentClass("saxophone", 65, "Alto Sax", 49, 80,
                    "alto saxophone, sounding D-flat3 to A-flat5"),
    InstrumentClass("trumpet", 56, "Trumpet", 54, 82,
                    "B-flat trumpet, sounding F-sharp3 to B-flat5"),
    InstrumentClass("tuba", 58, "Tuba", 28, 55,
                    "bass tuba E1 to G3, the range it mostly plays in"),
    InstrumentClass("violin", 40, "Violin", 55, 93,
                    "open G3 up to A6"),
    InstrumentClass("xylophone", 13, "Xylophone", 65, 96,
                    "F4 to C7 (sounding); short mallet strokes"),
)
"""The 11 classes, sorted by name: the class index used everywhere is the position here."""

MUSIC11_NAMES: tuple[str, ...] = tuple(c.name for c in MUSIC11)
_BY_NAME = {c.name: c for c in MUSIC11}


def get_class(name: str | InstrumentClass) -> InstrumentClass:
    """Look up a MUSIC-11 class by name (an :class:`InstrumentClass` is returned as is)."""
    if isinstance(name, InstrumentClass):
        return name
    try:
        return _BY_NAME[name]
    except KeyError:
        raise DataError(f"unknown instrument class {name!r}; MUSIC-11 has {', '.join(MUSIC11_NAMES)}") from None


def class_index(name: str) -> int:
    """Position of `name` in :data:`MUSIC11` (0..10)."""
    return MUSIC11_NAMES.index(get_class(name).name)


def check_classes(classes: tuple[str, ...] | list[str]) -> list[str]:
    """Validate class names against MUSIC-11; DataError names the unknown ones."""
    unknown = [c for c in classes if c not in _BY_NAME]
    if unknown or not classes:
        raise DataError(f"unknown classes {unknown or '(none given)'}; choose from {', '.join(MUSIC11_NAMES)}")
    return list(classes)
