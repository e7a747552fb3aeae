"""Leave-one-SoundFont-out: did the model learn the instrument, or the recording?

    python benchmarks/bench_loso.py --data data/variety --eval-data data/music11 --out outputs/loso
                                    [--fold fluidr3] [--steps 8000 12000] [--trunk film|paper] [--presence trunk|tokens]

The fold holds one SoundFont out entirely: SGN, SoP (3 slots) and the instrument classifier that names
SoP's slots are trained with the shipped models' recipe (`SHIPPED_RECIPES`: 1–3 sources per mixture, in the stages
of `SHIPPED_STAGES` — `--steps 8000` for one stage; for SGN presence from the trunk and the FiLM trunk, `--trunk paper`
for the paper's; the variety library's other voices and the synthesizer) on the `train` clips of every *other*
SoundFont of `--data`, then scored as a user meets them (`evaluate --user-view`: labels given / named by the
model, 2 and 3 sources) on 100 seeded mixtures of the held-out SoundFont's `test` clips of `--eval-data` —
timbres none of them heard. Runs are resumable, and a fold trained to an earlier stage continues to the next (a
run of another config is refused). Prints the table and the issue's LOSO targets (SGN ≥ SoP;
named-output F1 ≥ 0.85; no class below 3 dB).

Only FluidR3 is a clean fold: TimGM6mb and the csound GM bank share samples for several instruments
(benchmarks/bench_soundfonts.py), so holding either out would flatter every model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench_named import issue_targets  # the same targets as bench_named.py --loso

from sgn_teach.core.atomic import write_json
from sgn_teach.core.config import NAMED_RECIPE, SHIPPED_RECIPES, SHIPPED_STAGES, get_preset
from sgn_teach.core.device import get_device
from sgn_teach.core.interrupt import script_main
from sgn_teach.core.options import PRESENCE_SOURCES, TRUNKS
from sgn_teach.data import SoloLibrary
from sgn_teach.evaluation.user_view import format_user_view, user_view, user_view_legend
from sgn_teach.experiments.runner import staged_run, trained_run
from sgn_teach.hub.build import load_checkpoint


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/variety", help="the training library (data render --variety)")
    p.add_argument("--eval-data", default="data/music11", help="the library whose test clips are scored")
    p.add_argument("--out", default="outputs/loso")
    p.add_argument("--fold", default="fluidr3")
    p.add_argument("--steps", type=int, nargs="+", default=list(SHIPPED_STAGES["sgn"]),
                   help="SGN's and SoP's step count of each training stage, increasing (the shipped models' stages)")
    shipped = SHIPPED_RECIPES["sgn"]
    p.add_argument("--trunk", default=shipped["model__trunk"], choices=TRUNKS,
                   help="SGN's U-Net (default: the shipped SGN's, chosen on validation in README's Named outputs)")
    p.add_argument("--presence", default=shipped["model__presence"], choices=PRESENCE_SOURCES,
                   help="SGN's presence head (default: the shipped SGN's)")
    p.add_argument("--n-mixtures", type=int, default=100)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    out = Path(args.out)
    fonts = [f for f in SoloLibrary(args.data, split="train").soundfonts_available if f != args.fold]
    print(f"fold {args.fold}: training on {', '.join(fonts)}", flush=True)
    runs = {}
    for name, kind, over in (("sgn", "sgn", {"model__trunk": args.trunk, "model__presence": args.presence}), ("sop", "sop", {}),
                             ("classifier", "classifier", {})):
        run = out / f"{args.fold}_{name}"
        if kind == "classifier":
            runs[name] = trained_run(get_preset("small", kind), args.data, run, device=args.device, soundfonts=fonts)
            continue
        stages = [get_preset("small", kind, **over, **{**NAMED_RECIPE, "train__steps": steps})  # 1–3 sources per mix
                  for steps in args.steps]
        runs[name] = staged_run(stages, args.data, run, device=args.device, soundfonts=fonts)
    dev = get_device(args.device)
    sgn, cfg, classes, _, _ = load_checkpoint(runs["sgn"], device=dev)
    sop = load_checkpoint(runs["sop"], device=dev)[0]
    clf = load_checkpoint(runs["classifier"], device=dev)[0]
    test = SoloLibrary(args.eval_data, split="test", classes=classes, soundfonts=[args.fold])
    results = user_view({"SGN": sgn, "SoP": sop}, test, cfg.audio, classifiers={"SoP": clf},
                        n_mixtures=args.n_mixtures, seed=args.seed, device=dev)
    print(f"\nheld out: {args.fold} (models trained on {', '.join(fonts)}, {' then '.join(map(str, args.steps))} steps)")
    print(format_user_view(results, ["SGN", "SoP"]))
    print(user_view_legend())
    per_class = results["labels given, 2 sources"]["per_class"]
    for name in ("SGN", "SoP"):
        print(f"{name} per class (labels given, 2 sources): "
              + ", ".join(f"{c} {v:.2f}" for c, v in per_class[name].items()))
    checks = issue_targets(results, loso=True)
    for label, ok, value in checks:
        print(f"  {'met    ' if ok else 'NOT met'}  {label}: {value}")
    write_json(out / "results.json", {"fold": args.fold, "train_soundfonts": fonts, "steps": args.steps,
                                      "trunk": args.trunk, "presence": args.presence, "results": results,
                                      "targets": [{"target": t, "met": bool(ok), "value": v} for t, ok, v in checks]})
    print(f"results in {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(script_main(main))
