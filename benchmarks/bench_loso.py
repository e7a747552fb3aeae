"""Leave-one-SoundFont-out: did the model learn the instrument, or the recording?

    python benchmarks/bench_loso.py --data data/music11 --out outputs/loso [--steps 2500]
                                    [--variants sgn sop] [--folds fluidr3 timgm6mb csound]

For each held-out SoundFont ("fold"), SGN and SoP are trained with the shipped
`small` recipe on the `train` clips of the other two SoundFonts, then evaluated on
100 seeded 2-source mixtures of the held-out SoundFont's `test` clips — timbres the
model never heard — beside the mixture, the oracle masks and supervised NMF (its
dictionaries learned from the same two training SoundFonts). Runs are resumable:
finished trainings and evaluations are reused (outputs/loso/results.json).

Caveat printed with the table: TimGM6mb and the csound GM bank share samples for
several instruments (see benchmarks/bench_soundfonts.py), so only the fold that
holds out FluidR3 is a clean test of unseen timbres for every class.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sgn_teach.core.atomic import write_json
from sgn_teach.core.config import augment_level, get_preset
from sgn_teach.data import SoloLibrary
from sgn_teach.evaluation.evaluate import evaluate, paired_differences
from sgn_teach.hub.build import load_checkpoint
from sgn_teach.training import train
from sgn_teach.training.common import MODEL_NAME

ALL_FONTS = ("fluidr3", "timgm6mb", "csound")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/music11")
    p.add_argument("--out", default="outputs/loso")
    p.add_argument("--steps", type=int, default=None, help="training steps (default: the small preset's)")
    p.add_argument("--variants", nargs="+", default=["sgn", "sop"])
    p.add_argument("--augment", choices=("off", "gain", "full"), default=None,
                   help="augmentation level (default: the small preset's); runs go to OUT/<fold>_<variant>[_<level>]")
    p.add_argument("--folds", nargs="+", default=list(ALL_FONTS))
    p.add_argument("--n-mixtures", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    out = Path(args.out)
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for fold in args.folds:
        train_fonts = [f for f in ALL_FONTS if f != fold]
        models = {}
        for variant in args.variants:
            cfg = get_preset("small", variant=variant)
            if args.steps:
                cfg.train.steps = args.steps
            if args.augment:
                cfg.augment = augment_level(args.augment)
            run = out / (f"{fold}_{variant}" + (f"_{args.augment}" if args.augment else ""))
            if not (run / MODEL_NAME).exists():
                print(f"== fold {fold}: training {variant} on {'+'.join(train_fonts)} → {run}", flush=True)
                train(cfg, args.data, run, device="auto", resume=True, soundfonts=train_fonts)
            models[variant], cfg, classes, step, _ = load_checkpoint(run / MODEL_NAME)
        name = fold + (f"_{args.augment}" if args.augment else "")
        key = f"{fold}:{'+'.join(args.variants)}:{args.n_mixtures}:{args.seed}:{step}:{args.augment}"
        if results.get(name, {}).get("key") == key:
            continue
        test = SoloLibrary(args.data, split="test", classes=classes, soundfonts=[fold])
        nmf_lib = SoloLibrary(args.data, split="train", classes=classes, soundfonts=train_fonts)
        report = evaluate(models, test, cfg.audio, n_mixtures=args.n_mixtures, seed=args.seed, nmf_library=nmf_lib)
        results[name] = {"key": key, "train_soundfonts": train_fonts, "steps": step, "augment": args.augment,
                         "rows": report["rows"], "per_class": report["per_class"], "scores": report["scores"]}
        write_json(results_path, results)
    rows = [*args.variants, "nmf", "mixture", "oracle_ibm"]
    print(f"\nSDR (dB) on {args.n_mixtures} 2-source test mixtures of the held-out SoundFont "
          f"(models trained on the other two, small preset)")
    print("| held out | " + " | ".join(rows) + " | SGN − SoP |")
    print("|---|" + "---:|" * (len(rows) + 1))
    for fold in args.folds:
        name = fold + (f"_{args.augment}" if args.augment else "")
        r = results[name]["rows"]
        diff = r["sgn"]["sdr"] - r["sop"]["sdr"] if "sgn" in r and "sop" in r else float("nan")
        print(f"| {name} | " + " | ".join(f"{r[k]['sdr']:.2f}" if k in r else "—" for k in rows) + f" | {diff:+.2f} |")
    for fold in args.folds:
        name = fold + (f"_{args.augment}" if args.augment else "")
        print(f"\n{name}: " + "\n".join(paired_differences(results[name], pairs=(("sgn", "sop"), ("sgn", "nmf")))["lines"]))
    print("\nTimGM6mb and the csound bank share samples for several instruments "
          "(benchmarks/bench_soundfonts.py): only 'fluidr3' is a clean unseen-timbre fold for every class.")


if __name__ == "__main__":
    main()
