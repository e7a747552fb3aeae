"""Which training recipe raises SDR per CPU-minute? Each choice measured, on validation data only.

    python benchmarks/bench_recipe.py --data data/music11 --out outputs/recipe [--steps 600] [--only A B]

Every recipe trains the `small` preset for the same number of steps (× batch 16)
on the clips of two SoundFonts (default: timgm6mb + csound) and is scored on
128 validation mixtures of those two SoundFonts ("seen timbres") and on 128
validation mixtures of the third ("unseen timbre", default fluidr3). Test
clips are never touched here: the README's test-split tables come from other
commands. Runs are resumable (finished ones are skipped, interrupted ones continue).

Recipes (each adds one change to the recipe it names, so the table reads as a path):
    A  the first shipped recipe: Adam 1e-3 constant, binary target, no augmentation, unscaled ⟨g, U⟩
    B  A + mask logits scaled by 1/√D
    C  B + linear warm-up and cosine decay (peak lr 2e-3)
    D  C + ratio-mask target instead of binary
    E  C + per-source gain ×0.5–1.5
    F  E + pitch ±1 semitone, tilt ±3 dB/oct, EQ ±6 dB, reverb 30 %
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from sgn_teach.core.atomic import write_json
from sgn_teach.core.config import get_preset
from sgn_teach.data import SoloLibrary
from sgn_teach.evaluation.evaluate import evaluate
from sgn_teach.hub.build import load_checkpoint
from sgn_teach.signal.stats import mixture_groups, paired_bootstrap_ci
from sgn_teach.training import train
from sgn_teach.training.common import MODEL_NAME

GAIN = dict(augment__enabled=True)
FULL_AUG = dict(augment__enabled=True, augment__pitch_semitones=1.0, augment__tilt_db_per_octave=3.0,
                augment__eq_db=6.0, augment__reverb_prob=0.3)
PARENT = {"B": "A", "C": "B", "D": "C", "E": "C", "F": "E"}  # the recipe each one changes
RECIPES: dict[str, dict] = {
    "A": dict(model__logit_scale=False, train__schedule="constant", train__lr=1e-3, train__mask="binary"),
    "B": dict(train__schedule="constant", train__lr=1e-3, train__mask="binary"),
    "C": dict(train__schedule="cosine", train__lr=2e-3, train__mask="binary"),
    "D": dict(train__schedule="cosine", train__lr=2e-3, train__mask="ratio"),
    "E": dict(train__schedule="cosine", train__lr=2e-3, train__mask="binary", **GAIN),
    "F": dict(train__schedule="cosine", train__lr=2e-3, train__mask="binary", **FULL_AUG),
}


def overrides_for(name: str, steps: int, variant: str) -> dict:
    """Preset overrides of recipe `name` for a run of `steps` steps (the augment__ keys apply to cfg.augment)."""
    o = dict(RECIPES[name])
    o.update(train__steps=steps, train__warmup_steps=max(steps // 20, 1), train__val_every=max(steps // 4, 1),
             train__val_mixtures=128, train__ckpt_every=max(steps // 10, 1))
    if variant == "sop":
        o.pop("model__logit_scale", None)
    return o


def build_config(name: str, steps: int, variant: str):
    o = overrides_for(name, steps, variant)
    aug = {k.split("__", 1)[1]: v for k, v in o.items() if k.startswith("augment__")}
    cfg = get_preset("small", variant=variant, **{k: v for k, v in o.items() if not k.startswith("augment__")})
    cfg.augment.enabled = False
    for k, v in aug.items():
        setattr(cfg.augment, k, v)
    return cfg


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/music11")
    p.add_argument("--out", default="outputs/recipe")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--variant", default="sgn")
    p.add_argument("--only", nargs="+", default=list(RECIPES))
    p.add_argument("--train-fonts", default="timgm6mb,csound")
    p.add_argument("--heldout-font", default="fluidr3")
    p.add_argument("--n-mixtures", type=int, default=128)
    args = p.parse_args()
    out = Path(args.out)
    results_path = out / f"results_{args.variant}.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    fonts = args.train_fonts.split(",")
    torch.manual_seed(0)
    for name in args.only:
        run = out / f"{args.variant}_{name}"
        cfg = build_config(name, args.steps, args.variant)
        if not (run / MODEL_NAME).exists():
            print(f"== recipe {name}: training {run}", flush=True)
            train(cfg, args.data, run, device="cpu", resume=True, soundfonts=fonts)
        if name in results and results[name].get("steps") == args.steps and "scores" in results[name]["seen"]:
            continue
        model, cfg, classes, step, state = load_checkpoint(run / MODEL_NAME)
        seconds = json.loads(state["extra"])["seconds"]
        row = {"steps": step, "train_seconds": seconds, "overrides": overrides_for(name, args.steps, args.variant)}
        for label, fset in (("seen", fonts), ("unseen", [args.heldout_font])):
            lib = SoloLibrary(args.data, split="val", classes=classes, soundfonts=fset)
            t0 = time.time()
            rep = evaluate({"m": model}, lib, cfg.audio, n_mixtures=args.n_mixtures, seed=777, rows=(),
                           progress=False)
            row[label] = {k: rep["rows"]["m"][k] for k in ("sdr", "sir", "sar", "si_sdr")}
            row[label]["scores"] = rep["scores"]["m"]["sdr"]  # per source, for paired intervals
            row[label]["eval_seconds"] = round(time.time() - t0, 1)
        results[name] = row
        write_json(results_path, results)
    print(f"\n{args.variant}, small preset, {args.steps} steps × 16 mixtures, trained on {args.train_fonts}; "
          f"{args.n_mixtures} validation mixtures each (SDR dB)")
    print("| recipe | change | seen SDR | unseen SDR | seen SI-SDR | unseen SI-SDR | seen Δ vs parent | "
          "unseen Δ vs parent | train min |")
    print("|---|---|---:|---:|---:|---:|---|---|---:|")
    doc = {line.split()[0]: line.split(None, 1)[1] for line in __doc__.splitlines()
           if len(line.split()) > 1 and line.split()[0] in RECIPES and line.startswith("    ")}
    for name in args.only:
        r = results.get(name)
        if r:
            parent = PARENT.get(name)
            deltas = []
            for label in ("seen", "unseen"):
                if parent in results and "scores" in r[label] and "scores" in results[parent][label]:
                    a, b = np.asarray(r[label]["scores"]), np.asarray(results[parent][label]["scores"])
                    groups = mixture_groups(len(a), 2)  # a mixture's two sources resample together
                    d, lo, hi = paired_bootstrap_ci(a, b, groups=groups)
                    deltas.append(f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]")
                else:
                    deltas.append("—")
            print(f"| {name} | {doc.get(name, '')} | {r['seen']['sdr']:.2f} | {r['unseen']['sdr']:.2f} | "
                  f"{r['seen']['si_sdr']:.2f} | {r['unseen']['si_sdr']:.2f} | {deltas[0]} | {deltas[1]} | "
                  f"{r['train_seconds'] / 60:.1f} |")

    # What the 1/√D scale changes early in training (A vs B): the reconstruction loss, mean over 25-step windows
    curves = {}
    for name in ("A", "B"):
        hist = Path(args.out) / f"{args.variant}_{name}" / "history.json"
        if hist.exists():
            rec = np.asarray([r["rec"] for r in json.loads(hist.read_text())["train"]])
            curves[name] = {s: rec[s:s + 25].mean() for s in (0, 75, 275, 575) if s + 25 <= len(rec)}
    if len(curves) == 2:
        print("\nreconstruction loss, mean of steps s+1…s+25 (A: unscaled ⟨g, U⟩, B: scaled by 1/√D)")
        for name, c in curves.items():
            print(f"  {name}: " + "  ".join(f"s={s}: {v:.3f}" for s, v in c.items()))


if __name__ == "__main__":
    main()
