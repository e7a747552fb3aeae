"""The settings' choices, and `option()`: how a config field says what the command line offers for it.

Every tuple here is the one list of a setting's allowed values: the config dataclasses check against
it and the command line (:mod:`sgn_teach.cli.flags`) offers it as the flag's choices.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

PRECISIONS = ("auto", "fp32", "bf16")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine")
MASK_TARGETS = ("binary", "ratio")
ASSIGNMENTS = ("softmax", "hard")
CONDITIONS = ("sgn", "class")
PREDICTIONS = ("v", "eps")
DIFFUSION_TARGETS = ("relative", "absolute")
TRUNKS = ("paper", "film")
PRESENCE_SOURCES = ("tokens", "trunk")
MASK_SHARING = ("independent", "compete")
"""How the masks of the classes in play share a bin at inference (sgn_teach.signal.sharing): `independent`, each
mask as the model gives it (the paper's); `compete`, the classes share each bin."""


def option(default: Any, help: str, choices: tuple[str, ...] | None = None, **kwargs: Any) -> Any:
    """A config field that the command line offers: its default, the help text of its flag, and its
    choices (the flag ``--<field-name>`` is made from it by :mod:`sgn_teach.cli.flags`)."""
    meta = {"help": help, **({"choices": choices} if choices else {})}
    if isinstance(default, (list, dict, tuple)):
        return field(default_factory=lambda: default, metadata=meta, **kwargs)
    return field(default=default, metadata=meta, **kwargs)


__all__ = ["ASSIGNMENTS", "CONDITIONS", "DIFFUSION_TARGETS", "MASK_SHARING", "MASK_TARGETS", "OPTIMIZERS", "PRECISIONS",
           "PREDICTIONS", "PRESENCE_SOURCES", "SCHEDULES", "TRUNKS", "option"]
