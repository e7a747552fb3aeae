"""Category-aware grouping and the presence head (SGN paper §III-C: eq. 5 and 6; the presence loss in eq. 7).

Grouping turns C class tokens ĉ and P patch tokens f̂ into C class features g:

    q_p  = W_q f̂_p                       (B, P, D)    a query per patch
    k_i  = W_k ĉ_i                        (B, C, D)    a key per class
    A_pi = softmax_i ⟨q_p, k_i⟩ / √D      (B, P, C)    eq. 5: each patch shares
                                                        itself out among the classes
    g_i  = ĉ_i + W_o ( Σ_p A_pi W_v f̂_p / Σ_p A_pi )   eq. 6: class i collects
                                                        the patches assigned to it

The softmax is over *classes* (not over patches, as in ordinary attention):
classes compete for each patch, which is what "grouping" means. With
assign="hard" each patch goes to exactly one class (a straight-through
Gumbel-softmax, the paper's Table IV), and gradients still flow.

The presence head then says, per class feature, whether that class sounds in
the mixture: presence_logits (B, C), sigmoid → probability (eq. 7, second term).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def hard_assign(logits: torch.Tensor, tau: float = 1.0, training: bool = True) -> torch.Tensor:
    """One-hot over the last axis in the forward pass, soft gradients in the backward pass.

    Training: Gumbel-softmax with hard=True (noise, then argmax). Evaluation: no
    noise, argmax of softmax(logits / tau). Both use the straight-through trick
    y_hard − y_soft.detach() + y_soft, whose value is y_hard and whose gradient
    is that of y_soft.
    """
    if training:
        return F.gumbel_softmax(logits, tau=tau, hard=True, dim=-1)
    y_soft = torch.softmax(logits / tau, dim=-1)
    index = y_soft.argmax(dim=-1, keepdim=True)
    y_hard = torch.zeros_like(y_soft).scatter_(-1, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


class CategoryAwareGrouping(nn.Module):
    """Group patch tokens into class features (§III-C, eq. 5–6).

    Args:
        dim: D.
        assign: "softmax" (soft assignment, the default) or "hard" (straight-through Gumbel).
        tau: Gumbel-softmax temperature (only for assign="hard").
        eps: keeps the normalisation Σ_p A_pi finite for a class that gets no patch (soft assignment; with hard
            assignment the patch count is floored at 1 instead, see :meth:`forward`).

    forward(patches f̂ (B, P, D), class_tokens ĉ (B, C, D)) → (g (B, C, D), A (B, P, C)).
    """

    def __init__(self, dim: int, assign: str = "softmax", tau: float = 1.0, eps: float = 1e-6) -> None:
        super().__init__()
        if assign not in ("softmax", "hard"):
            raise ValueError(f"assign must be 'softmax' or 'hard', not {assign!r}")
        self.assign = assign
        self.tau = tau
        self.eps = eps
        self.scale = 1.0 / math.sqrt(dim)
        self.to_q = nn.Linear(dim, dim)  # W_q, applied to patches
        self.to_k = nn.Linear(dim, dim)  # W_k, applied to class tokens
        self.to_v = nn.Linear(dim, dim)  # W_v, applied to patches
        self.to_out = nn.Linear(dim, dim)  # W_o, applied to the grouped patch mean

    def assignment_logits(self, patches: torch.Tensor, class_tokens: torch.Tensor) -> torch.Tensor:
        """⟨W_q f̂_p, W_k ĉ_i⟩ / √D: (B, P, D), (B, C, D) → (B, P, C).

        The 1/√D scale is our implementation choice (as in dot-product
        attention); it keeps the softmax from saturating at initialisation.
        """
        q = self.to_q(patches)  # (B, P, D)
        k = self.to_k(class_tokens)  # (B, C, D)
        return torch.einsum("bpd,bcd->bpc", q, k) * self.scale  # (B, P, C)

    def forward(self, patches: torch.Tensor, class_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f̂ (B, P, D), ĉ (B, C, D) → g (B, C, D), A (B, P, C) with Σ_i A_pi = 1."""
        logits = self.assignment_logits(patches, class_tokens)  # (B, P, C)
        if self.assign == "softmax":
            A = torch.softmax(logits, dim=-1)  # eq. 5: normalise over the C classes for each patch
        else:
            A = hard_assign(logits, tau=self.tau, training=self.training)  # (B, P, C), one-hot rows
        v = self.to_v(patches)  # (B, P, D)
        grouped = torch.einsum("bpc,bpd->bcd", A, v)  # Σ_p A_pi W_v f̂_p: (B, C, D)
        mass = A.sum(dim=1).unsqueeze(-1)  # Σ_p A_pi: (B, C) → (B, C, 1) to broadcast over D
        # hard assignment: the mass is a count of patches; a class that gets none would divide its straight-through
        # gradient by eps (×10⁶). Floored at one patch, its grouped feature is 0 and its gradient bounded.
        denom = mass.clamp(min=1.0) if self.assign == "hard" else mass + self.eps
        g = class_tokens + self.to_out(grouped / denom)  # eq. 6, residual on ĉ_i
        return g, A


class ClassQueryAttention(CategoryAwareGrouping):
    """The control of Table III (ours, not the paper's): per-class queries attend over the patches, no grouping.

    The same parameters as :class:`CategoryAwareGrouping` (W_q, W_k, W_v, W_o) and the same logits, but the
    softmax runs over the P *patches* for each class (ordinary cross-attention) instead of over the C *classes*
    for each patch. Classes no longer compete for a patch: two classes may read the same patches. SGN with this
    module in place of the grouping (variant ``attn``) differs from SGN in that one thing only.

    forward(patches f̂ (B, P, D), class_tokens ĉ (B, C, D)) → (g (B, C, D), A (B, P, C) with Σ_p A_pi = 1).
    """

    def forward(self, patches: torch.Tensor, class_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """f̂ (B, P, D), ĉ (B, C, D) → g (B, C, D), A (B, P, C) normalised over the patches."""
        A = torch.softmax(self.assignment_logits(patches, class_tokens), dim=1)  # (B, P, C): Σ_p A_pi = 1 per class
        pooled = torch.einsum("bpc,bpd->bcd", A, self.to_v(patches))  # Σ_p A_pi W_v f̂_p: (B, C, D), already a mean
        return class_tokens + self.to_out(pooled), A  # residual on ĉ_i, as in eq. 6


class PresenceHead(nn.Module):
    """Is class i in the mixture? class features g (B, C, D) → presence_logits (B, C).

    A logit, not a probability: the sigmoid is applied inside the loss
    (`presence_bce`, numerically safer) and at inference.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, 1)

    def forward(self, class_features: torch.Tensor) -> torch.Tensor:
        return self.fc(class_features).squeeze(-1)  # (B, C, 1) → (B, C)
