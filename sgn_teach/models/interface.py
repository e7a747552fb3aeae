"""What every separating network offers the rest of the package: the :class:`Separator` protocol.

The separators differ in what they are told and how they answer:

| model | `class_conditioned` | `generative` | `has_presence_head` | `takes_prompts` |
|---|---|---|---|---|
| `SoPModel` (sop)                        | no: unordered slots | no  | no              | no  |
| `SGN` (sgn, sct, cag)                   | yes                 | no  | yes             | no  |
| `SGN` (baseline)                        | yes                 | no  | no              | no  |
| `TextConditionedSeparator` (text)       | yes                 | no  | no              | yes |
| `DiffusionSeparator` (diffusion)        | yes                 | yes | with an SGN guide | no |

Evaluation, streaming inference, the notebooks' explorer and validation during
training ask for masks through one function, :func:`masks_for`, and never look
at a model's type; the flags above are what they may branch on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class Separator(Protocol):
    """A network that separates a mixture's log-magnitude (B, 1, F, T) into masks.

    Attributes:
        class_conditioned: its outputs are named classes (one per class asked for); False: unordered
            slots (SoP), which evaluation pairs with the references by permutation.
        generative: its masks are sampled (several network passes; `sampling_steps` sets how many).
        has_presence_head: it can say which classes are present (``classes="auto"``).
        takes_prompts: it can also be steered by prompt embeddings (``cond=``, notebook 08).
        presence_thresholds: (C,) the presence head's calibrated thresholds (0.5 until calibrated), or None
            without a presence head.
    """

    class_conditioned: bool
    generative: bool
    has_presence_head: bool
    takes_prompts: bool
    presence_thresholds: torch.Tensor | None

    def forward(self, log_mag: torch.Tensor, classes: torch.Tensor | None = None) -> dict: ...


@dataclass
class Separation:
    """Masks and what the model said on the way.

    Attributes:
        masks: (B, K, F, T) in [0, 1] (a generative model's ratios may exceed 1 when its `max_ratio` does):
            the classes asked for, in their order; every class when none were asked; or the K slots of SoP.
        classes: (B, K) the class of each mask, or None for SoP's slots.
        presence: (B, C) presence probabilities, where the model has a presence head.
        token_pred: (B, C) the class each class token is classified as (models with class tokens).
        assign: (B, P, C) the grouping assignment (models with category-aware grouping).
    """

    masks: torch.Tensor
    classes: torch.Tensor | None = None
    presence: torch.Tensor | None = None
    token_pred: torch.Tensor | None = None
    assign: torch.Tensor | None = None


@torch.no_grad()
def masks_for(model: Separator, log_mag: torch.Tensor, classes: torch.Tensor | None = None) -> Separation:
    """The masks of `classes` (B, K) — or of every class (every slot for SoP) when None — for (B, 1, F, T).

    The one place that knows how each kind of separator turns its outputs into masks: a mask
    model's sigmoid(mask logits), a generative model's sampled ratios.
    """
    if model.class_conditioned and classes is None:
        classes = torch.arange(model.cfg.n_classes, device=log_mag.device).expand(log_mag.shape[0], -1)  # (B, C)
    if model.generative:  # sampled ratio masks of `classes` (diffusion, notebook 07)
        masks, info = model.separation_masks(log_mag, classes)
        return Separation(masks, classes, presence=info.get("presence"))
    out = model(log_mag, classes=classes if model.class_conditioned else None)
    masks = torch.sigmoid(out["mask_logits"].float())  # (B, K, F, T)
    presence = out.get("presence_logits")
    tokens = out.get("token_logits")
    return Separation(masks, classes if model.class_conditioned else None,
                      presence=None if presence is None else torch.sigmoid(presence.float()),
                      token_pred=None if tokens is None else tokens.float().argmax(-1),  # (B, C, C) → (B, C)
                      assign=out.get("assign"))


@torch.no_grad()
def presence_probabilities(model: Separator, log_mag: torch.Tensor) -> torch.Tensor | None:
    """Presence probabilities (B, C) from the class branch alone (no mask is computed), or None
    for a model without a presence head."""
    if not model.has_presence_head:
        return None
    return torch.sigmoid(model.presence_logits(log_mag).float())


def is_separator(model: object) -> bool:
    """Does `model` offer the :class:`Separator` protocol (an audio–text embedding does not)?"""
    return isinstance(model, Separator)


__all__ = ["Separation", "Separator", "is_separator", "masks_for", "presence_probabilities"]
