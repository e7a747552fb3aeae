"""Notebook plumbing shared by every lesson: where the course lives, fast mode, the cached course data.

* :data:`REPO_URL` is the one place that names the public repository: the Colab
  badges, the notebooks' install cells and the book's links derive from it
  (:func:`colab_badge`, :func:`install_cell_source`; ``python -m sgn_teach.course
  sync notebooks/*.ipynb`` rewrites them, and ``tests/test_course_install.py``
  checks every notebook against them).
* ``SGN_FAST=1`` (set by CI) shrinks every long cell; people get the full
  settings by default. Notebooks write ``pick(full, fast)``.
* :func:`course_data` renders MUSIC-11 with FluidSynth (or synthesizes it where
  FluidSynth is missing, saying exactly what is missing) once, into a cache
  folder that every notebook reuses.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

REPO_URL = "https://github.com/sgn-teach/sgn-teach"
"""The course's public repository. Change it here only: everything else derives from it."""

BRANCH = "main"
PIP_SPEC = f"sgn-teach[render] @ git+{REPO_URL}"
"""What the install cell installs: the package with the FluidSynth binding (the `render` extra)."""

APT_PACKAGES = ("fluidsynth", "fluid-soundfont-gm", "timgm6mb-soundfont", "csound-soundfont")
"""FluidSynth and the three General MIDI SoundFonts the course data is rendered from (Debian/Ubuntu/Colab)."""


def colab_url(notebook: str) -> str:
    """The Colab address that opens `notebook` (a file name in notebooks/) from the repository."""
    repo = REPO_URL.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{repo}/blob/{BRANCH}/notebooks/{Path(notebook).name}"


def colab_badge(notebook: str) -> str:
    """The Markdown of the 'Open in Colab' badge that every notebook shows under its title."""
    return ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(notebook)})")


def install_cell_source() -> str:
    """The first code cell of every notebook: installs the course where it is missing (Colab), else nothing."""
    apt = " ".join(APT_PACKAGES)
    return (
        "# Install the course where it is missing (Colab); where sgn_teach is installed this does nothing.\n"
        "import importlib, importlib.util, subprocess, sys\n"
        "if importlib.util.find_spec(\"sgn_teach\") is None:\n"
        "    if \"google.colab\" in sys.modules:  # FluidSynth + the course's three GM SoundFonts: sampled instruments\n"
        f"        subprocess.run(\"apt-get update -qq && apt-get install -y -qq {apt} > /dev/null\",\n"
        "                       shell=True, check=False)\n"
        f"    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"{PIP_SPEC}\"], check=True)\n"
        "    importlib.invalidate_caches()"
    )


def sync_notebook(path: str | os.PathLike) -> bool:
    """Rewrite a notebook's Colab badge and install cell from :data:`REPO_URL`; True if it changed.

    The badge is the line of the first Markdown cell that starts with ``[![Open In Colab]``;
    the install cell is the first code cell (tagged ``install``).
    """
    path = Path(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    before = json.dumps(nb, sort_keys=True)
    md = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    lines = "".join(md["source"]).split("\n")
    lines = [colab_badge(path.name) if line.startswith("[![Open In Colab]") else line for line in lines]
    md["source"] = _as_source("\n".join(lines))
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["source"] = _as_source(install_cell_source())
    tags = code.setdefault("metadata", {}).setdefault("tags", [])
    if "install" not in tags:
        tags.insert(0, "install")
    if json.dumps(nb, sort_keys=True) == before:
        return False
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def _as_source(text: str) -> list[str]:
    """Text → a notebook cell's `source` list (one string per line, newlines kept)."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def renderer_problem() -> str | None:
    """Why the course data cannot be rendered with FluidSynth here, in words a learner can act on; None if it can.

    Tells apart: the Python binding (pyfluidsynth, the `render` extra) missing while FluidSynth itself is
    installed; FluidSynth missing; no General MIDI SoundFont.
    """
    import importlib.util
    from ctypes.util import find_library

    from .data import render

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
    from .data import render_library, synth_library

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


def _main(argv: list[str]) -> int:
    """``python -m sgn_teach.course sync NOTEBOOK…``: rewrite badges and install cells from REPO_URL."""
    if len(argv) < 2 or argv[0] != "sync":
        print("usage: python -m sgn_teach.course sync NOTEBOOK.ipynb …", file=sys.stderr)
        return 2
    for p in argv[1:]:
        print(f"{p}: {'updated' if sync_notebook(p) else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
