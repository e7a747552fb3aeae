"""Notebook 08's table: weakly-supervised, language-conditioned separation, every row trained and evaluated.

    python benchmarks/bench_weak.py --data data/music11 --out outputs/weak [--steps 600] [--ship]

Trains the five text-conditioned separators of sgn_teach.weak.table (unsupervised
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
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from sgn_teach.errors import SGNError
from sgn_teach.train import MODEL_NAME
from sgn_teach.weak.table import SHIPPED_TABLE, VARIANTS, WEAK, format_weak_table, paper_comparison, run_dir, run_table

SHIPPED_MODEL = SHIPPED_TABLE.parent / "text_weak_small.pt"


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
    args = p.parse_args()
    fonts = [f for f in args.soundfonts.split(",") if f] or None
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
    raise SystemExit(main())
