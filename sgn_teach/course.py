"""Notebook plumbing shared by every lesson: fast mode and the cached course data.

* ``SGN_FAST=1`` (set by CI) shrinks every long cell; people get the full
  settings by default. Notebooks write ``pick(full, fast)``.
* :func:`course_data` renders MUSIC-11 with FluidSynth (or synthesizes it where
  FluidSynth is missing) once, into a cache folder that every notebook reuses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def fast_mode() -> bool:
    """True when the environment variable SGN_FAST is set to anything but '' or '0'."""
    return os.environ.get("SGN_FAST", "0") not in ("", "0")


def pick(full: T, fast: T) -> T:
    """`full` for people, `fast` under SGN_FAST=1 (CI)."""
    return fast if fast_mode() else full


def cache_dir() -> Path:
    """Where course data is kept: $SGN_CACHE, else ~/.cache/sgn_teach."""
    return Path(os.environ.get("SGN_CACHE", Path.home() / ".cache" / "sgn_teach"))


def course_data(clips_per_class: int | None = None, seed: int = 0, kind: str = "auto") -> Path:
    """The MUSIC-11 solo-clip library for the notebooks, made once and cached.

    Args:
        clips_per_class: default 60 (12 in fast mode).
        kind: "render" (FluidSynth), "synth" (procedural), or "auto" (render if possible).

    Returns:
        The library root, `<cache>/music11-<kind>-<clips>-s<seed>`.
    """
    from .data import fluidsynth_available, render_library, synth_library

    k = clips_per_class or pick(60, 12)
    if kind == "auto":
        kind = "render" if fluidsynth_available() else "synth"
        if kind == "synth":
            print("FluidSynth or a GM SoundFont is missing: using the procedural synthesizer "
                  "(apt-get install fluidsynth fluid-soundfont-gm for sampled instruments).")
    root = cache_dir() / f"music11-{kind}-{k}-s{seed}"
    if not (root / ".complete").exists():
        make = render_library if kind == "render" else synth_library
        make(root, clips_per_class=k, seed=seed, progress=False)
        (root / ".complete").write_text(f"{kind} {k} {seed}\n")
    return root
