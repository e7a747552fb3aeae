"""`python -m sgn_teach …`: the stable command line (its user-facing contract is README's "Command line").

Errors a user can cause (see :mod:`sgn_teach.core.errors`) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..core.config import AUGMENT_LEVELS, MODEL_KINDS, PRESETS
from ..core.errors import SGNError
from ..core.options import MASK_SHARING
from .evaluate import DEVICES, check_sampling_steps


class _UsageError(Exception):
    """argparse's complaint about the command line, reported like any other error (one line, exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage + message and exits; we want one `error:` line
        raise _UsageError(f"{message} (see: {self.prog} --help)")


def cmd_data(args) -> None:
    from ..core.checks import require_int, require_positive

    require_int("--clips-per-class", args.clips_per_class)
    require_positive("--duration", args.duration)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise SGNError(f"{args.out}: exists and is not a folder")
    if args.data_cmd == "synth":
        from ..data import synth_library

        root = synth_library(args.out, clips_per_class=args.clips_per_class, seed=args.seed, duration=args.duration,
                             force=args.force)
    else:
        from ..data import fluidsynth_available, render_library

        first = args.soundfont[0] if args.soundfont and args.soundfont[0].endswith(".sf2") else None
        if not fluidsynth_available(first):
            raise SGNError("FluidSynth or a GM SoundFont is missing (apt-get install fluidsynth fluid-soundfont-gm, "
                           "or --soundfont FILE); 'python -m sgn_teach data synth' needs neither")
        fonts = args.soundfont or None
        if args.variety:
            from ..data.variety import render_variety_library

            if fonts:
                raise SGNError("--variety renders every course SoundFont; leave out --soundfont")
            root = render_variety_library(args.out, clips_per_class=args.clips_per_class, seed=args.seed,
                                          duration=args.duration, force=args.force)
        else:
            root = render_library(args.out, clips_per_class=args.clips_per_class, seed=args.seed,
                                  duration=args.duration, soundfonts=fonts, force=args.force)
    print(f"wrote solo-clip library {root}")


def cmd_train(args) -> None:
    from ..core.config import get_preset
    from ..training import train
    from .flags import config_overrides

    overrides = config_overrides(args, args.model)
    check_sampling_steps(args.sampling_steps)
    cfg = get_preset(args.preset, variant=args.model, **overrides)
    if args.losses is not None:
        if args.model != "text":
            raise SGNError(f"--losses applies to --model text only, not to --model {args.model}")
        from .text import apply_losses

        apply_losses(cfg, args.losses)
    if args.augment is not None:
        from ..core.config import augment_level

        cfg.augment = augment_level(args.augment)
    if args.no_augment:
        cfg.augment.enabled = False
    cfg.train.channels_last = cfg.train.channels_last or args.channels_last
    cfg.train.compile = cfg.train.compile or args.compile
    fonts = [f.strip() for f in args.soundfonts.split(",") if f.strip()] if args.soundfonts else None
    history = train(cfg, args.data, args.out, device=args.device, resume=args.resume,
                    validate_during=not args.no_val, soundfonts=fonts)
    if os.environ.get("RANK", "0") != "0":
        return  # under torchrun, rank 0 reports
    weights = Path(args.out) / "model.pt"
    if not weights.is_file():  # never claim a file that is not there
        raise SGNError(f"training ended without writing {weights}")
    last = history["train"][-1] if history["train"] else {}
    val = ""
    if history.get("val"):
        key, value = next((k, v) for k, v in history["val"][-1].items() if k != "step")
        val = f", validation SDR {value:.2f} dB" if key == "sdr" else f", validation {key} {value:.3f}"
    print(f"done: {len(history['train'])} steps in {history.get('seconds', 0):.0f} s, "
          f"last loss {last.get('total', float('nan')):.4f}{val}; weights in {weights}")


def cmd_separate(args) -> None:
    from ..inference.separate import separate_file

    classes = "auto" if args.classes in (None, "auto") else [c.strip() for c in args.classes.split(",") if c.strip()]
    check_sampling_steps(args.sampling_steps)
    if args.prompt is not None:
        from .text import prompt_classes

        if args.classes is not None:
            raise SGNError("give --classes or --prompt, not both")

        classes = prompt_classes(args.prompt, args.checkpoint)
    written = separate_file(args.input, args.checkpoint, args.out, classes=classes, device=args.device,
                            figure=not args.no_figure, sampling_steps=args.sampling_steps, sharing=args.masks)
    for p in written:
        print(p)


def cmd_ablate(args) -> None:
    from ..core.interrupt import TrainingInterrupted
    from ..experiments.ablate import format_tables, run_ablations

    try:
        results = run_ablations(args.data, args.out, preset=args.preset, steps=args.steps, seeds=tuple(args.seeds),
                                groups=tuple(args.only), n_mixtures=args.n_mixtures, device=args.device,
                                finished_only=args.finished_only)
    except TrainingInterrupted as exc:
        exc.hint = "run the same ablate command again to continue"
        raise
    print(format_tables(results))
    if args.figures:
        from ..viz.ablation import save_ablation_figures

        for path in save_ablation_figures(results, args.out):
            print(f"wrote {path}")
    print(f"results in {args.out}/ablations.json")


