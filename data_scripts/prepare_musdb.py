#!/usr/bin/env python3
"""MUSDB18 / MUSDB18-HQ → a solo-clip library with the stems (vocals, drums, bass, other) as classes.

Run from the repository root, e.g.::

    python data_scripts/prepare_musdb.py --root data/musdb18hq --out data/musdb
    python data_scripts/prepare_musdb.py --root data/musdb18 --out data/musdb \\
        --stems vocals bass --max-clips-per-class 300      # .stem.mp4 needs ffmpeg

MUSDB18-HQ (wav) needs nothing beyond soundfile; the .stem.mp4 version needs ffmpeg and the
``musdb`` package. Layouts and splits are described in sgn_teach/data/external/musdb.py.
Exit status 2 with one ``error: …`` line on bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
if (_REPO / "sgn_teach").is_dir() and str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from sgn_teach.data.external import common  # noqa: E402

STEMS = ("vocals", "drums", "bass", "other")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, required=True,
                   help="MUSDB folder holding train/ and test/ (track folders of wavs, or .stem.mp4 files)")
    p.add_argument("--stems", nargs="+", default=list(STEMS), choices=STEMS, help="stems to keep (default: all 4)")
    p.add_argument("--subsets", nargs="+", default=["train", "test"], choices=["train", "test"],
                   help="MUSDB subsets to read (default: both)")
    p.add_argument("--val-frac", type=float, default=0.1,
                   help="fraction of train tracks for val when musdb's official validation tracks are absent")
    common.add_common_args(p, clip_seconds=6.0, min_active=0.5)
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    common.check_common_args(args)
    from sgn_teach.data.external import musdb

    musdb.prepare_musdb(
        out=args.out, root=args.root, stems=args.stems, subsets=args.subsets,
        max_clips_per_class=args.max_clips_per_class, clip_seconds=args.clip_seconds, min_active=args.min_active,
        val_frac=args.val_frac, seed=args.seed, overwrite=args.overwrite)


if __name__ == "__main__":
    sys.exit(common.run_cli(main))
