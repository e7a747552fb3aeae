"""Which training choices make the diffusion separator learn on a CPU budget? Short runs, validation data only.

    python benchmarks/bench_diffusion_recipe.py --data data/music11 --out outputs/diffusion_recipe \\
        [--preset tiny] [--steps 150] [--only A F]

First a `tiny` SGN is trained (300 steps; its g_i guide every recipe), then each recipe
trains the diffusion model for the same number of denoiser evaluations (--steps × batch 8
mixtures; recipes that train one source per mixture get twice the steps) and is scored on
12 validation mixtures with 1, 4 and 8 DDIM steps, next to the mixture itself. Test clips are
never touched. Finished runs are skipped, so the command can be re-run to print the table.

Recipes (each adds one change to the one before it, so the table reads as a path):
    A  DAVIS-like: absolute target repr(w_i), v-MSE, t uniform, every source of a mixture
    B  + relative target repr(w_i) − repr(w_mix)
    C  + a min-SNR-γ-style loss weight, min(1 + SNR, 5) in x_0 terms (Hang et al. use min(SNR, γ))
    D  + half of the sources at the noisiest third of the steps
    E  + SoP's loudness weight per bin
    F  + data scaled to about unit variance (×4)
    G  + one random source per mixture (twice the steps for the same compute) = the shipped recipe
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sgn_teach.core.config import get_preset
from sgn_teach.data import SoloLibrary
from sgn_teach.evaluation.evaluate import evaluate
from sgn_teach.hub.build import load_checkpoint
from sgn_teach.training import train
from sgn_teach.training.common import MODEL_NAME

BASE = dict(diffusion__target="absolute", diffusion__snr_cap=0.0, diffusion__noisy_share=0.0,
            diffusion__loudness_weight=False, diffusion__data_scale=1.0, diffusion__train_all_sources=True)
STEPS = ("B", "diffusion__target", "relative"), ("C", "diffusion__snr_cap", 5.0), \
        ("D", "diffusion__noisy_share", 0.5), ("E", "diffusion__loudness_weight", True), \
        ("F", "diffusion__data_scale", 4.0), ("G", "diffusion__train_all_sources", False)
RECIPES: dict[str, dict] = {"A": dict(BASE)}
for _name, _key, _value in STEPS:
    RECIPES[_name] = {**RECIPES[list(RECIPES)[-1]], _key: _value}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--out", default="outputs/diffusion_recipe")
    p.add_argument("--preset", default="tiny", choices=("tiny", "small"))
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--only", nargs="+", default=None, choices=list(RECIPES))
    p.add_argument("--val-mixtures", type=int, default=12)
    args = p.parse_args(argv)
    out = Path(args.out)

    sgn_run = out / f"sgn_{args.preset}"
    if not (sgn_run / MODEL_NAME).exists():
        cfg = get_preset(args.preset, "sgn", train__steps=300, train__batch_size=8, train__lr=3e-3,
                         train__val_every=300, train__val_mixtures=args.val_mixtures)
        train(cfg, args.data, sgn_run, device="cpu", progress=False)
    sgn_ck = sgn_run / MODEL_NAME
    print(f"guide: {sgn_ck} (SGN, 300 steps × 8 mixtures)")

    rows = []
    for name in args.only or list(RECIPES):
        over = dict(RECIPES[name])
        steps = args.steps * (1 if over["diffusion__train_all_sources"] else 2)
        run = out / name
        if not (run / MODEL_NAME).exists():
            cfg = get_preset(args.preset, "diffusion", train__steps=steps, train__batch_size=8,
                             train__warmup_steps=10, diffusion__condition_checkpoint=str(sgn_ck),
                             # the tiny preset's denoiser is sized for tests; give it the width the recipe runs used
                             **({"diffusion__channels": 16, "diffusion__emb_dim": 64, "diffusion__cond_channels": 16,
                                 "diffusion__heads": 4, "diffusion__attention_levels": 2}
                                if args.preset == "tiny" else {}), **over)
            t0 = time.time()
            train(cfg, args.data, run, device="cpu", progress=False, validate_during=False)
            (run / "seconds.json").write_text(json.dumps({"seconds": time.time() - t0}))
        model, cfg, classes, *_ = load_checkpoint(run / MODEL_NAME)
        lib = SoloLibrary(args.data, split="val", classes=classes)
        sdr = {}
        for s in (1, 4, 8):
            model.sampling_steps = s
            r = evaluate({"d": model}, lib, cfg.audio, n_mixtures=args.val_mixtures, seed=0,
                         rows=("mixture",), progress=False)
            sdr[s], mix = r["rows"]["d"]["sdr"], r["rows"]["mixture"]["sdr"]
        rows.append((name, steps, sdr, mix))
        print(f"{name}: {steps} steps; SDR 1 / 4 / 8 DDIM steps: {sdr[1]:.2f} / {sdr[4]:.2f} / {sdr[8]:.2f} dB "
              f"(mixture {mix:.2f})", flush=True)
    print("\n| recipe | change | steps × 8 mixtures | SDR, 1 DDIM step | 4 steps | 8 steps | mixture |")
    print("|---|---|---:|---:|---:|---:|---:|")
    change = {"A": "DAVIS-like start", **{n: f"+ {k.split('__')[1]} = {v}" for n, k, v in STEPS}}
    for name, steps, sdr, mix in rows:
        print(f"| {name} | {change[name]} | {steps} | {sdr[1]:.2f} | {sdr[4]:.2f} | {sdr[8]:.2f} | {mix:.2f} |")


if __name__ == "__main__":
    main()
