"""Checkers for notebook 08, *Weak supervision through audio–text similarity*.

Each prints ✔ or ✘ with what was expected (via :func:`sgn_teach.exercises.report`),
returns a bool, and never raises — a placeholder answer just gets a ✘ and a hint
that does not give the answer away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import report

if TYPE_CHECKING:  # the checkers import torch only when called
    import torch


def check_synonym_prompt(prompt: Any) -> bool:
    """Exercise 1: a prompt naming exactly the saxophone and the acoustic guitar, without those words."""
    from ..data.captions import parse_entities

    if not isinstance(prompt, str) or not prompt.strip():
        return report(False, "", "write your prompt as a string, e.g. prompt_1 = \"...\"")
    text = prompt.lower().replace("_", " ")
    found = parse_entities(prompt)
    if "saxophone" in text or "acoustic guitar" in text:
        return report(False, "", "the point is to avoid the class names 'saxophone' and 'acoustic guitar': "
                                 "look at sgn_teach.data.captions.SYNONYMS for other names")
    ok = sorted(found) == ["acoustic_guitar", "saxophone"]
    return report(ok, f"parse_entities({prompt!r}) = {found}: two classes from other names. The parser matches "
                      "the longest synonym first, so multi-word names win over their parts.",
                  f"parse_entities({prompt!r}) gives {found}; it should give exactly the saxophone and the "
                  "acoustic guitar (in any order).")


def consistency_target(n_freq: int = 16, n_frames: int = 16) -> torch.Tensor:
    """Exercise 2's target (1, 2, F, T): mixture 1 owns the lower half of the frequency bins, mixture 2 the upper."""
    import torch

    target = torch.zeros(1, 2, n_freq, n_frames)
    target[0, 0, : n_freq // 2] = 1
    target[0, 1, n_freq // 2:] = 1
    return target


def check_consistent_masks(mask_logits: Any, limit: float = 0.01, overlap_limit: float = 0.25) -> bool:
    """Exercise 2: mask logits (1, 2, 2, F, T) — caption, entity, bins — that split each caption's bins between
    its two entities.

    Four conditions, each checked on its own (the loss alone cannot see all of them):

    * the consistency loss (the authors' sum form, on a mixture of mixtures of unit magnitude whose lower half
      is caption 1's and upper half caption 2's, :func:`consistency_target`) is below `limit`;
    * no bin is taken by both entities of a caption (min of the two masks ≤ `overlap_limit` everywhere):
      two entities that both take all of their caption's bins are the copy, not a split;
    * no entity takes a bin of the *other* caption (mask ≤ `overlap_limit` there) — the sum form weighs each bin
      by log1p|X_i|, 0 where x_i is silent, so it cannot see this;
    * caption 1's two masks differ somewhere (a split, not one entity doing all the work and its twin copying it).
    """
    import torch

    from ..losses.text import consistency_loss

    if not isinstance(mask_logits, torch.Tensor) or mask_logits.dim() != 5 or mask_logits.shape[:3] != (1, 2, 2):
        shape = tuple(mask_logits.shape) if isinstance(mask_logits, torch.Tensor) else type(mask_logits).__name__
        return report(False, "", f"expected a tensor of shape (1, 2, 2, F, T) — caption, entity, bins — got {shape}")
    logits = mask_logits.detach().float()
    target = consistency_target(*logits.shape[-2:])                     # (1, 2, F, T): each caption's bins
    loss = float(consistency_loss(logits, torch.ones(1, 1, *logits.shape[-2:]), target))  # |X| = 1, |X_i| = its half
    masks = torch.sigmoid(logits)[0]                                    # (1, 2, 2, F, T) → (caption, entity, F, T)
    overlap = float(torch.minimum(masks[:, 0], masks[:, 1]).max())     # a bin both entities of a caption take
    outside = float((masks * (1 - target[0])[:, None]).max())           # a bin of the other caption's mixture
    different = float((masks[0, 0] - masks[0, 1]).abs().max()) > 0.5
    if loss >= limit:
        hint = (f"the consistency loss of your masks is {loss:.3g}, not below {limit}: caption 1's two masks must "
                "add up to 1 on the lower half of the bins, caption 2's on the upper half; logits of ±20 make "
                "masks of almost exactly 1 and 0")
    elif overlap > overlap_limit:
        hint = (f"two entities of one caption both take the same bins (the largest min(M₁, M₂) is {overlap:.2f}): "
                "each bin of a caption's mixture belongs to exactly one of its entities")
    elif outside > overlap_limit:
        hint = (f"an entity takes bins of the other caption's mixture (mask {outside:.2f} there). The loss does not "
                "see those bins — log1p|X_i| = 0 where x_i is silent — but an entity of caption 1 has no business in "
                "mixture 2")
    elif not different:
        hint = "the loss is small, but caption 1's two masks are (nearly) the same: let them share its bins differently"
    else:
        hint = ""
    ok = not hint
    return report(ok, "Any split of mixture 1's bins between its two entities is consistent — the loss asks that "
                      "their parts add up to mixture 1, no more and no less. *Which* bins are the cello's is the "
                      "bi-modal loss's question.", hint)


def check_labelled_count(answer: Any, n_items: int = 1000, seed: int = 0, fraction: float = 0.05) -> bool:
    """Exercise 3: how many of items 0 … n_items−1 of CaptionedPairs(…, seed, sup_fraction) are labelled?"""
    import numpy as np

    expected = sum(bool(np.random.default_rng([seed, i, 2]).random() < fraction) for i in range(n_items))
    try:
        ok = answer is not None and not isinstance(answer, bool) and int(answer) == expected and float(answer) == expected
    except (TypeError, ValueError):
        ok = False
    return report(ok, f"{expected} of {n_items}: each item is labelled with probability {fraction}, drawn from "
                      f"(seed, i) alone, so about {fraction * n_items:.0f} and always the same ones. The weak losses "
                      "still use every item; only the supervised loss is limited to these.",
                  f"got {answer!r}: count the items i < {n_items} for which ds.labelled(i) is True "
                  f"(seed {seed}, sup_fraction {fraction}).")


__all__ = ["check_synonym_prompt", "consistency_target", "check_consistent_masks", "check_labelled_count"]
