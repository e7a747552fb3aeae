"""Supervised NMF: the classical baseline row of the evaluation table.

Each class c gets a dictionary W_c (F_lin, K) of spectral templates, learned by
KL-NMF on the magnitude spectrograms of its training clips. A mixture |X| is
explained with the dictionaries of its classes held fixed, only the activations
H being fitted; source i is then recovered with the Wiener-like mask
W_i H_i / Σ_j W_j H_j on the linear grid. Like the class-conditioned networks it
is told which classes are present, so it is compared without permutation.
"""

from __future__ import annotations

import numpy as np
import torch

from ..core.config import SAMPLE_RATE

EPS = 1e-10


def kl_nmf(V: torch.Tensor, W: torch.Tensor, H: torch.Tensor, n_iter: int, update_W: bool = True):
    """Multiplicative-update KL-NMF, batched: V (B, F, T) ≈ W (B, F, K) @ H (B, K, T)."""
    for _ in range(n_iter):
        WH = W @ H + EPS
        H = H * (W.transpose(1, 2) @ (V / WH)) / (W.sum(1).unsqueeze(-1) + EPS)  # Wᵀ: (B, K, F)
        if update_W:
            WH = W @ H + EPS
            W = W * ((V / WH) @ H.transpose(1, 2)) / (H.sum(2).unsqueeze(1) + EPS)  # Hᵀ: (B, T, K)
            norm = W.sum(1, keepdim=True) + EPS  # templates sum to 1; the scale moves into H
            W = W / norm
            H = H * norm.transpose(1, 2)
    return W, H


class SupervisedNMF:
    """Per-class KL-NMF dictionaries and Wiener-mask separation.

    Args:
        n_components: K templates per class.
        n_iter_fit / n_iter_separate: multiplicative-update iterations.
    """

    def __init__(self, n_components: int = 16, n_iter_fit: int = 80, n_iter_separate: int = 60, seed: int = 0):
        self.k = n_components
        self.n_iter_fit = n_iter_fit
        self.n_iter_separate = n_iter_separate
        self.seed = seed
        self.W: torch.Tensor | None = None  # (C, F_lin, K)

    def fit(self, class_mags: list[torch.Tensor]) -> "SupervisedNMF":
        """Learn one dictionary per class from its training magnitudes, each (F_lin, T_c)."""
        g = torch.Generator().manual_seed(self.seed)
        dicts = []
        for V in class_mags:
            V = V.double().unsqueeze(0)  # (1, F_lin, T_c): a batch of one
            W0 = torch.rand(1, V.shape[1], self.k, generator=g, dtype=torch.float64) + 0.1
            H0 = torch.rand(1, self.k, V.shape[2], generator=g, dtype=torch.float64) + 0.1
            W, _ = kl_nmf(V, W0, H0, self.n_iter_fit, update_W=True)
            dicts.append(W[0])
        self.W = torch.stack(dicts)  # (C, F_lin, K)
        return self

    def masks(self, mag: torch.Tensor, class_idx: torch.Tensor) -> torch.Tensor:
        """Linear-grid masks for the given classes.

        Args:
            mag: (B, F_lin, T) mixture magnitude.
            class_idx: (B, N) classes present.

        Returns:
            (B, N, F_lin, T) masks that sum to 1 over N.
        """
        if self.W is None:
            raise RuntimeError("call fit() before masks()")
        B, N = class_idx.shape
        W = self.W[class_idx.cpu()]                      # (B, N, F_lin, K)
        W = W.permute(0, 2, 1, 3).reshape(B, W.shape[2], N * self.k)  # (B, F_lin, N·K): the N dictionaries side by side
        V = mag.detach().double().cpu()
        g = torch.Generator().manual_seed(self.seed)
        H0 = torch.rand(B, N * self.k, V.shape[-1], generator=g, dtype=torch.float64) + 0.1
        _, H = kl_nmf(V, W, H0, self.n_iter_separate, update_W=False)
        H = H.reshape(B, N, self.k, -1)                 # (B, N, K, T): split activations per class
        Wn = W.reshape(B, W.shape[1], N, self.k).permute(0, 2, 1, 3)  # (B, N, F_lin, K)
        parts = Wn @ H                                   # (B, N, F_lin, T): each class's model of |X|
        return (parts / (parts.sum(1, keepdim=True) + EPS)).float()


def class_magnitudes(library, frontend, clips_per_class: int = 9, sample_rate: int = SAMPLE_RATE) -> list[torch.Tensor]:
    """Training magnitudes per class: a list of C tensors (F_lin, T_c), frames with energy only.

    The clips are spread evenly over the class's (path-sorted) clips, so a library
    rendered from several SoundFonts gives NMF every timbre, not just the first one.
    """
    out = []
    for c in range(len(library.classes)):
        all_clips = library.by_class.get(c, [])
        picks = np.unique(np.linspace(0, len(all_clips) - 1, num=min(clips_per_class, len(all_clips))).round()
                          .astype(int)) if all_clips else []
        clips = [all_clips[i] for i in picks]
        mags = []
        for clip in clips:
            wave = torch.from_numpy(np.array(library.load(clip, sample_rate), dtype=np.float32))  # a writable copy
            mag = frontend.stft(wave).abs()              # (F_lin, T)
            energy = mag.pow(2).sum(0)
            mags.append(mag[:, energy > 1e-4 * energy.max()])
        if not mags:
            mags = [torch.full((frontend.cfg.n_freq_linear, 8), 1e-3)]
        out.append(torch.cat(mags, dim=1))
    return out
