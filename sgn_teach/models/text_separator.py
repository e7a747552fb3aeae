"""A separator steered by words: the course U-Net with FiLM conditioning on a prompt embedding.

    log_mag (B, 1, F, T) ─ encoder (down blocks, once per mixture) ─┬─ skips d_0 … d_{L-1}
    prompt e (B, K, E)  ─ FiLM: γ_l(e), β_l(e) for every decoder level │
    decoder (once per mixture *and* prompt):                          ▼
        h ← d_{L-1}·(1 + γ_L) + β_L;  h ← up_k([d_k; h])·(1 + γ_k) + β_k  …  → mask logit (B, K, F, T)

FiLM (feature-wise linear modulation, Perez et al. 2018; :mod:`sgn_teach.models.film`) scales and shifts every
channel of the decoder by an affine function of the prompt embedding; γ and β
start at zero, so an untrained model ignores the prompt. The prompt embedding
comes from an audio–text model (the course's small one, or CLAP): the text
embedding of "the sound of a cello", or of a whole caption ("a cello and a flute").

The model keeps the text embeddings of its class vocabulary in a buffer
(`entity_text`, (C, E)), filled when training starts, so a checkpoint separates
any class by name without the audio–text model: ``model(log_mag, classes=...)``
conditions on the entity embeddings of those classes — the same call as SGN's,
which is how `evaluate`, `separate` and validation use it unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from ..core.config import ModelConfig
from .film import FiLM
from .unet import UNet, unet_widths


class TextConditionedSeparator(nn.Module):
    """U-Net mask estimator conditioned on prompt embeddings (notebook 08).

    Args:
        cfg: U-Net sizes (`unet_levels`, `ngf`), `n_classes` C, `text_dim` E.
        grid: (F, T) of the warped spectrogram.

    forward(log_mag (B, 1, F, T), classes (B, K) long or None, cond (B, K, E) or None) → dict with
        mask_logits  (B, K, F, T): one mask per prompt; K = C (every class) when neither is given
        mask_classes (B, K) or None: the class of each mask when `classes` was given
        token_logits, presence_logits, assign, class_features: None (no class tokens here)
    """

    class_conditioned = True   # the flags of the Separator protocol (sgn_teach.models.interface)
    generative = False
    has_presence_head = False
    takes_prompts = True
    presence_thresholds = None

    def __init__(self, cfg: ModelConfig, grid: tuple[int, int]) -> None:
        super().__init__()
        self.cfg = cfg
        self.grid = tuple(grid)
        E = cfg.text_dim
        self.unet = UNet(in_channels=1, out_channels=1, ngf=cfg.ngf, levels=cfg.unet_levels)
        self.unet.check_grid(*self.grid)
        widths = unet_widths(cfg.ngf, cfg.unet_levels)
        # film[l] modulates the decoder input at level l: l = L-1 the bottleneck (widths[L-1] channels),
        # l < L-1 the output of up block l+1 (widths[l] channels)
        self.film = nn.ModuleList([FiLM(E, widths[level]) for level in range(cfg.unet_levels)])
        self.register_buffer("entity_text", torch.zeros(cfg.n_classes, E))  # (C, E) text embeddings of the classes

    @torch.no_grad()
    def set_entity_text(self, embeddings: torch.Tensor) -> None:
        """Store the (C, E) text embeddings of the class prompts (what `classes=` conditions on)."""
        if embeddings.shape != self.entity_text.shape:
            raise ValueError(f"entity embeddings must be {tuple(self.entity_text.shape)}, got {tuple(embeddings.shape)}")
        self.entity_text.copy_(embeddings)

    def encode(self, log_mag: torch.Tensor) -> list[torch.Tensor]:
        """The unconditioned half: (B, 1, F, T) → skips [d_0 … d_{L-1}], d_k (B, widths[k], F/2^(k+1), T/2^(k+1))."""
        self.unet.check_grid(log_mag.shape[-2], log_mag.shape[-1])
        h = self.unet.input_norm(log_mag)
        skips = []
        for block in self.unet.down:
            h = block(h)
            skips.append(h)
        return skips

    def decode(self, skips: list[torch.Tensor], cond: torch.Tensor) -> torch.Tensor:
        """The conditioned half: skips of B mixtures, cond (B, K, E) → mask logits (B, K, F, T)."""
        B, K, E = cond.shape
        c = cond.reshape(B * K, E)  # (B, K, E) → (B·K, E): one decoder pass per (mixture, prompt)
        # each mixture's skips are repeated for its K prompts: (B, ...) → (B·K, ...), mixture-major
        rep = [s.repeat_interleave(K, dim=0) for s in skips]
        L = len(rep)
        h = self.film[L - 1](rep[L - 1], c)
        for k in reversed(range(L)):
            if k < L - 1:
                h = torch.cat([rep[k], h], dim=1)  # skip connection: (B·K, w, f, t) + (B·K, w, f, t) → (B·K, 2w, f, t)
            h = self.unet.up[k](h)
            if k > 0:
                h = self.film[k - 1](h, c)
        return h.reshape(B, K, *h.shape[-2:])  # (B·K, 1, F, T) → (B, K, F, T)

    def condition(self, classes: torch.Tensor) -> torch.Tensor:
        """The entity embeddings of `classes`: (B, K) long → (B, K, E)."""
        return self.entity_text[classes.long()]

    def forward(self, log_mag: torch.Tensor, classes: torch.Tensor | None = None,
                cond: torch.Tensor | None = None) -> dict[str, torch.Tensor | None]:
        """log-magnitude (B, 1, F, T) → dict (see the class docstring).

        cond (B, K, E): condition on these embeddings (e.g. captions); else
        classes (B, K): on the stored entity embeddings of those classes; else on every class.
        """
        B = log_mag.shape[0]
        if cond is None:
            if classes is None:
                classes = torch.arange(self.cfg.n_classes, device=log_mag.device).expand(B, -1)  # (B, C)
                mask_classes = None
            else:
                mask_classes = classes
            cond = self.condition(classes)
        else:
            mask_classes = None
        logits = self.decode(self.encode(log_mag), cond.to(log_mag.dtype))
        return {"mask_logits": logits, "mask_classes": mask_classes, "token_logits": None, "presence_logits": None,
                "assign": None, "class_features": None}


__all__ = ["TextConditionedSeparator"]
