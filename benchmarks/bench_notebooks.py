"""Wall time of each notebook, run top to bottom on a fresh kernel: the figures in the notebooks' headers.

    python benchmarks/bench_notebooks.py --fast            # CI's settings (SGN_FAST=1)
    python benchmarks/bench_notebooks.py                   # the full settings (what learners run): long
    python benchmarks/bench_notebooks.py --fast 01 03      # only some (by number prefix)

Each notebook runs in a temporary copy of notebooks/ (so runs/ and other files it writes stay out of the
repository), with the course data cache of $SGN_CACHE (the first notebook pays for rendering it; run twice
to see the cached times). Prints one line per notebook and a total.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("only", nargs="*", help="number prefixes (e.g. 01 05); default: every notebook")
    p.add_argument("--fast", action="store_true", help="SGN_FAST=1 (CI's settings)")
    args = p.parse_args()
    if args.fast:
        os.environ["SGN_FAST"] = "1"
    else:
        os.environ.pop("SGN_FAST", None)
    paths = [nb for nb in sorted(NOTEBOOKS.glob("*.ipynb")) if not args.only or nb.name[:2] in args.only]
    total = 0.0
    with tempfile.TemporaryDirectory(prefix="sgn_bench_nb_") as tmp:
        for nb_path in paths:
            work = Path(tmp) / nb_path.stem
            work.mkdir()
            shutil.copy2(nb_path, work / nb_path.name)
            nb = nbformat.read(work / nb_path.name, as_version=4)
            t0 = time.perf_counter()
            NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
            wall = time.perf_counter() - t0
            total += wall
            print(f"{nb_path.name:45s} {wall:7.1f} s  ({'fast' if args.fast else 'full'} mode)", flush=True)
    print(f"{'total':45s} {total:7.1f} s")


if __name__ == "__main__":
    main()
