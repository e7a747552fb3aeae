"""`train`'s settings flags, made from the config dataclasses instead of written twice.

Every flag in :data:`TRAIN_FLAGS` is a field of :mod:`sgn_teach.core.config` declared with
:func:`~sgn_teach.core.config.option`: its name gives the flag (``warmup_steps`` →
``--warmup-steps``), its type the argparse type, its metadata the help text and the
choices. A flag that belongs to one model kind only (the diffusion guide, the weak
losses' weights) is refused, in one line, for another kind instead of being ignored.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any

from ..core import config as C
from ..core.errors import SGNError

SECTIONS = {"model": C.ModelConfig, "train": C.TrainConfig, "diffusion": C.DiffusionConfig, "weak": C.WeakConfig}

TRAIN_FLAGS: tuple[tuple[str, str, str | None], ...] = (
    # (config section, field, the model kind it belongs to — None: every kind)
    ("train", "steps", None), ("train", "batch_size", None), ("train", "lr", None), ("train", "optimizer", None),
    ("train", "seed", None), ("train", "n_sources", None), ("train", "mask", None), ("model", "assign", None),
    ("train", "num_workers", None), ("train", "precision", None), ("train", "schedule", None),
    ("train", "warmup_steps", None), ("train", "w_rec", None), ("train", "w_ce", None), ("train", "w_presence", None),
    ("model", "depth", None), ("train", "val_mixtures", None), ("train", "val_every", None),
    ("train", "log_every", None), ("train", "n_sources_mix", None), ("model", "trunk", None),
    ("model", "presence", None),
    ("diffusion", "condition", "diffusion"), ("diffusion", "condition_checkpoint", "diffusion"),
    ("diffusion", "sampling_steps", "diffusion"),
    ("weak", "sup_fraction", "text"), ("weak", "embedding", "text"), ("weak", "w_bimodal", "text"),
    ("weak", "w_consistency", "text"), ("weak", "consistency_form", "text"), ("weak", "bimodal_form", "text"),
)

def _counts(text: str) -> tuple[int, ...]:
    """``1,2,2,3`` → (1, 2, 2, 3)."""
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, like 1,2,2,3, not {text!r}") from None


_TYPES = {int: int, float: float, str: str, tuple[int, ...]: _counts}


def flag_name(name: str) -> str:
    """``warmup_steps`` → ``--warmup-steps``."""
    return "--" + name.replace("_", "-")


def _field(section: str, name: str) -> tuple[dataclasses.Field, type]:
    cls = SECTIONS[section]
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f, typing.get_type_hints(cls)[name]


def add_config_flags(parser: argparse.ArgumentParser, flags=TRAIN_FLAGS) -> None:
    """Add one optional flag per config field of `flags` (default None: the preset's value stays)."""
    groups: dict[str | None, Any] = {None: parser}
    for section, name, kind in flags:
        f, typ = _field(section, name)
        if kind not in groups:
            groups[kind] = parser.add_argument_group(f"--model {kind} only")
        help_text = f.metadata.get("help", "")
        if kind is not None:
            help_text = f"{kind} only: {help_text}"
        groups[kind].add_argument(flag_name(name), type=_TYPES[typ], choices=f.metadata.get("choices"), default=None,
                                  help=help_text)


def config_overrides(args: argparse.Namespace, kind: str, flags=TRAIN_FLAGS) -> dict[str, Any]:
    """The flags given, as ``section__field`` overrides for :func:`~sgn_teach.core.config.get_preset`.

    SGNError (one line) for a flag of another model kind than `kind`.
    """
    out = {}
    for section, name, only in flags:
        value = getattr(args, name)
        if value is None:
            continue
        if only is not None and only != kind:
            raise SGNError(f"{flag_name(name)} applies to --model {only} only, not to --model {kind}")
        out[f"{section}__{name}"] = value
    return out


__all__ = ["TRAIN_FLAGS", "add_config_flags", "config_overrides", "flag_name"]
