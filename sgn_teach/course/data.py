"""The course data every notebook uses: MUSIC-11 rendered once with FluidSynth, cached.

:func:`course_data` renders the 11 instruments with FluidSynth (or synthesizes
them where FluidSynth is missing, saying exactly what is missing:
:func:`renderer_problem`) once, into a cache folder that every notebook reuses.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .environment import cache_dir, pick
from .notebooks import APT_PACKAGES, PIP_SPEC


def renderer_problem() -> str | None:
    """Why the course data cannot be rendered with FluidSynth here, in words a learner can act on; None if it can.

    Tells apart: the Python binding (pyfluidsynth, the `render` extra) missing while FluidSynth itself is
    installed; FluidSynth missing; no General MIDI SoundFont.
    """
    import importlib.util
    from ctypes.util import find_library

    from ..data import render

    apt = "apt-get install " + " ".join(APT_PACKAGES)
    has_binding = importlib.util.find_spec("fluidsynth") is not None
    has_library = find_library("fluidsynth") is not None or shutil.which("fluidsynth") is not None
    if not has_binding and has_library:
        return ("FluidSynth is installed, but its Python binding is not: "
                f"pip install pyfluidsynth (or: pip install \"{PIP_SPEC}\")")
    if not has_binding:
        return f"FluidSynth is not installed: {apt}, then pip install pyfluidsynth"
    problem = render.fluidsynth_problem()
    if problem is None:
        return None
    if not has_library:
        return f"the FluidSynth library is missing (pyfluidsynth is installed): {apt}"
    if "SoundFont" in problem or ".sf2" in problem:
        return f"no General MIDI SoundFont found: {apt}"
    return f"FluidSynth cannot be used here ({problem})"


def course_data(clips_per_class: int | None = None, seed: int = 0, kind: str = "auto") -> Path:
    """The MUSIC-11 solo-clip library for the notebooks, made once and cached.

    Args:
        clips_per_class: default 60 (12 in fast mode).
        kind: "render" (FluidSynth), "synth" (procedural), or "auto" (render if possible).

    Returns:
        The library root, `<cache>/music11-<kind>-<clips>-s<seed>`.
    """
    from ..data import render_library, synth_library

    k = clips_per_class or pick(60, 12)
    if kind == "auto":
        problem = renderer_problem()
        kind = "render" if problem is None else "synth"
        if kind == "synth":
            print(f"{problem}.\nUsing the procedural synthesizer instead of sampled instruments.")
    root = cache_dir() / f"music11-{kind}-{k}-s{seed}"
    if not (root / ".complete").exists():
        make = render_library if kind == "render" else synth_library
        make(root, clips_per_class=k, seed=seed, progress=False)
        (root / ".complete").write_text(f"{kind} {k} {seed}\n")
    return root
