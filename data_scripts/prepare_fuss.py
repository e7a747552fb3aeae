#!/usr/bin/env python3
"""FUSS (Free Universal Sound Separation) → a solo-clip library labelled through FSD50K.

Run from the repository root, e.g.::

    python data_scripts/prepare_fuss.py --root data/fuss --fsd50k-labels data/FSD50K.ground_truth \\
        --out data/fuss_lib --classes Dog Bark Speech Guitar Water --max-clips-per-class 200

--root is the folder where FUSS_ssdata.tar.gz (→ ssdata/) and/or FUSS_fsd_data.tar.gz
(→ fsd_data/) were unpacked, or one of those folders. FUSS has no class labels of its own:
--fsd50k-labels points to FSD50K.ground_truth (dev.csv, eval.csv; Zenodo record 4060432).
Layouts are described in sgn_teach/data/external/fuss.py. Exit status 2 with one
``error: …`` line on bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
if (_REPO / "sgn_teach").is_dir() and str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from sgn_teach.data.external import common  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, required=True, help="FUSS folder (with ssdata/ and/or fsd_data/)")
    p.add_argument("--fsd50k-labels", type=Path, default=None, metavar="DIR_OR_CSV",
                   help="FSD50K.ground_truth folder (dev.csv, eval.csv) or one of its CSVs")
    p.add_argument("--source", default="auto", choices=["auto", "fsd_data", "ssdata", "ssdata_reverb"],
                   help="which FUSS layout to read (auto: fsd_data if present, else ssdata)")
    p.add_argument("--classes", nargs="+", default=None, metavar="LABEL",
                   help="FSD50K labels to keep (Dog, Bark, or folder names like dog); default: every leaf label")
    p.add_argument("--min-seconds", type=float, default=1.0,
                   help="zero-pad a sound (or its last part) into a clip if it lasts at least this long")
    common.add_common_args(p, clip_seconds=6.0, min_active=0.3)
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    common.check_common_args(args)
    from sgn_teach.data.external import fuss

    fuss.prepare_fuss(
        out=args.out, root=args.root, fsd50k_labels=args.fsd50k_labels, source=args.source, classes=args.classes,
        max_clips_per_class=args.max_clips_per_class, clip_seconds=args.clip_seconds, min_active=args.min_active,
        min_seconds=args.min_seconds, overwrite=args.overwrite)


if __name__ == "__main__":
    sys.exit(common.run_cli(main))
