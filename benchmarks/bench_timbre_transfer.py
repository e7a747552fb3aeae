"""Can instrument *recognition* carry over to a SoundFont it never heard? One classifier per training design.

    python benchmarks/bench_timbre_transfer.py --data data/variety --eval-data data/music11 --out outputs/timbre
                                               [--fold fluidr3] [--designs course colour vibrato swap]

Why: on the leave-one-SoundFont-out fold (bench_loso.py) SGN names the instruments of FluidR3 mixtures with F1
0.64, and told how many play, its top-k is the right set in under half of them (bench_presence_evidence.py
--soundfonts fluidr3 on the fold's checkpoint): the recognition itself fails, before any threshold or naming rule.
Recognition is the cheapest part to study, so this asks the question there: the small instrument classifier (SoP's
namer, ~6 min on two CPU cores) is trained on the fold's training voices (every voice of the variety library but
the held-out SoundFont's) under each design, and scored on crops of the held-out SoundFont's `val` clips — a
diagnosis that chooses nothing shipped; the fold's `test` clips stay for bench_loso.py. Designs:

- **course**: the classifier's own recipe (pitch ±2 semitones, tilt ±3 dB/octave, EQ ±8 dB, a room for 30 %);
- **colour**: stronger colour and pitch (EQ ±15 dB, tilt ±6 dB/octave, pitch ±3 semitones);
- **vibrato**: the course recipe plus a random vibrato of up to ±60 cents, so that vibrato is no class cue;
- **swap**: the course recipe on a library that also plays the erhu's phrases on GM 40 Violin and the violin's on
  GM 110 Fiddle. In all three course SoundFonts the Fiddle preset (the course's erhu, data/classes.py) plays the
  Violin preset's samples, so with the swap only playing style and register tell the two apart.

Per design it prints the accuracy on held-out crops and on the training voices' `val` crops, per class, and where
the held-out violin and erhu crops go. Resumable (each design's run continues after Ctrl-C); results.json in --out.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from sgn_teach.core.atomic import write_json
from sgn_teach.core.config import AudioConfig, get_preset
from sgn_teach.core.device import get_device
from sgn_teach.core.interrupt import script_main
from sgn_teach.data import SoloLibrary
from sgn_teach.data.variety import EXTRA_PROGRAMS, render_variety_library
from sgn_teach.experiments.runner import trained_run
from sgn_teach.hub.build import load_checkpoint

DESIGNS: dict[str, dict] = {
    "course": {},
    "colour": {"augment__eq_db": 15.0, "augment__tilt_db_per_octave": 6.0, "augment__pitch_semitones": 3.0},
    "vibrato": {"augment__vibrato_cents": 60.0},
    "swap": {},
}
SWAPPED_PROGRAMS = {**EXTRA_PROGRAMS, "erhu": (40,), "violin": (110,)}  # GM 40 Violin, GM 110 Fiddle (0-based)
CROPS_PER_CLIP = 3
WATCHED = ("violin", "erhu")


def swap_library(data: Path, out: Path) -> Path:
    """`data` (a variety library) plus the swapped voices, in `out`: the clips hard-linked (copied where links
    cannot be made), then the new voices rendered. Reused once its splits.csv lists them (it is written last)."""
    table = out / "splits.csv"
    done = table.is_file() and any(line.startswith("erhu/") and line.rstrip().endswith(",40")
                                   for line in table.read_text(encoding="utf-8").splitlines())
    if not done:
        def link(src: str, dst: str) -> None:
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
        shutil.copytree(data, out, copy_function=link, dirs_exist_ok=True)
        render_variety_library(out, extra_programs=SWAPPED_PROGRAMS)
    return out


@torch.no_grad()
def crop_scores(model: torch.nn.Module, audio: AudioConfig, library: SoloLibrary,
                device: torch.device) -> tuple[float, np.ndarray]:
    """Accuracy over CROPS_PER_CLIP evenly spaced crops of every clip, and the confusion counts (C, C) (truth, named);
    `model` is a classifier in eval mode whose classes are the library's."""
    n = audio.n_samples
    C = len(library.classes)
    confusion = np.zeros((C, C), dtype=int)
    for clip in library.clips:
        wave = torch.from_numpy(library.load(clip, audio.sample_rate))
        wave = torch.nn.functional.pad(wave, (0, max(n - len(wave), 0)))
        starts = np.linspace(0, len(wave) - n, CROPS_PER_CLIP).astype(int)
        crops = torch.stack([wave[s:s + n] for s in starts]).to(device)  # (K, n)
        for named in model(crops).argmax(-1).tolist():
            confusion[clip.class_index, named] += 1
    return float(np.trace(confusion) / confusion.sum()), confusion


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/variety", help="the training library (data render --variety)")
    p.add_argument("--eval-data", default="data/music11", help="the library whose held-out val clips are scored")
    p.add_argument("--out", default="outputs/timbre")
    p.add_argument("--fold", default="fluidr3", help="the SoundFont held out of training")
    p.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=list(DESIGNS))
    p.add_argument("--steps", type=int, default=None, help="classifier steps (default: the preset's)")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    out, data = Path(args.out), Path(args.data)
    fonts = [f for f in SoloLibrary(data, split="train").soundfonts_available if f != args.fold]
    dev = get_device(args.device)
    rows = {}
    for design in tqdm(args.designs, desc="designs", unit="design"):
        cfg = get_preset("small", "classifier", **DESIGNS[design])
        if args.steps:
            cfg.train.steps = cfg.train.val_every = args.steps
        root = swap_library(data, out / "swap_library") if design == "swap" else data
        ck = trained_run(cfg, root, out / design, device=args.device, progress=False, soundfonts=fonts)
        model, ck_cfg, classes, _, _ = load_checkpoint(ck, device=dev)  # once: both scores below use it
        model.eval()
        held, confusion = crop_scores(model, ck_cfg.audio, SoloLibrary(args.eval_data, split="val", classes=classes,
                                                                       soundfonts=[args.fold]), dev)
        seen, _ = crop_scores(model, ck_cfg.audio, SoloLibrary(root, split="val", classes=classes, soundfonts=fonts),
                              dev)
        per_class = {c: float(confusion[i, i] / max(confusion[i].sum(), 1)) for i, c in enumerate(classes)}
        goes = {c: {classes[j]: int(confusion[classes.index(c), j]) for j in np.flatnonzero(confusion[classes.index(c)])}
                for c in WATCHED if c in classes}
        rows[design] = {"held_out": held, "training_voices": seen, "per_class": per_class, "watched": goes}
    print(f"\nheld out: {args.fold} (classifiers trained on {', '.join(fonts)}); {CROPS_PER_CLIP} crops of every val clip")
    print("\n| design | held-out SoundFont | training voices | lowest classes (held out) |")
    print("|---|---:|---:|---|")
    for design, r in rows.items():
        low = sorted(r["per_class"].items(), key=lambda kv: kv[1])[:3]
        print(f"| {design} | {r['held_out']:.3f} | {r['training_voices']:.3f} | "
              + ", ".join(f"{c} {v:.2f}" for c, v in low) + " |")
    for design, r in rows.items():
        print(f"{design}: " + "; ".join(f"{c} crops named {dict(sorted(g.items(), key=lambda kv: -kv[1]))}"
                                         for c, g in r["watched"].items()))
    write_json(out / "results.json", {"fold": args.fold, "train_soundfonts": fonts, "designs": rows,
                                      "crops_per_clip": CROPS_PER_CLIP}, indent=1)
    print(f"\nwrote {out / 'results.json'}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(script_main(main))
