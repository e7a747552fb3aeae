"""How strongly should the bi-modal and consistency losses pull? Choose the weights on *validation* mixtures,
never on the test set.

    python benchmarks/bench_weak_tune.py --data data/music11 --out outputs/weak_tune
                                         [--weights 0.1:1 0.3:1 0.1:0.3] [--steps 600]

Trains notebook 08's weakly-supervised model (`unsup+bimodal+consistency`) once per
pair w_bimodal:w_consistency, and the `unsup` baseline once, with everything else as in
``benchmarks/bench_weak.py`` (same preset, steps, batch, seed, SoundFont, embedding).
Then scores them all on the same seeded 2-source mixtures of the **val** clips and prints,
per weight, the mean SDR / SIR / SAR, the paired-bootstrap 95 % interval of its
difference to `unsup`, and the bi-modal accuracy of its estimates over the last 100 training steps
(how often the embedding names the prompted entity — near 100 % while SDR falls means the
separator learned to please the embedding, not to separate). The weight chosen here is ``WeakConfig.w_bimodal``; the table of
notebook 08 then measures it once on the test clips.

Resumable: finished runs (out/unsup, out/b<w_bimodal>_c<w_consistency>) are read back. Fast check:
--preset tiny --steps 4 --n-mixtures 4.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from sgn_teach.core.device import get_device
from sgn_teach.core.errors import SGNError
from sgn_teach.core.interrupt import script_main
from sgn_teach.data import SoloLibrary
from sgn_teach.evaluation.evaluate import evaluate
from sgn_teach.experiments.runner import trained_run
from sgn_teach.experiments.text_table import WEAK, variant_config
from sgn_teach.hub.build import load_checkpoint
from sgn_teach.signal.stats import paired_bootstrap_ci, per_mixture
from sgn_teach.training.common import MODEL_NAME


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/music11")
    p.add_argument("--out", default="outputs/weak_tune")
    p.add_argument("--weights", nargs="+", default=["0.1:1", "0.3:1", "0.1:0.3"],
                   help="w_bimodal:w_consistency pairs")
    p.add_argument("--preset", default="small", choices=("tiny", "small", "paper"))
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--n-mixtures", type=int, default=100, help="2-source validation mixtures")
    p.add_argument("--soundfonts", default="fluidr3")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    fonts = [f for f in args.soundfonts.split(",") if f] or None
    out = Path(args.out)
    pairs = {w: tuple(float(x) for x in w.split(":")) for w in args.weights}
    runs = {"unsup": out / "unsup",
            **{f"w_bimodal={b:g}, w_consistency={c:g}": out / f"b{b:g}_c{c:g}" for b, c in pairs.values()}}
    try:
        for (name, run), weights in zip(runs.items(), [None, *pairs.values()]):
            cfg = variant_config("unsup" if name == "unsup" else WEAK, args.preset, args.steps, args.batch_size)
            if weights is not None:
                cfg.weak.w_bimodal, cfg.weak.w_consistency = weights
            if not (run / MODEL_NAME).exists():
                print(f"== training {name}")
            trained_run(cfg, args.data, run, device=args.device, validate_during=False, soundfonts=fonts)
        dev = get_device(args.device)
        loaded = {name: load_checkpoint(run / MODEL_NAME, device=dev) for name, run in runs.items()}
        val = SoloLibrary(args.data, split="val", soundfonts=fonts)
        rep = evaluate({k: v[0] for k, v in loaded.items()}, val, loaded["unsup"][1].audio, n_sources=2,
                       n_mixtures=args.n_mixtures, seed=0, rows=("mixture",), device=dev)
    except SGNError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    base = per_mixture(rep["scores"]["unsup"]["sdr"], 2)
    print(f"\n{args.n_mixtures} two-source mixtures of the val clips ({args.steps} steps each)\n")
    print("| model | SDR | SIR | SAR | vs unsup (dB [95 % CI]) | bi-modal accuracy, last 100 steps |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in [*runs, "mixture"]:
        row = rep["rows"][name]
        diff = ""
        if name not in ("unsup", "mixture"):
            d, lo, hi = paired_bootstrap_ci(per_mixture(rep["scores"][name]["sdr"], 2), base)
            diff = f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]"
        acc = ""
        if name in runs and name != "unsup":
            train_log = json.loads((runs[name] / "history.json").read_text())["train"]
            acc = f"{np.mean([r['bimodal_acc'] for r in train_log[-100:]]):.0%}"
        print(f"| {name} | {row['sdr']:.2f} | {row['sir']:.2f} | {row['sar']:.2f} | {diff} | {acc} |")
    best = max((n for n in runs if n != "unsup"), key=lambda n: float(np.nanmean(rep["scores"][n]["sdr"])))
    print(f"\nhighest validation SDR: {best}")
    return 0


if __name__ == "__main__":
    raise SystemExit(script_main(main))
