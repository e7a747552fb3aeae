"""The diffusion separator (notebook 07): speed and SDR against the number of DDIM sampling steps.

    python benchmarks/bench_diffusion.py --checkpoint sgn_teach/checkpoints/diffusion_small.pt \\
        --data data/music11 [--steps 1 2 4 8 16] [--seconds 30] [--n-mixtures 50]

1. speed: `separate` on a synthesized two-instrument recording of `--seconds` (cello + flute,
   the classes named, as `separate --classes cello,flute` does): audio seconds per wall
   second, and the wall time itself — the issue's target is a 30-s file in < 30 s on
   2 CPU cores at the model's default step count;
2. SDR (and SI-SDR) on the same held-out mixtures as notebook 05 (test split, 2 sources,
   seed 0) at each step count, next to the mixture (skipped with --no-sdr or without --data).

Wall times depend on the machine and its load; the script prints the threads it used.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from sgn_teach.core.device import get_device
from sgn_teach.data import SoloLibrary, synth_clip
from sgn_teach.evaluation.evaluate import evaluate
from sgn_teach.hub.build import load_checkpoint
from sgn_teach.inference.separate import separate_wave, train_level


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="sgn_teach/checkpoints/diffusion_small.pt")
    p.add_argument("--data", default=None, help="a solo-clip library for the SDR table (its test split)")
    p.add_argument("--steps", type=int, nargs="+", default=None, help="DDIM step counts (default 1 2 4 8 16 and the model's)")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--n-mixtures", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-sdr", action="store_true")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)

    dev = get_device(args.device)
    model, cfg, classes, step, state = load_checkpoint(args.checkpoint, device=dev)
    if not getattr(model, "generative", False):
        raise SystemExit(f"{args.checkpoint} is a {cfg.model.variant!r} checkpoint, not a diffusion model")
    default = model.sampling_steps
    steps = sorted(set(args.steps or [1, 2, 4, 8, 16, default]))
    sr = cfg.audio.sample_rate
    print(f"{args.checkpoint}: condition {cfg.diffusion.condition!r}, trained {step} steps, default {default} DDIM "
          f"steps; device {dev}, torch threads {torch.get_num_threads()}")

    rng = np.random.default_rng(0)
    wave = (synth_clip("cello", rng, args.seconds, sr) + synth_clip("flute", rng, args.seconds, sr)) / 2
    named = [c for c in ("cello", "flute") if c in classes] or classes[:2]
    level = train_level(state)
    model.sampling_steps = 1
    separate_wave(model, wave[: cfg.audio.n_samples], cfg.audio, classes, named, device=dev, target_rms=level)  # warm-up
    print(f"\nspeed: a {args.seconds:.0f}-s recording, classes {', '.join(named)}")
    print(f"{'steps':>5} {'wall s':>8} {'× real time':>12}")
    for s in steps:
        model.sampling_steps = s
        t0 = time.perf_counter()
        separate_wave(model, wave, cfg.audio, classes, named, device=dev, target_rms=level)
        wall = time.perf_counter() - t0
        mark = "  (default)" if s == default else ""
        print(f"{s:>5} {wall:>8.2f} {args.seconds / wall:>12.2f}{mark}", flush=True)

    if args.no_sdr or not args.data:
        return
    lib = SoloLibrary(args.data, split="test", classes=classes)
    print(f"\nSDR on {args.n_mixtures} held-out 2-source mixtures (test split, seed {args.seed}), dB, mean over sources")
    print(f"{'steps':>5} {'SDR':>7} {'SIR':>7} {'SAR':>7} {'SI-SDR':>7} {'eval s':>7}")
    mixture_sdr = None
    for s in steps:
        model.sampling_steps = s
        t0 = time.perf_counter()
        rows = ("mixture",) if mixture_sdr is None else ()
        report = evaluate({"diffusion": model}, lib, cfg.audio, n_sources=2, n_mixtures=args.n_mixtures,
                          seed=args.seed, rows=rows, device=dev, progress=False)
        r = report["rows"]["diffusion"]
        if mixture_sdr is None:
            mixture_sdr = report["rows"]["mixture"]["sdr"]
        mark = "  (default)" if s == default else ""
        print(f"{s:>5} {r['sdr']:>7.2f} {r['sir']:>7.2f} {r['sar']:>7.2f} {r['si_sdr']:>7.2f} "
              f"{time.perf_counter() - t0:>7.1f}{mark}", flush=True)
    print(f"mixture (no processing): SDR {mixture_sdr:.2f} dB; target: the default row ≥ mixture + 6 dB "
          f"= {mixture_sdr + 6:.2f} dB")
    model.sampling_steps = default


if __name__ == "__main__":
    main()