def cmd_demo(args) -> None:
    from ..experiments.demo import run_demo

    run_demo(out=args.out, train=args.train, n_mixtures=args.n_mixtures, device=args.device,
             clips_per_class=args.clips_per_class, n_examples=min(3, args.n_mixtures))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m sgn_teach", description="Semantic Grouping Network, taught.")
    sub = p.add_subparsers(dest="cmd", required=True)

    d = sub.add_parser("demo", help="render data, separate held-out mixtures, print the evaluation table")
    d.add_argument("--out", default="outputs/demo")
    d.add_argument("--train", action="store_true", help="retrain the small SGN and SoP from scratch first")
    d.add_argument("--n-mixtures", type=int, default=100)
    d.add_argument("--clips-per-class", type=int, default=None,
                   help="a smaller course library for a quick check (default 60, the shipped models' library)")
    d.add_argument("--device", default="auto", choices=DEVICES)
    d.set_defaults(func=cmd_demo)

    data = sub.add_parser("data", help="make a solo-clip library")
    dsub = data.add_subparsers(dest="data_cmd", required=True)
    for name, helptext in (("synth", "procedural synthesizer (no system packages)"),
                           ("render", "FluidSynth + a General MIDI SoundFont")):
        q = dsub.add_parser(name, help=helptext)
        q.add_argument("--out", required=True)
        q.add_argument("--clips-per-class", type=int, default=60)
        q.add_argument("--seed", type=int, default=0)
        q.add_argument("--duration", type=float, default=6.0)
        q.add_argument("--force", action="store_true",
                       help="write into a non-empty --out that holds something else (default: refuse, unless it "
                            "holds this same library, which is then completed)")
        if name == "render":
            q.add_argument("--soundfont", action="append", default=None, metavar="SF",
                           help="a course SoundFont (fluidr3, timgm6mb, csound) or an .sf2 path; repeat for several "
                                "(default: every course SoundFont installed)")
            q.add_argument("--variety", action="store_true",
                           help="the named-outputs recipe's training library (NAMED_RECIPE): the course library plus the "
                                "other GM voices of each instrument in the three course SoundFonts and the procedural "
                                "synthesizer")
        q.set_defaults(func=cmd_data)

    t = sub.add_parser("train", help="train a model")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--model", default="sgn", choices=MODEL_KINDS)
    t.add_argument("--preset", default="small", choices=PRESETS)
    from .flags import add_config_flags

    add_config_flags(t)  # --steps, --lr, … : one flag per config field, typed and explained by core/config.py
    t.add_argument("--augment", choices=AUGMENT_LEVELS, default=None,
                   help="source augmentation: off, gain (SoP's ×0.5–1.5; the small preset's default), or full "
                        "(+ pitch, tilt/EQ, reverb)")
    t.add_argument("--no-augment", action="store_true", help="same as --augment off")
    t.add_argument("--soundfonts", default=None,
                   help="comma-separated: train on the clips of these SoundFonts only (e.g. leave one out)")
    t.add_argument("--device", default="auto", choices=DEVICES)
    t.add_argument("--losses", default=None,
                   help="text only: comma-separated weak losses to use: unsup, bimodal, consistency, or 'none' "
                        "(default: all three)")
    t.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.pt (without it, an --out that holds a run is refused)")
    t.add_argument("--no-val", action="store_true", help="skip periodic validation")
    t.add_argument("--channels-last", action="store_true", help="channels_last memory order (faster convolutions "
                   "on GPU tensor cores)")
    t.add_argument("--compile", action="store_true", help="torch.compile the model; falls back to eager, with a "
                   "message, where compiling fails")
    t.set_defaults(func=cmd_train)

    from .evaluate import add_evaluate_parser

    add_evaluate_parser(sub)

    a = sub.add_parser("ablate", help="the paper's ablations (Tables III/IV, Figures 3/4, three sources), resumable")
    a.add_argument("--data", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--preset", default="small", choices=PRESETS)
    a.add_argument("--steps", type=int, default=None, help="training steps per run (default: the preset's)")
    a.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a.add_argument("--only", nargs="+", default=["table3", "table4", "three"], choices=["table3", "table4", "three"])
    a.add_argument("--n-mixtures", type=int, default=100)
    a.add_argument("--no-figures", dest="figures", action="store_false")
    a.add_argument("--finished-only", action="store_true",
                   help="train nothing: tabulate the runs that have finished and list the others")
    a.add_argument("--device", default="auto", choices=DEVICES)
    a.set_defaults(func=cmd_ablate)

    s = sub.add_parser("separate", help="separate an audio file into one file per class")
    s.add_argument("input")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--classes", default=None,
                   help="comma-separated class names, or 'auto' (default: the presence head decides; a sop model "
                        "takes no classes)")
    s.add_argument("--prompt", default=None,
                   help='words naming the instruments to separate, e.g. "violin" or "the cello and the flute"')
    s.add_argument("--masks", default="independent", choices=MASK_SHARING,
                   help="independent: each class's own sigmoid mask (the paper's); compete: the classes separated "
                        "share each bin (our extension, README 'Named outputs')")
    s.add_argument("--no-figure", action="store_true", help="skip the spectrogram figure")
    s.add_argument("--sampling-steps", type=int, help="diffusion checkpoints: DDIM steps (default: the model's)")
    s.add_argument("--device", default="auto", choices=DEVICES)
    s.set_defaults(func=cmd_separate)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status.

    0 done; 2 a user error (one `error: …` line on stderr, nothing written);
    130 / 143 stopped by SIGINT / SIGTERM (a training saves and says how to resume).
    """
    from ..core.interrupt import script_main

    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # under torchrun every rank fails alike: rank 0 says it once
    return script_main(lambda: args.func(args), say_errors=os.environ.get("RANK", "0") == "0")
