"""Speed and memory of `separate` on a long file: × real time and peak RSS.

    python benchmarks/bench_separate.py [--checkpoint CK] [--seconds 600] [--rate 44100]   (default: the shipped small SGN)

Writes a synthesized two-instrument recording of the given length (stereo, at
--rate, in pieces: the writer itself stays small) to a temp folder, then runs
the separation in a fresh child process — the same `separate_file` as
`python -m sgn_teach separate`, after a warm-up on 10 s — and prints the
audio seconds per wall second and the child's peak resident memory
(targets for the `small` SGN on 2 CPU cores: ≥ 50× real time, < 1 GB for 10 minutes).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

PIECE = 30.0  # seconds synthesized at a time


def write_recording(path: Path, seconds: float, rate: int) -> None:
    """A cello + flute duet of `seconds` at `rate`, stereo, written PIECE seconds at a time."""
    from sgn_teach.data import synth_clip
    from sgn_teach.signal.audio import resample

    sr = 11025
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=2, subtype="PCM_16") as f:
        done, k = 0.0, 0
        while done < seconds:
            dur = min(PIECE, seconds - done)
            rng = np.random.default_rng(k)
            mono = (synth_clip("cello", rng, dur, sr) + synth_clip("flute", rng, dur, sr)) / 2
            mono = resample(mono, sr, rate)[: int(round(dur * rate))]
            f.write(np.stack([mono, 0.8 * mono], axis=1))  # (L, 2): a little left-right difference
            done += dur
            k += 1


def child(args) -> None:
    """Separate args.input in this process and print {"wall", "max_rss_kb"} as JSON."""
    from sgn_teach.inference.separate import separate_file

    warm = Path(args.out) / "warm.wav"
    data, rate = sf.read(args.input, frames=10 * sf.info(args.input).samplerate, dtype="float32")
    sf.write(warm, data, rate)
    separate_file(warm, args.checkpoint, Path(args.out) / "warm", classes=args.classes, device=args.device,
                  figure=False)
    t = time.perf_counter()
    written = separate_file(args.input, args.checkpoint, Path(args.out) / "sep", classes=args.classes,
                            device=args.device)
    wall = time.perf_counter() - t
    print(json.dumps({"wall": wall, "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "outputs": [p.name for p in written]}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="default: the shipped small SGN")
    p.add_argument("--seconds", type=float, default=600.0)
    p.add_argument("--rate", type=int, default=44100, help="sample rate of the test recording")
    p.add_argument("--classes", default="auto", help="'auto' or comma-separated names")
    p.add_argument("--device", default="cpu")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--input", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.checkpoint is None:
        from sgn_teach.hub.shipped import shipped_checkpoint

        args.checkpoint = str(shipped_checkpoint("sgn_small"))
    if args.classes != "auto":
        args.classes = [c.strip() for c in args.classes.split(",") if c.strip()]
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="bench_separate_") as tmp:
        wav = Path(tmp) / "long.wav"
        t = time.perf_counter()
        write_recording(wav, args.seconds, args.rate)
        print(f"wrote {args.seconds:.0f} s at {args.rate} Hz stereo ({wav.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t:.1f} s")
        classes = args.classes if isinstance(args.classes, str) else ",".join(args.classes)
        cmd = [sys.executable, __file__, "--child", "--input", str(wav), "--out", tmp, "--checkpoint",
               args.checkpoint, "--classes", classes, "--device", args.device]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"the separation failed:\n{r.stderr}")
        res = json.loads(r.stdout.strip().splitlines()[-1])
    rss_gb = res["max_rss_kb"] * 1024 / 1e9  # Linux reports ru_maxrss in KiB
    speed = args.seconds / res["wall"]
    print(f"separated {args.seconds:.0f} s into {', '.join(res['outputs'])} in {res['wall']:.1f} s on "
          f"{args.device}: {speed:.1f}× real time (target ≥ 50×)")
    print(f"peak RSS of the separating process: {rss_gb:.2f} GB (target < 1 GB)")


if __name__ == "__main__":
    main()
