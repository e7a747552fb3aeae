"""The weak-supervision losses of notebook 08 (Mahmud et al., ICLR 2024, adapted to mask estimation).

All spectrogram tensors are on the warped grid; masks are sigmoid(mask logits).

* **unsupervised mix-and-separate** (:func:`mix_of_mixtures_loss`): the
  separator hears the mixture of two captioned mixtures, is prompted with
  each caption and must give back that mixture — SoP's mix-and-separate one
  level up, with whole mixtures as the "sources". No solo source is needed.
* **bi-modal similarity** (:func:`bimodal_contrastive_loss`, the paper's): each *entity*
  of a caption ("cello") is separated from the mixture of mixtures; its estimate's
  audio embedding must pick its entity's text among the texts of all the entities of
  the batch (audio→text InfoNCE at the audio–text model's own temperature, every
  prompt of the same class a positive). :func:`bimodal_loss` is the closed-set
  variant we used first — a softmax over the C fixed class prompts — kept to compare.
* **consistency** (:func:`consistency_loss`, the authors' form): the entities of
  caption i, each separated from the *mixture of mixtures* X, must add up to
  caption i's part of it: the L1 distance of Σ_k M_k·|X| to |X_i|, each bin weighted
  by log1p|X_i|. Two entities that each take all of x_i cost (the sum is twice
  |X_i|); entities that split x_i between them cost nothing. Bins where x_i is silent
  weigh log1p(0) = 0, so keeping the other mixture out is left to the other losses
  (`unsup` asks for x_i's mask there). :func:`consistency_union_loss` is the form we used before
  — the BCE of the union 1 − Π_k (1 − M_k) against x_i's mask — which two identical
  full masks satisfy, so it does not make the entities split the mixture.
* **supervised** (:func:`supervised_loss`): where solo sources are known, SoP's
  weighted BCE against their mask targets (the supervised model, and the
  labelled share of the semi-supervised one).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .mask import weighted_bce


def mix_of_mixtures_loss(mask_logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted BCE of the caption-prompted masks (B, 2, F, T) against the masks of the two mixtures
    inside the mixture of mixtures (B, 2, F, T); weight (B, 1, F, T) → scalar."""
    return weighted_bce(mask_logits, target, weight)


def consistency_loss(mask_logits: torch.Tensor, mix_mag: torch.Tensor, part_mag: torch.Tensor) -> torch.Tensor:
    """The entities of each caption, separated from the mixture of mixtures, add up to that caption's part of it.

    Args:
        mask_logits: (B, P, n, F, T) logits of the n entities of each of the P captions.
        mix_mag: (B, 1, F, T) |X|, the mixture of mixtures' magnitude.
        part_mag: (B, P, F, T) |X_i|, the magnitude of caption i's mixture inside it.

    Returns:
        mean over bins of log1p(|X_i|) · | Σ_k σ(l_k)·|X| − |X_i| | (scalar): 0 when the entity masks of each
        caption rebuild its part, neither more nor less, wherever that part sounds.
    """
    est = torch.sigmoid(mask_logits.float()).sum(2) * mix_mag.float()   # Σ_k M_k |X|: (B, P, n, F, T) → (B, P, F, T)
    part = part_mag.float()
    return (torch.log1p(part) * (est - part).abs()).mean()


def consistency_union_loss(mask_logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The form we used before the authors' (kept to compare): the union of each caption's entity masks should
    be that caption's mask inside the mixture of mixtures.

    Args:
        mask_logits: (B, P, n, F, T) logits of the n entities of each of the P captions, all separated
            from the same mixture of mixtures.
        target: (B, P, F, T) mask of each captioned mixture in the mixture of mixtures (binary or ratio).
        weight: (B, 1, F, T) per-bin weight.

    Returns:
        mean over bins of weight · BCE(1 − Π_k (1 − σ(l_k)), target) (scalar) — 0 only when the union of a
        caption's entity masks is its mixture's mask.
    """
    # 1 − union = Π_k (1 − σ(l_k)) = exp(−Σ_k softplus(l_k)): sum in log space so saturated masks stay finite
    s = F.softplus(mask_logits.float()).sum(2)                       # (B, P, n, F, T) → (B, P, F, T)
    log_union = torch.log(-torch.expm1(-s.clamp(min=1e-6)))          # log(1 − e^{−s}) = log union
    t = target.float()
    bce = -t * log_union + (1 - t) * s                               # −t log u − (1 − t) log(1 − u)
    return (weight.float() * bce).mean()


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


def bimodal_contrastive_loss(audio_emb: torch.Tensor, text_emb: torch.Tensor, labels: torch.Tensor,
                             logit_scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's bi-modal loss: each estimate's audio must pick its entity's text among the batch's entity texts.

    Args:
        audio_emb: (M, E) unit embeddings of the M entity estimates of the batch.
        text_emb: (M, E) unit text embeddings of their M entity prompts, in the same order.
        labels: (M,) the entity (class) of each: prompts of the same class are all positives.
        logit_scale: the audio–text model's own inverse temperature (exp of its learned logit scale).

    Returns:
        (audio→text InfoNCE with several positives, the share of estimates whose best text is of their class).
    """
    logits = logit_scale * audio_emb.float() @ text_emb.float().T          # (M, M): estimate i against prompt j
    positive = (labels[:, None] == labels[None, :]).float()                # (M, M)
    log_p = F.log_softmax(logits, dim=1)
    loss = -((log_p * positive).sum(1) / positive.sum(1)).mean()
    accuracy = (positive.gather(1, logits.argmax(1, keepdim=True)) > 0).float().mean()
    return loss, accuracy.detach()


def supervised_loss(mask_logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                    rows: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted BCE on the rows whose solo sources are known: (B, K, F, T), (B, K, F, T), (B, 1, F, T),
    rows (B,) bool or None (every row) → scalar (0 with no labelled row, so a batch without one adds nothing)."""
    if rows is None:
        return weighted_bce(mask_logits, target, weight)
    if not bool(rows.any()):
        return mask_logits.sum() * 0.0  # keeps the graph, adds nothing
    return weighted_bce(mask_logits[rows], target[rows], weight[rows])


def contrastive_loss(audio: torch.Tensor, text: torch.Tensor, labels: torch.Tensor,
                     logit_scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE with several positives per text.

    audio (B, E), text (C, E) unit vectors, labels (B,) class of each crop → scalar:
    mean of CE(audio → its class's text) and, for each class in the batch,
    the mean log-probability of its crops among all B crops.
    """
    logits = logit_scale.exp() * audio @ text.T                          # (B, C)
    a2t = F.cross_entropy(logits, labels)
    log_p = F.log_softmax(logits.T, dim=1)                               # (C, B): each text over the crops
    pos = F.one_hot(labels, text.shape[0]).T.float()                     # (C, B): 1 where crop b is of class c
    present = pos.sum(1) > 0
    t2a = -((log_p * pos).sum(1)[present] / pos.sum(1)[present]).mean()
    return 0.5 * (a2t + t2a)


__all__ = ["contrastive_loss", "mix_of_mixtures_loss", "consistency_loss", "consistency_union_loss", "bimodal_loss",
           "bimodal_contrastive_loss", "supervised_loss"]
