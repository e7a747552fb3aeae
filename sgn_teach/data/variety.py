"""More than one timbre per class: the training library of the named-outputs recipe (config.NAMED_RECIPE).

The course library (``data render --clips-per-class 60 --seed 0``) plays each
class on one General MIDI program in each of the three course SoundFonts — and
TimGM6mb and the csound bank share samples for most classes, so several classes
have only two distinct timbres. A model trained on it learns those renderings
rather than the instruments. The *variety* library adds, without changing a clip
of the course library (same files, same phrases, same splits, so the course
library's test split stays held out):

* every other General MIDI program of the three course SoundFonts that is the
  same instrument in another voice (:data:`EXTRA_PROGRAMS`: nylon and steel
  guitar, the four saxophones, open and muted trumpet, …), each font playing
  its own phrases;
* the procedural synthesizer (:mod:`sgn_teach.data.synth`) as a further family
  of timbres, recorded as SoundFont ``synth``.

Only the three course SoundFonts and the synthesizer are used: a SoundFont the
project never trains on stays an honest test of unseen timbres.

Each extra group (class × SoundFont × program, and class × synth) is split
80/10/10 on its own, and splits.csv records every clip's `soundfont` (so
``--soundfonts timgm6mb,csound,synth`` leaves FluidR3 out entirely) and `program`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.config import SAMPLE_RATE
from ..signal.audio import save_audio
from .classes import MUSIC11_NAMES, check_classes, get_class
from .phrases import clip_rng, random_phrase

EXTRA_PROGRAMS: dict[str, tuple[int, ...]] = {
    # class: 0-based GM programs that are the same instrument in another voice (the class's own program excluded)
    "accordion": (23,),             # Tango Accordion
    "acoustic_guitar": (24,),       # Acoustic Guitar (nylon)
    "flute": (72,),                 # Piccolo
    "saxophone": (64, 66, 67),      # Soprano, Tenor, Baritone Sax
    "trumpet": (59,),               # Muted Trumpet
    "xylophone": (12,),             # Marimba (wooden bars, like the xylophone's)
}
"""Cello, clarinet, erhu, tuba and violin have no other GM voice of the same instrument."""

SYNTH_KEY = "synth"


def program_stream(font: str, program: int) -> str:
    """The phrase stream of (font, program): ≤ 8 characters, as :func:`clip_rng` reads only 8 bytes of it."""
    return f"{font[:3]}{program:03d}"


def render_variety_library(out_dir: str | os.PathLike, clips_per_class: int = 60, extra_clips: int = 30,
                           synth_clips: int = 60, seed: int = 0, duration: float = 6.0, sample_rate: int = SAMPLE_RATE,
                           classes: tuple[str, ...] | list[str] = MUSIC11_NAMES, progress: bool = True,
                           force: bool = False, extra_programs: dict[str, tuple[int, ...]] | None = None) -> Path:
    """The course library (every course SoundFont, `clips_per_class` per class and font) plus the extra
    programs (`extra_clips` per class, font and program) and the synthesizer (`synth_clips` per class).

    Returns the library root. The course library's clips keep their names, phrases and splits.
    `extra_programs` replaces :data:`EXTRA_PROGRAMS` (class → 0-based GM programs), for experiments that ask
    what another choice of voices would teach (benchmarks/bench_timbre_transfer.py); a group already rendered
    keeps its clips and split.
    """
    from tqdm.auto import tqdm

    from ..core.atomic import atomic_path
    from .library import stratified_splits
    from .render import SoundFontRenderer, render_library, resolve_soundfonts
    from .synth import synth_clip

    names = check_classes(classes)
    fonts = resolve_soundfonts(None)
    root = render_library(out_dir, clips_per_class=clips_per_class, seed=seed, duration=duration,
                          sample_rate=sample_rate, classes=names, progress=progress, soundfonts=sorted(fonts),
                          force=force)
    groups: dict[tuple[str, str], list[str]] = {}
    meta: dict[str, tuple[str, int]] = {}  # rel → (soundfont, program)
    for key in fonts:  # the course library's own clips, exactly as render_library names and groups them
        for name in names:
            rels = [f"{name}/{name}_{key}_{k:04d}.wav" for k in range(clips_per_class)]
            groups[(name, key)] = rels
            meta.update({r: (key, get_class(name).gm_program) for r in rels})
    programs = EXTRA_PROGRAMS if extra_programs is None else extra_programs
    jobs = [(key, name, p, k) for key in fonts for name in names for p in programs.get(name, ())
            for k in range(extra_clips)]
    renderers = {key: SoundFontRenderer(path, sample_rate) for key, path in fonts.items()}
    for key, name, p, k in tqdm(jobs, desc="rendering extra programs", unit="clip", disable=not progress):
        stream = program_stream(key, p)
        rel = f"{name}/{name}_{stream}_{k:04d}.wav"
        groups.setdefault((name, stream), []).append(rel)
        meta[rel] = (key, p)
        if not (root / rel).is_file():
            notes = random_phrase(name, clip_rng(seed, name, k, stream=stream), duration)
            save_audio(root / rel, renderers[key].render(name, notes, duration, program=p), sample_rate)
    for name in tqdm(names, desc="synthesizing", unit="class", disable=not progress):
        for k in range(synth_clips):
            rel = f"{name}/{name}_{SYNTH_KEY}_{k:04d}.wav"
            groups.setdefault((name, SYNTH_KEY), []).append(rel)
            meta[rel] = (SYNTH_KEY, -1)
            if not (root / rel).is_file():
                save_audio(root / rel, synth_clip(name, clip_rng(seed, name, k, stream=SYNTH_KEY), duration,
                                                  sample_rate), sample_rate)
    table = stratified_splits(groups)
    with atomic_path(root / "splits.csv", ".csv") as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write("path,split,soundfont,program\n")
        for rel in sorted(table):
            fh.write(f"{rel},{table[rel]},{meta[rel][0]},{meta[rel][1]}\n")
    return root


__all__ = ["EXTRA_PROGRAMS", "SYNTH_KEY", "program_stream", "render_variety_library"]
