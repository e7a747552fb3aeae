"""`python -m sgn_teach evaluate`: scores on seeded test mixtures, in the paper's protocol or as a user meets them."""

from __future__ import annotations

import argparse

from ..core.atomic import write_json
from ..core.errors import SGNError
from ..core.options import MASK_SHARING

DEVICES = ("auto", "cpu", "cuda", "mps")
"""What every command's --device accepts."""


def add_evaluate_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="SDR/SIR/SAR/SI-SDR on seeded test mixtures")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--split", default="test", choices=("train", "val", "test", "all"))
    e.add_argument("--n-sources", type=int, default=2)
    e.add_argument("--n-mixtures", type=int, default=100)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--classes", default="gt", choices=("gt", "auto"),
                   help="gt: masks of the true classes (paper protocol); auto: classes found by the presence head")
    e.add_argument("--backend", default="fast", choices=("fast", "mir_eval"))
    e.add_argument("--soundfonts", default=None, help="comma-separated: mix clips of these SoundFonts only")
    e.add_argument("--nmf-soundfonts", default=None,
                   help="SoundFonts whose train clips NMF learns from (default: those of --soundfonts)")
    e.add_argument("--binarize", action="store_true",
                   help="threshold masks at 0.5 before scoring (SoP's protocol); default: soft masks")
    e.add_argument("--masks", default="independent", choices=MASK_SHARING,
                   help="independent: each class's own sigmoid mask (the paper's); compete: the classes in play share "
                        "each bin (our extension, README 'Named outputs')")
    e.add_argument("--no-nmf", action="store_true")
    e.add_argument("--json", default=None)
    e.add_argument("--sampling-steps", type=int, help="diffusion checkpoints: DDIM steps (default: the model's)")
    e.add_argument("--user-view", action="store_true",
                   help="score as a user meets the model, side by side: labels given and named by the model, 2 and 3 "
                        "sources (with --compare and --classifier: beside SoP + classifier)")
    e.add_argument("--compare", default=None, metavar="CK", help="--user-view: a second checkpoint scored beside")
    e.add_argument("--classifier", default=None, metavar="CK",
                   help="--user-view: the instrument classifier (train --model classifier) that names a SoP model's slots")
    e.add_argument("--device", default="auto", choices=DEVICES)
    e.set_defaults(func=cmd_evaluate)


def check_sampling_steps(steps: int | None, model=None) -> None:
    """--sampling-steps: a count in 1…T, for a generative (diffusion) model only; sets it on `model`."""
    if steps is None:
        return
    limit = len(model.alpha_bar) if model is not None and model.generative else 1000
    if steps < 1 or steps > limit:
        raise SGNError(f"--sampling-steps must be between 1 and {limit}, not {steps}")
    if model is not None:
        if not model.generative:
            raise SGNError("--sampling-steps applies to diffusion checkpoints only")
        model.sampling_steps = steps


