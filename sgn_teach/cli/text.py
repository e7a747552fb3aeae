"""The command-line options of the text-conditioned separator (kept here so cli/main.py only calls in).

    python -m sgn_teach train --model text --data DIR --out RUN [--losses unsup,bimodal,consistency]
                              [--sup-fraction F] [--embedding course|PATH|clap[:NAME]]
    python -m sgn_teach separate IN.wav --checkpoint CK --out DIR --prompt "the violin"
"""

from __future__ import annotations

from ..core.errors import DataError

LOSSES = ("unsup", "bimodal", "consistency")


def apply_losses(cfg, spec: str) -> None:
    """`--losses unsup,consistency`: switch the weak losses of the (freshly built) ``cfg.weak`` on and off;
    DataError (one line) for an unknown loss name."""
    names = [n.strip() for n in spec.split(",") if n.strip() and n.strip() != "none"]
    unknown = [n for n in names if n not in LOSSES]
    if unknown:
        raise DataError(f"unknown loss {', '.join(unknown)}; choose from {', '.join(LOSSES)} or 'none'")
    cfg.weak.unsup, cfg.weak.bimodal, cfg.weak.consistency = (n in names for n in LOSSES)


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
