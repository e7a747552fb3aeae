"""Notebook 08's table: weakly-supervised, language-conditioned separation, every row trained and evaluated.

    python benchmarks/bench_weak.py --data data/music11 --out outputs/weak [--steps 600] [--ship]

Trains the five text-conditioned separators of sgn_teach.experiments.text_table (unsupervised
mix-and-separate; + bi-modal; + consistency; supervised; semi-supervised with 5 %
solo data) on the `train` clips of one SoundFont (default fluidr3; the shipped
audio–text embedding was trained on csound), then scores them on the same seeded
2-, 3- and 4-source mixtures of that SoundFont's `test` clips and prints the table
with paired-bootstrap 95 % intervals and the paper's relative gains beside ours.

Resumable: run it again after an interruption and it continues the unfinished
training (finished runs and evaluations are read back from --out).
`--ship` copies the table to sgn_teach/checkpoints/weak_table.json (what notebook 08
shows) and the weakly-supervised model to sgn_teach/checkpoints/text_weak_small.pt.
Fast check of the code path: --preset tiny --steps 4 --n-mixtures 4.
`--estimate` trains nothing: it times a few steps of every row and the evaluation of a few
mixtures on this machine and prints the expected wall time of the whole table (≈1–2 min).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from sgn_teach.core.errors import SGNError
from sgn_teach.core.interrupt import script_main
from sgn_teach.experiments.text_table import (
    SHIPPED_TABLE,
    VARIANTS,
    WEAK,
    format_weak_table,
    paper_comparison,
    run_dir,
    run_table,
)
from sgn_teach.hub.shipped import SHIPPED_DIR
from sgn_teach.training.common import MODEL_NAME

SHIPPED_MODEL = SHIPPED_DIR / "text_weak_small.pt"  # shipped_checkpoint("text_weak_small") reads it back


def estimate(args, fonts) -> None:
    """Time `reps` training steps of every row and BSS Eval of a few mixtures; print the table's expected wall time."""
    from torch.utils.data import default_collate

    from sgn_teach.core.device import get_device
    from sgn_teach.data import MixDataset, SoloLibrary
    from sgn_teach.data.captioned import CaptionedPairs
    from sgn_teach.data.captions import entity_prompt
    from sgn_teach.experiments.text_table import variant_config
    from sgn_teach.hub.audio_text import load_embedding
    from sgn_teach.hub.build import build_model
    from sgn_teach.signal.metrics import bss_eval_batch
    from sgn_teach.signal.spectral import SpectralFrontEnd
    from sgn_teach.training.recipes.text import weak_step

    dev = get_device(args.device)
    lib = SoloLibrary(args.data, split="train", soundfonts=fonts)
    names = args.only or list(VARIANTS)
    cfg = variant_config(names[0], args.preset, args.steps, args.batch_size)
    emb = load_embedding(args.embedding, dev, cfg.audio.sample_rate)
    class_text = emb.text_features([entity_prompt(c) for c in lib.classes])
    ds = CaptionedPairs(MixDataset(lib, cfg.audio, n_sources=4, n_mixtures=args.batch_size, seed=0), sup_fraction=1.0)
    batch = default_collate([ds[i] for i in range(args.batch_size)])
    batch["sources"] = batch["sources"].to(dev)
    frontend = SpectralFrontEnd(cfg.audio).to(dev)
    per_step = {}
    for name in names:
        cfg = variant_config(name, args.preset, args.steps, args.batch_size)
        cfg.model.text_dim = class_text.shape[1]
        cfg.model.n_classes = len(lib.classes)
        model = build_model(cfg.model, cfg.audio).to(dev)
        model.set_entity_text(class_text)
        opt = torch.optim.Adam(model.parameters())
        batch["labelled"] = torch.rand(args.batch_size) < cfg.weak.sup_fraction
        times = []
        for rep in range(4):  # the first is a warm-up
            t0 = time.perf_counter()
            loss, _ = weak_step(model, emb, batch, frontend, cfg, lib.classes, class_text)
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
        per_step[name] = float(np.median(times[1:]))
        print(f"{name:28s} {per_step[name]:.2f} s per step of {args.batch_size} pairs")
    rng = np.random.default_rng(0)
    eval_s = 0.0
    for n in (int(k) for k in args.sources.split(",")):
        ref = rng.standard_normal((5, n, cfg.audio.n_samples))
        t0 = time.perf_counter()
        bss_eval_batch(ref, ref + 0.3 * rng.standard_normal(ref.shape))
        per_mix = (time.perf_counter() - t0) / 5
        eval_s += per_mix * args.n_mixtures * (len(names) + 1)  # + the mixture row
        print(f"BSS Eval, {n} sources: {per_mix:.2f} s per mixture and row")
    train_s = args.steps * sum(per_step.values())
    print(f"expected: training {train_s / 60:.0f} min ({args.steps} steps per row) + evaluation ≈{eval_s / 60:.0f} min "
          f"(BSS Eval alone; the separators add a little) = ≈{(train_s + eval_s) / 60:.0f} min on this machine now")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/music11")
    p.add_argument("--out", default="outputs/weak")
    p.add_argument("--preset", default="small", choices=("tiny", "small", "paper"))
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch-size", type=int, default=8, help="captioned pairs per step")
    p.add_argument("--n-mixtures", type=int, default=100, help="test mixtures per number of sources")
    p.add_argument("--sources", default="2,3,4")
    p.add_argument("--soundfonts", default="fluidr3", help="comma-separated; '' for every clip")
    p.add_argument("--embedding", default="course", help="course | PATH | clap[:NAME]")
    p.add_argument("--only", nargs="+", default=None, choices=list(VARIANTS))
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the table here")
    p.add_argument("--ship", action="store_true", help="copy the table and the weak model into sgn_teach/checkpoints/")
    p.add_argument("--estimate", action="store_true", help="only time a few steps and print the expected wall time")
    args = p.parse_args()
    fonts = [f for f in args.soundfonts.split(",") if f] or None
    if args.estimate:
        estimate(args, fonts)
        return 0
    try:
        table = run_table(args.data, args.out, preset=args.preset, steps=args.steps, batch_size=args.batch_size,
                          n_mixtures=args.n_mixtures, n_sources=tuple(int(n) for n in args.sources.split(",")),
                          soundfonts=fonts, embedding=args.embedding, device=args.device, variants=args.only,
                          seed=args.seed, json_path=args.json or (SHIPPED_TABLE if args.ship else None),
                          command="python " + " ".join(sys.argv))
    except SGNError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_weak_table(table))
    print()
    print(paper_comparison(table))
    print(f"\ntable: {Path(args.out) / 'table.json'}")
    if args.ship:
        weak_model = run_dir(args.out, WEAK) / MODEL_NAME
        if weak_model.exists():
            shutil.copyfile(weak_model, SHIPPED_MODEL)
            print(f"shipped {SHIPPED_TABLE} and {SHIPPED_MODEL}")
    return 0


if __name__ == "__main__":
    raise SystemExit(script_main(main))
