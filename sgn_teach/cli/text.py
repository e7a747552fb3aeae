"""The command-line options of the text-conditioned separator (kept here so cli/main.py only calls in).

    python -m sgn_teach train --model text --data DIR --out RUN [--losses unsup,bimodal,consistency]
                              [--sup-fraction F] [--embedding course|PATH|clap[:NAME]]
    python -m sgn_teach separate IN.wav --checkpoint CK --out DIR --prompt "the violin"
"""

from __future__ import annotations

import argparse

from ..core.errors import DataError

LOSSES = ("unsup", "bimodal", "consistency")


def add_weak_args(parser: argparse.ArgumentParser) -> None:
    """`train` options that apply to `--model text` only."""
    g = parser.add_argument_group("text-conditioned separator (--model text, notebook 08)")
    g.add_argument("--losses", default=None,
                   help="comma-separated weak losses to use: unsup, bimodal, consistency, or 'none' "
                        "(default: all three)")
    g.add_argument("--sup-fraction", type=float, default=None,
                   help="share of training mixtures whose solo sources are used (1: supervised, 0.05: semi-supervised)")
    g.add_argument("--embedding", default=None,
                   help="audio–text model: 'course' (shipped), a path to a course embedding, or clap[:NAME] "
                        "(transformers; downloads NAME, default laion/clap-htsat-unfused)")
    g.add_argument("--w-bimodal", type=float, default=None, help="weight of the bi-modal loss")
    g.add_argument("--w-consistency", type=float, default=None, help="weight of the consistency loss")


def apply_weak_args(cfg, args: argparse.Namespace) -> None:
    """Copy the options given into ``cfg.weak``; DataError (one line) for an unknown loss name."""
    w = cfg.weak
    if args.losses is not None:
        names = [n.strip() for n in args.losses.split(",") if n.strip() and n.strip() != "none"]
        unknown = [n for n in names if n not in LOSSES]
        if unknown:
            raise DataError(f"unknown loss {', '.join(unknown)}; choose from {', '.join(LOSSES)} or 'none'")
        w.unsup, w.bimodal, w.consistency = (n in names for n in LOSSES)
    if args.sup_fraction is not None:
        if not 0.0 <= args.sup_fraction <= 1.0:
            raise DataError(f"--sup-fraction must be between 0 and 1, not {args.sup_fraction}")
        w.sup_fraction = args.sup_fraction
    if args.embedding is not None:
        w.embedding = args.embedding
    if args.w_bimodal is not None:
        w.w_bimodal = args.w_bimodal
    if args.w_consistency is not None:
        w.w_consistency = args.w_consistency
    try:
        w.__post_init__()
    except ValueError as exc:
        raise DataError(str(exc)) from None


def prompt_classes(prompt: str, checkpoint) -> list[str]:
    """The checkpoint's classes a prompt names (in the prompt's order); DataError when it names none."""
    from ..data.captions import parse_entities
    from ..hub.checkpoint import read_checkpoint

    classes = list(read_checkpoint(checkpoint)["classes"])
    found = parse_entities(prompt, classes)
    if not found:
        raise DataError(f"the prompt {prompt!r} names none of this model's instruments: "
                        f"{', '.join(c.replace('_', ' ') for c in classes)}")
    return found
