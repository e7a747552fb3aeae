#!/usr/bin/env python3
"""VGGSound (Chen et al. 2020) → a solo-clip library, one folder per chosen label.

Run from the repository root, e.g.::

    python data_scripts/prepare_vggsound.py --csv vggsound.csv --raw data/vgg_raw \\
        --out data/vggsound --classes "dog barking" "playing violin, fiddle" --max-clips-per-class 100
    python data_scripts/prepare_vggsound.py --csv-url --raw data/vgg_raw --out data/vggsound \\
        --classes dog_barking cat_meowing

Downloading the 10-s segments needs yt-dlp and ffmpeg (pip install yt-dlp; apt-get install
ffmpeg) and access to YouTube; --skip-download uses only what RAW holds. The CSV format and
the flow are described in sgn_teach/data/external/vggsound.py. Exit status 2 with one
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
    src = p.add_mutually_exclusive_group()
    src.add_argument("--csv", type=Path, help="local vggsound.csv (no header: youtube_id,start_seconds,label,split)")
    src.add_argument("--csv-url", nargs="?", const="default", default=None, metavar="URL",
                     help="fetch the CSV from URL (default: the hche11/VGGSound copy on GitHub)")
    p.add_argument("--raw", type=Path, default=None,
                   help="download folder RAW/<id>_<start:06d>.<ext> (default: OUT_raw next to OUT)")
    p.add_argument("--classes", nargs="+", default=None, metavar="LABEL",
                   help="labels to keep, as in the CSV or as folder names (dog_barking); default: all 309")
    p.add_argument("--skip-download", action="store_true", help="use only the segments already in RAW")
    p.add_argument("--no-network-check", action="store_true",
                   help="skip the connectivity probe (e.g. behind a proxy where yt-dlp works but the probe fails)")
    p.add_argument("--val-frac", type=float, default=0.1, help="fraction of the train videos moved to val")
    common.add_common_args(p, clip_seconds=6.0, min_active=0.3)
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    common.check_common_args(args)
    from sgn_teach.data.external import vggsound

    csv_url = vggsound.CSV_URL if args.csv_url == "default" else args.csv_url
    raw = args.raw if args.raw is not None else args.out.with_name(args.out.name + "_raw")
    vggsound.prepare_vggsound(
        out=args.out, raw=raw, csv_path=args.csv, csv_url=csv_url, classes=args.classes,
        max_clips_per_class=args.max_clips_per_class, clip_seconds=args.clip_seconds, min_active=args.min_active,
        skip_download=args.skip_download, network_check=not args.no_network_check, val_frac=args.val_frac,
        seed=args.seed, overwrite=args.overwrite)


if __name__ == "__main__":
    sys.exit(common.run_cli(main))
