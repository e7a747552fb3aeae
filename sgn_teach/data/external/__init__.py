"""Turn real datasets into solo-clip libraries (the format sgn_teach.data.library reads; ARCHITECTURE.md).

Every dataset ends up in the same format as the synthesized and rendered
libraries: ``OUT/<class>/<clip>.wav`` (mono, 11025 Hz, fixed length) plus
``OUT/splits.csv`` (columns ``path,split``; split ∈ train/val/test), with all
clips of one recording (video, track, source file) in the same split.

Modules (each one documents the on-disk layout it expects):

- :mod:`.common`   tool and network checks, decoding, clip cutting with
                   silence skipping, group-wise splits, the scripts' command line;
- :mod:`.builder`  atomic library building;
- :mod:`.music`    MUSIC (Zhao et al. 2018): YouTube solo videos from the
                   public index JSON (needs yt-dlp + ffmpeg to download);
- :mod:`.musdb`    MUSDB18-HQ (wav) or MUSDB18 (.stem.mp4, needs ffmpeg):
                   stems as classes;
- :mod:`.vggsound` VGGSound: 10-s YouTube segments from the public CSV;
- :mod:`.fuss`     FUSS: sources labelled through FSD50K's ground truth.

The command-line entry points are ``data_scripts/prepare_*.py``. Submodules are
not imported here, so a failing tool check stays fast (no torch import).
"""
