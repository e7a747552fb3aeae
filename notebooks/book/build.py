"""Build the published course: the notebooks executed, with the README and the API reference, as a static site.

    python notebooks/book/build.py [--out build/book]          # full settings (what learners run): long
    SGN_FAST=1 python notebooks/book/build.py --out DIR        # CI's shrunken settings: minutes

Steps: stage a source folder OUT/src with every notebook of notebooks/, this folder's conf.py and index.md,
a copy of README.md whose links point at the book's pages (or at the repository), an API page generated
from the package's modules (autodoc), and MathJax from Debian's libjs-mathjax; then run Sphinx (MyST-NB
executes each notebook on a fresh kernel, the working folder being OUT/src). The site is OUT/html; open
OUT/html/index.html. Exit status non-zero when any notebook cell fails.
"""

from __future__ import annotations

import argparse
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MATHJAX = Path("/usr/share/javascript/mathjax")
# the parts of MathJax 2 the SVG output needs (the rest of the Debian package is 50 MB of other outputs and fonts)
MATHJAX_PARTS = ("MathJax.js", "config/TeX-AMS_SVG.js", "jax/input/TeX", "jax/output/SVG", "jax/element",
                 "extensions", "localization/en")


BADGE_IMAGE = "![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)"


def favicon(path: Path) -> None:
    """A 32×32 icon (two overlapping harmonic stacks, one red, one blue), drawn here: nothing to download."""
    import numpy as np
    from PIL import Image

    img = np.full((32, 32, 4), 255, dtype=np.uint8)
    for k in range(1, 6):
        img[31 - 5 * k:33 - 5 * k, 2:16] = (200, 40, 40, 255)     # a low instrument's harmonics
        img[31 - 6 * k:33 - 6 * k, 16:30] = (40, 80, 200, 255)    # a higher one's
    Image.fromarray(img, "RGBA").save(path)


def readme_for_book(text: str, repo_url: str, branch: str) -> str:
    """README.md → the book's copy: links to notebooks become links to their pages, other relative links
    point at the repository on GitHub (they are files, not pages of the book)."""
    def link(m: re.Match) -> str:
        label, target = m.group(1), m.group(2)
        if re.match(r"^[a-z]+:|^#", target):
            return m.group(0)
        if target.startswith("notebooks/") and target.endswith(".ipynb"):
            return f"[{label}]({target.removeprefix('notebooks/')})"
        return f"[{label}]({repo_url}/blob/{branch}/{target})"
    body = re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", link, text)
    return "(readme)=\n" + body.replace("# sgn-teach\n", "# About the project (README)\n", 1)


def api_page() -> str:
    """One autodoc section per module of the package (new modules appear by themselves)."""
    import sgn_teach

    mods = sorted((m.name, m.ispkg) for m in pkgutil.walk_packages(sgn_teach.__path__, "sgn_teach.")
                  if not m.name.endswith("__main__"))
    lines = ["# API reference", "",
             "Every module of the `sgn_teach` package, with the docstrings the notebooks refer to.", ""]
    for name, ispkg in [("sgn_teach", True), *mods]:
        # a package re-exports its modules' names: document them once, in their own module
        members = [] if ispkg else ["   :members:"]
        lines += [f"## `{name}`", "", "```{eval-rst}", f".. automodule:: {name}", *members, "```", ""]
    return "\n".join(lines)


def executed_copies(folder: Path | None) -> dict[Path, Path] | None:
    """{notebook: its executed copy in `folder`} when `folder` holds one for every notebook, each written after
    the notebook last changed (nbval's run of the same sources: notebooks/conftest.py); else None."""
    if folder is None:
        return None
    copies = {nb: folder / nb.name for nb in sorted((REPO / "notebooks").glob("*.ipynb"))}
    if all(c.is_file() and c.stat().st_mtime >= nb.stat().st_mtime for nb, c in copies.items()):
        return copies
    return None


def stage(src: Path, executed: dict[Path, Path] | None = None) -> None:
    from sgn_teach.course import BRANCH, REPO_URL

    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        # the badge's image lives on colab.research.google.com: the book links to Colab in plain text instead
        # (and its rocket button does the same), so that no page loads anything from outside the site
        source = executed[nb] if executed else nb
        text = source.read_text(encoding="utf-8").replace(BADGE_IMAGE, "Open in Colab ↗")
        (src / nb.name).write_text(text, encoding="utf-8")
    for name in ("conf.py", "index.md"):
        shutil.copy2(HERE / name, src / name)
    (src / "readme.md").write_text(readme_for_book((REPO / "README.md").read_text(encoding="utf-8"), REPO_URL, BRANCH),
                                   encoding="utf-8")
    (src / "api.md").write_text(api_page(), encoding="utf-8")
    static = src / "_static"
    static.mkdir()
    favicon(static / "favicon.png")
    if (MATHJAX / "MathJax.js").is_file():
        for part in MATHJAX_PARTS:
            a, b = MATHJAX / part, static / "mathjax" / part
            if a.is_dir():
                shutil.copytree(a, b)
            else:
                b.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(a, b)
    else:
        print(f"book: {MATHJAX} not found (apt-get install libjs-mathjax): formulas will load MathJax from a CDN")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(REPO / "build" / "book"), help="output folder (default build/book)")
    p.add_argument("--executed", default=None, metavar="DIR",
                   help="take the notebooks already executed into DIR (by `SGN_SAVE_EXECUTED=DIR pytest --nbval-lax "
                        "notebooks`) instead of executing them again; ignored unless DIR has a fresh copy of each")
    args = p.parse_args(argv)
    out = Path(args.out).resolve()
    src, html = out / "src", out / "html"
    t0 = time.time()
    executed = executed_copies(Path(args.executed) if args.executed else None)
    stage(src, executed)
    if html.exists():
        shutil.rmtree(html)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1", str(src), str(html), "-d", str(out / "doctrees")]
    print("book:", " ".join(cmd), flush=True)
    env = {**os.environ, "SGN_BOOK_EXECUTE": "off"} if executed else None
    rc = subprocess.run(cmd, cwd=src, env=env).returncode
    if executed:
        for nb in executed:
            print(f"book: reused {nb.stem} (executed by nbval)")
    else:
        print_execution_times(out / "doctrees")
    print(f"book: {'built' if rc == 0 else 'FAILED'} in {time.time() - t0:.0f} s → {html / 'index.html'}")
    return rc


def print_execution_times(doctrees: Path) -> None:
    """One line per notebook: how long MyST-NB took to execute it (from Sphinx's saved environment)."""
    import pickle

    try:
        with open(doctrees / "environment.pickle", "rb") as f:
            env = pickle.load(f)
        runs = {name: meta["exec_data"] for name, meta in sorted(env.nb_metadata.items())
                if isinstance(meta, dict) and meta.get("exec_data")}
    except Exception as exc:  # MyST-NB's internals may change: the times are a report, never a failure
        print(f"book: no execution times ({type(exc).__name__})")
        return
    for name, run in runs.items():
        state = "ok" if run.get("succeeded") else "FAILED"
        print(f"book: executed {name:40s} {run.get('runtime', float('nan')):7.1f} s  {state}")


if __name__ == "__main__":
    sys.exit(main())
