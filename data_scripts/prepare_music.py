#!/usr/bin/env python3
"""MUSIC solo videos (Zhao et al. 2018) → a solo-clip library (11 instruments).

Run from the repository root, e.g.::

    python data_scripts/prepare_music.py --index MUSIC_solo_videos.json \\
        --raw data/music_raw --out data/music --max-clips-per-class 200
    python data_scripts/prepare_music.py --index-url --raw data/music_raw --out data/music
    python data_scripts/prepare_music.py --index MUSIC_solo_videos.json \\
        --raw data/music_raw --out data/music --skip-download      # offline, from RAW only

Downloading needs yt-dlp and ffmpeg (pip install yt-dlp; apt-get install ffmpeg) and
access to YouTube. The layout and the flow are described in
sgn_teach/data/external/music.py. Exit status 2 with one ``error: …`` line on bad input.
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
    src.add_argument("--index", type=Path, help="local MUSIC_solo_videos.json (or MUSIC21_solo_videos.json)")
    src.add_argument("--index-url", nargs="?", const="default", default=None, metavar="URL",
                     help="fetch the index from URL (default: the roudimit/MUSIC_dataset copy on GitHub)")
    p.add_argument("--raw", type=Path, default=None,
                   help="download folder RAW/<class>/<id>.<ext> (default: OUT_raw next to OUT)")
    p.add_argument("--classes", nargs="+", default=None, metavar="NAME", help="instruments to keep (default: all)")
    p.add_argument("--max-videos-per-class", type=int, default=None, metavar="N",
                   help="use (and download) at most N videos per instrument")
    p.add_argument("--skip-download", action="store_true", help="use only the audio already in RAW")
    p.add_argument("--no-network-check", action="store_true",
                   help="skip the connectivity probe (e.g. behind a proxy where yt-dlp works but the probe fails)")
    p.add_argument("--val-frac", type=float, default=0.1, help="fraction of each class's videos for val")
    p.add_argument("--test-frac", type=float, default=0.1, help="fraction of each class's videos for test")
    common.add_common_args(p, clip_seconds=6.0, min_active=0.5)
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    common.check_common_args(args)
    from sgn_teach.data.external import music

    index_url = music.INDEX_URL if args.index_url == "default" else args.index_url
    raw = args.raw if args.raw is not None else args.out.with_name(args.out.name + "_raw")
    music.prepare_music(
        out=args.out, raw=raw, index=args.index, index_url=index_url, classes=args.classes,
        max_videos_per_class=args.max_videos_per_class, max_clips_per_class=args.max_clips_per_class,
        clip_seconds=args.clip_seconds, min_active=args.min_active, skip_download=args.skip_download,
        network_check=not args.no_network_check, val_frac=args.val_frac, test_frac=args.test_frac,
        seed=args.seed, overwrite=args.overwrite)


if __name__ == "__main__":
    sys.exit(common.run_cli(main))
