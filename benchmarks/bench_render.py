"""Clips per second of the two course-data generators (one process, one core).

    python benchmarks/bench_render.py --clips-per-class 10
    python benchmarks/bench_render.py --clips-per-class 10 --duration 6 --only render

Builds a library of 11 classes × K clips into a temporary folder with
`synth_library` and `render_library` (wav writing included) and prints clips/s
and the real-time factor. The SoundFont load (once per process) is timed apart.
Each FluidSynth clip is played twice (a discarded priming take makes clips
independent of what was rendered before; see render.py), so the renderer's raw
speed is about twice what is printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sgn_teach.data import (  # noqa: E402
    MUSIC11_NAMES,
    SoundFontRenderer,
    fluidsynth_problem,
    render_library,
    synth_library,
)


def bench(name: str, make, k: int, duration: float) -> None:
    """Time `make(out_dir)` and print clips/s and × real time."""
    n = k * len(MUSIC11_NAMES)
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        make(Path(tmp))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{name:7s} {n} clips of {duration:g} s in {wall:.2f} s wall ({cpu:.2f} s CPU): "
          f"{n / wall:.1f} clips/s, {n * duration / wall:.0f}× real time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips-per-class", type=int, default=10)
    ap.add_argument("--duration", type=float, default=6.0)
    ap.add_argument("--sample-rate", type=int, default=11025)
    ap.add_argument("--only", choices=("synth", "render"), default=None)
    args = ap.parse_args()
    k, dur, sr = args.clips_per_class, args.duration, args.sample_rate

    if args.only in (None, "synth"):
        bench("synth", lambda out: synth_library(out, clips_per_class=k, duration=dur, sample_rate=sr,
                                                 progress=False), k, dur)
    if args.only in (None, "render"):
        problem = fluidsynth_problem()
        if problem:
            print(f"render  skipped: {problem}")
            return
        t0 = time.perf_counter()
        renderer = SoundFontRenderer(sample_rate=sr)
        print(f"render  SoundFont {renderer.soundfont} loaded in {time.perf_counter() - t0:.2f} s (once per process)")
        bench("render", lambda out: render_library(out, clips_per_class=k, duration=dur, sample_rate=sr,
                                                   progress=False), k, dur)


if __name__ == "__main__":
    main()
