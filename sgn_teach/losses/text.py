"""The weak-supervision losses of notebook 08 (Mahmud et al., ICLR 2024, adapted to mask estimation).

All spectrogram tensors are on the warped grid; masks are sigmoid(mask logits).

* **unsupervised mix-and-separate** (:func:`mix_of_mixtures_loss`): the
  separator hears the mixture of two captioned mixtures, is prompted with
  each caption and must give back that mixture — SoP's mix-and-separate one
  level up, with whole mixtures as the "sources". No solo source is needed.
* **bi-modal similarity** (:func:`bimodal_loss`): each *entity* of a caption
  ("cello") is separated from the mixture of mixtures; the audio–text model must find
  that estimate closer to the text of its entity than to the text of every
  other class (a softmax over the C class prompts at temperature τ).
* **consistency** (:func:`consistency_loss`): the entities of caption i,
  each separated from the *mixture of mixtures*, must add back up to mixture
  i — the parts named by a caption rebuild the audio it captions, and nothing
  of the other mixture. With the mixture's phase, Σ_k ŝ_k = iSTFT((Σ_k M_k)·X);
  with binary masks that is x_i exactly when the entity masks of caption i
  together cover the bins of x_i and no others, so the loss is the weighted
  BCE of their union 1 − Π_k (1 − M_k) against x_i's mask in the mixture of
  mixtures (the target `unsup` uses). It is what turns a caption into a
  lesson about each entity: "cello" must leave out every bin of the other
  mixture, whatever instruments that one holds.
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


def consistency_loss(mask_logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The entity masks of each caption should rebuild that caption's mixture inside the mixture of mixtures.

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


__all__ = ["contrastive_loss", "mix_of_mixtures_loss", "consistency_loss", "bimodal_loss", "supervised_loss"]
