"""Speed of `separate`: how many times faster than real time it runs.

    python benchmarks/bench_separate.py [--checkpoint CK] [--seconds 60]   (default: the shipped small SGN)

Separates a synthesized multi-instrument recording of the given length (windows
with 50 % overlap, stitched by overlap-add) and prints audio seconds / wall seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sgn_teach.checkpoint import load_checkpoint, shipped_checkpoint
from sgn_teach.data import synth_clip
from sgn_teach.device import get_device
from sgn_teach.separate import separate_wave


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="default: shipped_checkpoint('sgn_small')")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    dev = get_device(args.device)
    model, cfg, classes, _, _ = load_checkpoint(args.checkpoint or shipped_checkpoint("sgn_small"), device=dev)
    sr = cfg.audio.sample_rate
    rng = np.random.default_rng(0)
    wave = (synth_clip("cello", rng, args.seconds, sr) + synth_clip("flute", rng, args.seconds, sr)) / 2
    separate_wave(model, wave[: cfg.audio.n_samples], cfg.audio, classes, "auto", device=dev)  # warm-up
    t = time.perf_counter()
    est, presence = separate_wave(model, wave, cfg.audio, classes, "auto", device=dev)
    wall = time.perf_counter() - t
    print(f"{args.seconds:.0f} s of audio separated into {', '.join(est)} in {wall:.2f} s on {dev}: "
          f"{args.seconds / wall:.1f}× real time")


if __name__ == "__main__":
    main()
