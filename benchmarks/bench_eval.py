"""Evaluation benchmark: the oracle ceiling and how long an evaluation takes.

    python benchmarks/bench_eval.py --data data/music11 --n-mixtures 100 [--checkpoint CK ...]

Prints the table (mixture, oracle IBM / IRM through the warp, NMF, and any
checkpoints given) on seeded held-out 2-source mixtures, the wall time of the
evaluation, and — with --cross-check K — the largest difference between the fast
BSS Eval path and mir_eval on K mixtures.
"""

from __future__ import annotations

import argparse
import time

from sgn_teach.core.config import get_preset
from sgn_teach.data import SoloLibrary
from sgn_teach.evaluation.evaluate import evaluate, format_table
from sgn_teach.hub.build import load_checkpoint


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/music11")
    p.add_argument("--n-mixtures", type=int, default=100)
    p.add_argument("--n-sources", type=int, default=2)
    p.add_argument("--preset", default="paper", help="audio config when no checkpoint is given")
    p.add_argument("--checkpoint", action="append", default=[])
    p.add_argument("--no-nmf", action="store_true")
    p.add_argument("--cross-check", type=int, default=0)
    args = p.parse_args()
    models, audio = {}, get_preset(args.preset).audio
    for ck in args.checkpoint:
        model, cfg, classes, step, _ = load_checkpoint(ck)
        models[cfg.model.variant] = model
        audio = cfg.audio
    test = SoloLibrary(args.data, split="test")
    rows = ("mixture", "oracle_ibm", "oracle_irm") + (() if args.no_nmf else ("nmf",))
    t0 = time.time()
    report = evaluate(models, test, audio, n_sources=args.n_sources, n_mixtures=args.n_mixtures, seed=0, rows=rows,
                      nmf_library=SoloLibrary(args.data, split="train"))
    wall = time.time() - t0
    print(format_table(report))
    print(f"\n{args.n_mixtures} mixtures of {args.n_sources} sources ({audio.n_samples} samples each), "
          f"rows {', '.join(list(models) + list(rows))}: {wall:.1f} s wall")
    if args.cross_check:
        k = args.cross_check
        fast = evaluate(models, test, audio, n_sources=args.n_sources, n_mixtures=k, seed=0, rows=rows, backend="fast",
                        progress=False, nmf_library=SoloLibrary(args.data, split="train"))
        t1 = time.time()
        ref = evaluate(models, test, audio, n_sources=args.n_sources, n_mixtures=k, seed=0, rows=rows,
                       backend="mir_eval", progress=False, nmf_library=SoloLibrary(args.data, split="train"))
        t_mir = time.time() - t1
        # the mixture row's SAR is degenerate (no artifacts: ≈150 dB, ill-conditioned), so it is left out
        pairs = [(r, m) for r in fast["rows"] for m in ("sdr", "sir", "sar") if not (r == "mixture" and m == "sar")]
        diff = max(abs(fast["rows"][r][m] - ref["rows"][r][m]) for r, m in pairs)
        print(f"cross-check on {k} mixtures: max |fast − mir_eval| = {diff:.2e} dB over every row's SDR/SIR/SAR "
              f"except the mixture's degenerate SAR (mir_eval run {t_mir:.1f} s)")


if __name__ == "__main__":
    main()
