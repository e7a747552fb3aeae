"""Patches and source class tokens (SGN paper §III-B, and eq. 7's first term).

The spectrogram is cut into P non-overlapping p×p patches, each embedded to a
D-vector (like a Vision Transformer). C learnable **source class tokens**, one
per class, are appended to the patch sequence; self-attention lets every class
token read the whole mixture, so after `depth` layers token i summarises "what
of class i is in this mixture".

What makes token i mean class i is the **class-constraint loss**: a linear
head `token_head` classifies each output token, and cross-entropy pushes token
i towards label i (`sgn_teach.losses.mask.class_constraint_ce`).
"""

from __future__ import annotations

import torch
from torch import nn


class PatchEmbedding(nn.Module):
    """Log-magnitude (B, 1, F, T) → patch tokens (B, P, D), P = (F/p)·(T/p).

    Conv2d(1, D, kernel p, stride p) embeds each patch; a learnable positional
    embedding (1, P, D) tells the transformer where each patch sits.

    Implementation choice (not in the paper's text): the raw log-magnitude
    spans roughly −23 … +5, so it first goes through BatchNorm2d(1), exactly
    like the U-Net's input (SoP's bn0).
    """

    def __init__(self, dim: int, patch_size: int, grid: tuple[int, int]) -> None:
        super().__init__()
        F, T = grid
        if F % patch_size or T % patch_size:
            raise ValueError(f"the grid {F}×{T} is not divisible by the patch size {patch_size}")
        self.patch_size = patch_size
        self.grid = (F // patch_size, T // patch_size)  # patches along frequency and time
        self.n_patches = self.grid[0] * self.grid[1]
        self.input_norm = nn.BatchNorm2d(1)
        self.proj = nn.Conv2d(1, dim, kernel_size=patch_size, stride=patch_size)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.n_patches, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, log_mag: torch.Tensor) -> torch.Tensor:
        """(B, 1, F, T) → (B, P, D), patches in frequency-major order (p = f_idx·T/p + t_idx)."""
        x = self.proj(self.input_norm(log_mag))  # (B, D, F/p, T/p)
        x = x.flatten(2)  # (B, D, F/p, T/p) → (B, D, P): the patch grid becomes one sequence axis
        x = x.transpose(1, 2)  # (B, D, P) → (B, P, D): tokens first, features last
        return x + self.pos_embed


class ClassTokenTransformer(nn.Module):
    """Transformer over [patches; class tokens] (eq. 2–3).

    Args:
        dim: D, the token width.
        depth: number of encoder layers (6 in the paper).
        heads: attention heads.
        n_classes: C, the number of source class tokens. 0 builds a transformer
            over the patches only (the `cag` ablation), with no `token_head`.
        mlp_ratio: width of the feed-forward layer relative to D.
        dropout: dropout inside the encoder layers.
        n_patches: P, if given the forward pass checks the patch count.

    forward(patches (B, P, D)) → (f̂ (B, P, D), ĉ (B, C, D) or None).
    """

    def __init__(self, dim: int, depth: int, heads: int, n_classes: int, mlp_ratio: float = 4.0,
                 dropout: float = 0.0, n_patches: int | None = None) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.n_patches = n_patches
        if n_classes > 0:
            self.class_tokens = nn.Parameter(torch.zeros(n_classes, dim))  # (C, D), one per source class
            nn.init.trunc_normal_(self.class_tokens, std=0.02)
            self.token_head = nn.Linear(dim, n_classes)  # classifies each output token (eq. 7, first term)
        else:
            self.class_tokens = None
            self.token_head = None
        # pre-norm layers, as in ViT; a ModuleList rather than nn.TransformerEncoder
        # keeps the loop visible and avoids its nested-tensor fast path
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(dim, heads, dim_feedforward=int(dim * mlp_ratio), dropout=dropout,
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(depth)
        ])
        self.norm = nn.LayerNorm(dim)

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, P, D) → (f̂ (B, P, D), ĉ (B, C, D) or None when n_classes == 0)."""
        B, P, D = patches.shape
        if self.n_patches is not None and P != self.n_patches:
            raise ValueError(f"expected {self.n_patches} patches, got {P}")
        x = patches
        if self.class_tokens is not None:
            tokens = self.class_tokens.unsqueeze(0).expand(B, -1, -1)  # (C, D) → (B, C, D), shared by the batch
            x = torch.cat([x, tokens], dim=1)  # (B, P + C, D): class tokens after the patches
        for layer in self.layers:
            x = layer(x)
        x = self.norm(x)
        f_hat = x[:, :P]  # (B, P, D) contextualised patches
        c_hat = x[:, P:] if self.class_tokens is not None else None  # (B, C, D) class tokens
        return f_hat, c_hat

    def token_logits(self, class_tokens: torch.Tensor) -> torch.Tensor:
        """Class-constraint logits: ĉ (B, C, D) → (B, C, C); row i should pick class i."""
        if self.token_head is None:
            raise RuntimeError("this transformer has no class tokens, so no token_head")
        return self.token_head(class_tokens)
