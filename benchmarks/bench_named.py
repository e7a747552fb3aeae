"""Named outputs (issue 22): SGN as a user meets it, beside SoP + classifier, against the issue's targets.

    python benchmarks/bench_named.py --data data/music11 [--soundfonts fluidr3] [--sgn CK] [--sop CK]
                                     [--classifier CK] [--n-mixtures 100] [--seed 3] [--masks independent|compete]
                                     [--json OUT]
                                     [--compare-json EARLIER.json [--compare-label LABEL]]

Default checkpoints: the shipped sgn_small, sop_small and classifier_small. Scores the four settings of
`evaluate --user-view` (labels given / named by the model; 2 and 3 sources) on seeded test mixtures of the
library (optionally of some SoundFonts only: `--soundfonts fluidr3` for the leave-one-SoundFont-out fold,
with models trained without fluidr3), prints the table, the per-class SDR of SGN (labels given, 2 sources),
and each target with "met" or "NOT met". Test clips only: nothing here chooses a model or a setting.
`--masks compete` scores every model (SGN and SoP's slots alike) with competing masks (`sgn_teach.signal.sharing`,
its exponent chosen on validation by bench_mask_sharing.py); the default is the paper's independent masks.
`--compare-json` sets the SGN and the SoP of an earlier run's `--json` (the same mixtures: same data, seed and count)
beside this run's, one table each, with the paired difference new − earlier in each setting (e.g. new checkpoints
against the shipped ones).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sgn_teach.core.atomic import write_json
from sgn_teach.core.device import get_device
from sgn_teach.core.options import MASK_SHARING
from sgn_teach.data import SoloLibrary
from sgn_teach.evaluation.user_view import format_user_view, merge_user_views, user_view, user_view_legend
from sgn_teach.hub.build import load_checkpoint
from sgn_teach.hub.shipped import shipped_checkpoint


def issue_targets(results: dict, loso: bool = False) -> list[tuple[str, bool, str]]:
    """Issue 22's targets on a `user_view` result of SGN and SoP (+ classifier): (target, met, measured value).

    `loso`: the leave-one-SoundFont-out targets (SGN ≥ SoP; named-output F1 ≥ 0.85; no class below 3 dB),
    for models scored on a SoundFont they never heard (bench_loso.py uses the same list)."""
    gt2, named2, gt3 = (results["labels given, 2 sources"], results["named by the model, 2 sources"],
                        results["labels given, 3 sources"])
    named3 = results.get("named by the model, 3 sources")
    per_class = gt2["per_class"]["SGN"]

    def sdr(rep, name):
        return rep["rows"][name]["sdr"]

    def db(value: float, bound: float) -> str:
        """The value in dB, with a third decimal where two would round a miss up onto the bound."""
        return f"{value:.3f} dB" if value < bound and round(value, 2) >= bound else f"{value:.2f} dB"

    if loso:
        targets = [("LOSO: SGN ≥ SoP, labels given, 2 sources", sdr(gt2, "SGN") >= sdr(gt2, "SoP"),
                    f"{sdr(gt2, 'SGN'):.2f} vs {sdr(gt2, 'SoP'):.2f} dB"),
                   ("LOSO: named-output F1 ≥ 0.85", named2["presence"]["SGN"]["f1"] >= 0.85,
                    f"{named2['presence']['SGN']['f1']:.3f}"),
                   ("LOSO: no class below 3 dB", min(per_class.values()) >= 3.0,
                    f"lowest {min(per_class, key=per_class.get)} {min(per_class.values()):.2f} dB")]
    else:
        targets = [("named outputs, 2 sources ≥ 9 dB", sdr(named2, "SGN") >= 9.0, db(sdr(named2, "SGN"), 9.0)),
                   ("presence F1 ≥ 0.95 (2 sources)", named2["presence"]["SGN"]["f1"] >= 0.95,
                    f"{named2['presence']['SGN']['f1']:.3f}"),
                   ("3 sources, labels given ≥ 6 dB", sdr(gt3, "SGN") >= 6.0, db(sdr(gt3, "SGN"), 6.0)),
                   ("2 sources, labels given ≥ 10.4 dB", sdr(gt2, "SGN") >= 10.4, db(sdr(gt2, "SGN"), 10.4))]
    for label, rep in (("2", named2), ("3", named3)):
        if rep is not None and "SoP" in rep["rows"]:
            targets.append((f"SGN named ≥ SoP + classifier, {label} sources", sdr(rep, "SGN") >= sdr(rep, "SoP"),
                            f"{sdr(rep, 'SGN'):.2f} vs {sdr(rep, 'SoP'):.2f} dB"))
    return targets


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/music11")
    p.add_argument("--soundfonts", default=None, help="comma-separated: test clips of these SoundFonts only")
    p.add_argument("--sgn", default=None)
    p.add_argument("--sop", default=None)
    p.add_argument("--classifier", default=None)
    p.add_argument("--n-mixtures", type=int, default=100)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--loso", action="store_true", help="check the leave-one-SoundFont-out targets instead")
    p.add_argument("--masks", default="independent", choices=MASK_SHARING,
                   help="how the masks of the classes in play share a bin (compete: our extension)")
    p.add_argument("--json", default=None)
    p.add_argument("--compare-json", default=None, help="an earlier run's --json: its SGN beside this one, paired")
    p.add_argument("--compare-label", default="earlier", help="the earlier run's models are called 'SGN (LABEL)' …")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    dev = get_device(args.device)
    sgn, cfg, classes, _, _ = load_checkpoint(args.sgn or shipped_checkpoint("sgn_small"), device=dev)
    sop = load_checkpoint(args.sop or shipped_checkpoint("sop_small"), device=dev)[0]
    clf = load_checkpoint(args.classifier or shipped_checkpoint("classifier_small"), device=dev)[0]
    fonts = args.soundfonts.split(",") if args.soundfonts else None
    test = SoloLibrary(args.data, split="test", classes=classes, soundfonts=fonts)
    results = user_view({"SGN": sgn, "SoP": sop}, test, cfg.audio, classifiers={"SoP": clf},
                        n_mixtures=args.n_mixtures, seed=args.seed, device=dev, sharing=args.masks)
    print(format_user_view(results, ["SGN", "SoP"]))
    print(user_view_legend())
    if args.compare_json:
        earlier = json.loads(Path(args.compare_json).read_text(encoding="utf-8"))["results"]
        for name in ("SGN", "SoP"):
            other = f"{name} ({args.compare_label})"
            print(f"\n{name} beside {args.compare_json}'s:")
            print(format_user_view(merge_user_views(results, earlier, {name: other}), [name, other]))
    per_class = results["labels given, 2 sources"]["per_class"]["SGN"]
    print("\nSGN per class (labels given, 2 sources): " + ", ".join(f"{c} {v:.2f}" for c, v in per_class.items()))
    targets = issue_targets(results, loso=args.loso)
    print("\ntargets:")
    for label, ok, value in targets:
        print(f"  {'met    ' if ok else 'NOT met'}  {label}: {value}")
    if args.json:
        write_json(args.json, {"setup": vars(args), "results": results, "per_class_sgn_gt2": per_class,
                               "targets": [{"target": t, "met": bool(ok), "value": v} for t, ok, v in targets]})
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
