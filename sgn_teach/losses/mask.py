"""The losses of SoP's mix-and-separate and SGN (eq. 7–9).

All spectrogram tensors are on the warped grid: (B, N, F, T) for N sources,
(B, 1, F, T) for the mixture. The mask targets and SoP's per-bin weight that
these losses are given live in :mod:`sgn_teach.signal.targets` (the data
pipeline computes them too); :mod:`sgn_teach.losses` re-exports both.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F

from ..models.sgn import select_masks

__all__ = ["weighted_bce", "pit_bce", "class_constraint_ce", "presence_bce", "multi_hot", "sgn_loss"]


# ---------------------------------------------------------------------------
# Losses. Every BCE / CE is computed in float32, so they stay accurate when the
# network runs under torch.autocast (fp16/bf16 logits).
# ---------------------------------------------------------------------------


def weighted_bce(mask_logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                 valid: torch.Tensor | None = None) -> torch.Tensor:
    """SoP's reconstruction loss: mean over all bins of weight · BCE(sigmoid(logit), target).

    mask_logits (B, N, F, T), target (B, N, F, T), weight (B, 1, F, T) (broadcast
    over the N sources) → scalar. `valid` (B, N) bool: the mean over those sources only
    (the padding of a mixture with fewer sources than its batch's widest is left out).
    """
    bce = F.binary_cross_entropy_with_logits(mask_logits.float(), target.float(), reduction="none")  # (B, N, F, T)
    if valid is None:
        return (weight.float() * bce).mean()
    v = valid.float()[:, :, None, None]  # (B, N) → (B, N, 1, 1): broadcast over the bins
    return (weight.float() * bce * v).sum() / (v.sum() * bce.shape[-2] * bce.shape[-1]).clamp(min=1.0)


def pit_bce(mask_logits: torch.Tensor, target: torch.Tensor,
            weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Permutation-invariant weighted BCE, for models whose output slots have no class (SoP w/o visual).

    For every sample, every assignment of N of the K output slots to the N targets
    is tried (K!/(K−N)! of them, fine for K ≤ 4) and the cheapest one is kept. K = N
    in training (spare slots get silent targets there); K > N when a SoP trained on up
    to K sources hears fewer: then the slots left out are simply not scored.

    Args:
        mask_logits: (B, K, F, T), K ≥ N output slots.
        target: (B, N, F, T); weight: (B, 1, F, T).

    Returns:
        loss: scalar, the mean over the batch of each sample's best weighted BCE;
            equal to weighted_bce(select_masks(mask_logits, perm), target, weight).
        perm: (B, N) long, perm[b, j] = the output slot matched to target j.
    """
    B, N = target.shape[:2]
    K = mask_logits.shape[1]
    if K < N:
        raise ValueError(f"pit_bce: {K} output slots cannot hold {N} targets")
    logits, tgt, w = mask_logits.float(), target.float(), weight.float()
    # pairwise[b, i, j] = mean over (F, T) of weight · BCE(output slot i, target j): (B, K, N)
    pairwise = torch.stack([
        torch.stack([
            (w[:, 0] * F.binary_cross_entropy_with_logits(logits[:, i], tgt[:, j], reduction="none")).mean(dim=(1, 2))
            for j in range(N)], dim=1)
        for i in range(K)], dim=1)
    # every injective map target j → slot perm[j]: (K!/(K−N)!, N)
    perms = torch.tensor(list(itertools.permutations(range(K), N)), device=target.device)
    # cost of each assignment: mean_j pairwise[b, perm[j], j] → (B, K!/(K−N)!)
    target_idx = torch.arange(N, device=target.device)
    costs = pairwise[:, perms, target_idx].mean(dim=2)  # index (P, N) pairs → (B, P, N) → mean over j
    best_cost, best = costs.min(dim=1)  # (B,), (B,)
    return best_cost.mean(), perms[best]  # scalar, (B, N)


def class_constraint_ce(token_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 7, first term: class token i must be classified as class i.

    token_logits (B, C, C) (row i: the logits of class token i) → scalar
    cross-entropy against the target arange(C), for every sample.
    """
    B, C, _ = token_logits.shape
    labels = torch.arange(C, device=token_logits.device).repeat(B)  # (B·C,): 0…C-1 for every sample
    return F.cross_entropy(token_logits.float().reshape(B * C, C), labels)  # (B, C, C) → (B·C, C)


def presence_bce(presence_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 7, second term: BCE of presence_logits (B, C) against multi-hot labels (B, C) → scalar."""
    return F.binary_cross_entropy_with_logits(presence_logits.float(), labels.float())


def multi_hot(class_idx: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Class indices (B, N) long → multi-hot labels (B, C) float; an index −1 (padding) marks nothing."""
    labels = torch.zeros(class_idx.shape[0], n_classes + 1, device=class_idx.device)  # + a column for −1
    return labels.scatter_(1, class_idx.long() % (n_classes + 1), 1.0)[:, :n_classes]  # −1 → the dropped column


def sgn_loss(out: dict[str, torch.Tensor | None], target: torch.Tensor, weight: torch.Tensor,
             class_idx: torch.Tensor | None, labels: torch.Tensor | None,
             variant: str, weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss L = L_rec + L_group (eq. 9) for any model variant.

    Args:
        out: the model's output dict (mask_logits, token_logits, presence_logits, …).
        target: mask targets (B, N) of the N sources, (B, N, F, T).
        weight: SoP's per-bin weight (B, 1, F, T).
        class_idx: (B, N) long, the class of each source (ignored by `sop`).
        labels: (B, C) multi-hot presence labels; None → built from class_idx.
        variant: "sop" uses the permutation-invariant BCE; the others read the
            masks of the ground-truth classes.
        weights: (w_rec, w_ce, w_presence); the paper's L is (1, 1, 1).

    Returns:
        total: scalar with gradients.
        parts: detached scalars `rec`, `ce`, `presence`, `total` (0 where a part does not apply).
    """
    mask_logits = out["mask_logits"]
    if variant == "sop":
        missing = mask_logits.shape[1] - target.shape[1]
        if missing > 0:  # fewer sources than output slots: the spare slots should stay silent (an all-zero target)
            target = torch.cat([target, target.new_zeros(target.shape[0], missing, *target.shape[2:])], dim=1)
        rec, _ = pit_bce(mask_logits, target, weight)
    else:
        if class_idx is None:
            raise ValueError(f"variant {variant!r} needs class_idx to pick the masks of the sources")
        valid = class_idx >= 0  # (B, N): −1 pads a mixture with fewer sources than its batch's widest
        picked = class_idx.clamp(min=0)
        if out.get("mask_classes") is None:
            mask_logits = select_masks(mask_logits, picked)  # (B, C, F, T) → the masks of the true classes
        elif not torch.equal(out["mask_classes"], picked):
            raise ValueError("the model computed the masks of other classes than class_idx")
        rec = weighted_bce(mask_logits, target, weight, valid=None if bool(valid.all()) else valid)
    zero = torch.zeros((), device=target.device)
    ce = zero
    if out.get("token_logits") is not None:
        ce = class_constraint_ce(out["token_logits"])
    presence = zero
    if out.get("presence_logits") is not None:
        if labels is None:
            if class_idx is None:
                raise ValueError("presence_bce needs labels or class_idx")
            labels = multi_hot(class_idx, out["presence_logits"].shape[1])  # (padding classes −1 are skipped)
        presence = presence_bce(out["presence_logits"], labels)
    w_rec, w_ce, w_presence = weights
    total = w_rec * rec + w_ce * ce + w_presence * presence
    parts = {"rec": rec.detach(), "ce": ce.detach(), "presence": presence.detach(), "total": total.detach()}
    return total, parts
