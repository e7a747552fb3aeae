"""Where the course lives and how a notebook installs it.

:data:`REPO_URL` is the one place that names the public repository: the Colab
badges, the notebooks' install cells and the book's links derive from it
(:func:`colab_badge`, :func:`install_cell_source`; ``python -m sgn_teach.course
sync notebooks/*.ipynb`` rewrites them through :func:`sync_notebook`, and
``tests/test_course_install.py`` checks every notebook against them).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

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


def main(argv: list[str]) -> int:
    """``python -m sgn_teach.course sync NOTEBOOK…``: rewrite badges and install cells from REPO_URL.

    Without ``sync`` and at least one notebook it prints its usage and returns 2.
    """
    if len(argv) < 2 or argv[0] != "sync":
        print("usage: python -m sgn_teach.course sync NOTEBOOK.ipynb …", file=sys.stderr)
        return 2
    for p in argv[1:]:
        print(f"{p}: {'updated' if sync_notebook(p) else 'up to date'}")
    return 0