def cmd_evaluate(args: argparse.Namespace) -> None:
    from ..core.checks import check_writable_file, require_int
    from ..core.device import get_device
    from ..core.errors import CheckpointError
    from ..data import SoloLibrary
    from ..evaluation.evaluate import evaluate, format_per_class, format_table, paired_differences
    from ..hub.build import load_checkpoint, require_separator

    require_int("--n-mixtures", args.n_mixtures)
    require_int("--n-sources", args.n_sources)
    if args.json:
        check_writable_file(args.json, "--json " + str(args.json))  # before the evaluation, not after it
    dev = get_device(args.device)
    model, cfg, classes, step, _ = load_checkpoint(args.checkpoint, device=dev)
    require_separator(model, args.checkpoint)
    check_sampling_steps(args.sampling_steps, model)
    fonts = [f.strip() for f in args.soundfonts.split(",") if f.strip()] if args.soundfonts else None
    lib = SoloLibrary(args.data, split=args.split, soundfonts=fonts)
    if lib.classes != classes:
        raise CheckpointError(f"{args.data}: its classes ({', '.join(lib.classes)}) do not match the checkpoint's "
                              f"({', '.join(classes)})")
    if args.n_sources > len(lib.by_class):
        raise SGNError(f"--n-sources {args.n_sources}: the {args.split} split of {args.data} has clips of only "
                       f"{len(lib.by_class)} classes")
    if args.classes == "auto" and not model.has_presence_head:
        raise SGNError(f"--classes auto needs a model with a presence head (sgn, sct or cag); this is a "
                       f"{cfg.model.variant} model")
    if not model.class_conditioned and args.n_sources > cfg.model.n_sources:
        raise SGNError(f"this sop model has {cfg.model.n_sources} output slots; use --n-sources "
                       f"{cfg.model.n_sources} or fewer")
    if args.user_view:
        return _user_view(args, model, cfg, lib, dev)
    rows = tuple(r for r in ("mixture", "oracle_ibm", "oracle_irm", "nmf") if not (r == "nmf" and args.no_nmf))
    nmf_fonts = [f.strip() for f in args.nmf_soundfonts.split(",") if f.strip()] if args.nmf_soundfonts else fonts
    name = cfg.model.variant
    report = evaluate({name: model}, lib, cfg.audio, n_sources=args.n_sources, n_mixtures=args.n_mixtures,
                      seed=args.seed, rows=rows, classes=args.classes, backend=args.backend, device=dev,
                      binarize=args.binarize, sharing=args.masks,
                      nmf_library=SoloLibrary(args.data, split="train", classes=classes, soundfonts=nmf_fonts)
                      if "nmf" in rows else None)
    report["setup"].update({"checkpoint": str(args.checkpoint), "step": step, "model": name})
    print(format_table(report))
    print()
    print(format_per_class(report))
    for n, p in report["presence"].items():
        print(f"presence ({n}): precision {p['precision']:.3f}, recall {p['recall']:.3f}, F1 {p['f1']:.3f}")
    print(f"({report['setup']['n_mixtures']} mixtures of {args.n_sources} sources, split {args.split}, "
          f"seed {args.seed}, {report['setup']['seconds']:.1f} s)")
    report["differences"] = paired_differences(report, n_sources=args.n_sources,
                                               pairs=((name, "mixture"), (name, "nmf")))
    print("\n".join(report["differences"]["lines"]))
    if args.json:
        write_json(args.json, report)


def _user_view(args: argparse.Namespace, model, cfg, lib, dev) -> None:
    """--user-view: the model (and --compare's) in the four settings of sgn_teach.evaluation.user_view."""
    from ..evaluation.user_view import format_user_view, user_view, user_view_legend
    from ..hub.build import load_checkpoint, require_separator

    models = {cfg.model.variant: model}
    classifiers = {}
    if args.compare:
        other, ocfg, oclasses, _, _ = load_checkpoint(args.compare, device=dev)
        require_separator(other, args.compare)
        if oclasses != lib.classes or ocfg.audio != cfg.audio:
            raise SGNError(f"{args.compare}: its classes or front-end differ from {args.checkpoint}'s")
        name = ocfg.model.variant if ocfg.model.variant not in models else f"{ocfg.model.variant} (compare)"
        models[name] = other
        if args.classifier and not other.class_conditioned:
            clf, ccfg, cclasses, _, _ = load_checkpoint(args.classifier, device=dev)
            if ccfg.model.variant != "classifier" or cclasses != lib.classes:
                raise SGNError(f"{args.classifier}: not an instrument classifier of these classes")
            classifiers[name] = clf
    results = user_view(models, lib, cfg.audio, classifiers=classifiers, n_mixtures=args.n_mixtures, seed=args.seed,
                        device=dev, sharing=args.masks)
    names = list(models)
    if classifiers:
        print(f"({', '.join(classifiers)}: its slots named by {args.classifier})")
    print(format_user_view(results, names))
    print(f"({args.n_mixtures} mixtures per setting, split {args.split}, seed {args.seed}, {args.masks} masks)\n"
          f"{user_view_legend()}")
    if args.json:
        write_json(args.json, {label: {k: v for k, v in rep.items() if k != "scores"} | {"scores": rep["scores"]}
                               for label, rep in results.items()})


__all__ = ["DEVICES", "add_evaluate_parser", "check_sampling_steps", "cmd_evaluate"]
