"""The weak-supervision losses of notebook 08 (Mahmud et al., ICML 2024, adapted to mask estimation).

All spectrogram tensors are on the warped grid; masks are sigmoid(mask logits).

* **unsupervised mix-and-separate** (:func:`mix_of_mixtures_loss`): the
  separator hears the mixture of two captioned mixtures, is prompted with
  each caption and must give back that mixture — SoP's mix-and-separate one
  level up, with whole mixtures as the "sources". No solo source is needed.
* **bi-modal similarity** (:func:`bimodal_loss`): each *entity* of a caption
  ("cello") is separated from its own mixture; the audio–text model must find
  that estimate closer to the text of its entity than to the text of every
  other class (a softmax over the C class prompts at temperature τ).
* **consistency** (:func:`consistency_loss`): the entities' estimates must sum
  back to the mixture. With the mixture's phase, Σ_k ŝ_k = iSTFT((Σ_k M_k)·X),
  which is the mixture exactly when Σ_k M_k = 1, so the loss is the weighted
  mean of (Σ_k M_k − 1)².
* **supervised** (:func:`supervised_loss`): where solo sources are known, SoP's
  weighted BCE against their mask targets (the supervised model, and the
  labelled share of the semi-supervised one).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..losses import weighted_bce


def mix_of_mixtures_loss(mask_logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted BCE of the caption-prompted masks (B, 2, F, T) against the masks of the two mixtures
    inside the mixture of mixtures (B, 2, F, T); weight (B, 1, F, T) → scalar."""
    return weighted_bce(mask_logits, target, weight)


def consistency_loss(mask_logits: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Σ_k M_k should be 1 at every bin: mask_logits (B, K, F, T) of *all* K entities of each
    mixture, weight (B, 1, F, T) → Σ w·(Σ_k σ(l_k) − 1)² / Σ w (scalar)."""
    total = torch.sigmoid(mask_logits.float()).sum(1, keepdim=True)   # (B, 1, F, T)
    w = weight.float()
    return (w * (total - 1).pow(2)).sum() / w.sum().clamp(min=1e-8)


def bimodal_loss(audio_emb: torch.Tensor, class_text: torch.Tensor, labels: torch.Tensor,
                 temperature: float = 0.07) -> tuple[torch.Tensor, torch.Tensor]:
    """Audio of an entity should match that entity's text and not the others'.

    Args:
        audio_emb: (M, E) unit embeddings of M separated estimates.
        class_text: (C, E) unit text embeddings of the C class prompts.
        labels: (M,) long, the entity (class) each estimate was separated for.

    Returns:
        (cross-entropy of softmax(a·tᵀ/τ) against the entity, accuracy of the argmax) — both scalars.
    """
    logits = audio_emb.float() @ class_text.float().T / temperature    # (M, C)
    loss = F.cross_entropy(logits, labels)
    return loss, (logits.argmax(1) == labels).float().mean().detach()


def supervised_loss(mask_logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                    rows: torch.Tensor) -> torch.Tensor:
    """Weighted BCE on the rows whose solo sources are known: (B, K, F, T), (B, K, F, T), (B, 1, F, T),
    rows (B,) bool → scalar (0 with no labelled row, so a batch without one adds nothing)."""
    if not bool(rows.any()):
        return mask_logits.sum() * 0.0  # keeps the graph, adds nothing
    return weighted_bce(mask_logits[rows], target[rows], weight[rows])


__all__ = ["mix_of_mixtures_loss", "consistency_loss", "bimodal_loss", "supervised_loss"]
