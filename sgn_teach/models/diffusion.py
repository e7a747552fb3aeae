"""The Separation U-Net: DAVIS's denoiser (Huang et al. 2023), sized for a CPU.

It predicts, from a noisy source spectrogram x_t, the step t, the mixture and a
condition c (which source we want), the diffusion target v (`sgn_teach.models.ddpm`):

    [x_t ; mixture] (B, 2, F, T)
      └─ patch stem: Conv s×s, stride s ──────────────▶ (B, ch, F/s, T/s)
         encoder level k: ResBlock(·, emb) [+ T-F attention] ─▶ skip_k, then ↓2
         bottleneck: FeatureInteraction(h, c, emb)           c tiled over the grid, concatenated
         decoder level k: ↑2, [h ; skip_k] → ResBlock(·, emb) [+ T-F attention]
      └─ GroupNorm → SiLU → ConvTranspose s×s, stride s ──▶ v̂ (B, 1, F, T)

    emb = MLP(sinusoidal(t)) + Linear(c)         used by *every* ResBlock (scale and shift
                                                 of its second normalisation)

What comes from DAVIS: the mixture concatenated to x_t at the input; ResNet blocks
that read the timestep embedding; attention along time and along frequency at
the low resolutions (their "CA block"); the guide (DAVIS: a visual feature; here
the class feature g_i) replicated over the bottleneck grid and concatenated with
the mixture's features (their Feature Interaction Module).

Our choices, for speed on two CPU cores: a 2×2 patch stem (every layer then runs on
a quarter of the bins), one ResBlock per level, nearest-neighbour upsampling
without a convolution, and the condition also added to the timestep embedding —
the usual class-conditional diffusion trick, so the decoder's high-resolution
blocks hear which source is wanted, not only the bottleneck.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of the diffusion step (Transformer positions, as in DDPM): (B,) → (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :]  # (B, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # (B, 2·half)


def _norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 8 groups (it works at batch 1, unlike BatchNorm)."""
    return nn.GroupNorm(math.gcd(8, channels), channels)


class ResBlock(nn.Module):
    """(B, C_in, F, T), emb (B, E) → (B, C_out, F, T).

    GN → SiLU → Conv3×3 → GN·(1 + scale) + shift → SiLU → Conv3×3, plus a (1×1) skip;
    (scale, shift) = Linear(SiLU(emb)): the timestep and the condition steer every block.
    """

    def __init__(self, in_channels: int, out_channels: int, emb_dim: int) -> None:
        super().__init__()
        self.norm1 = _norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.emb_proj = nn.Linear(emb_dim, 2 * out_channels)
        self.norm2 = _norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # the block starts as the identity (its skip)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb_proj(F.silu(emb))[:, :, None, None].chunk(2, dim=1)  # (B, 2C) → 2 × (B, C, 1, 1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(F.silu(h))


class AxialAttention(nn.Module):
    """Multi-head self-attention along one axis of (B, C, F, T): "time" (each frequency row
    attends over its T frames) or "freq" (each frame attends over its F bins).

    Pre-norm with a LayerNorm over channels (per bin, so that a row's output depends on
    that row alone), residual.
    """

    def __init__(self, channels: int, heads: int, axis: str) -> None:
        super().__init__()
        if axis not in ("time", "freq"):
            raise ValueError(f"axis must be 'time' or 'freq', not {axis!r}")
        if channels % heads:
            raise ValueError(f"{channels} channels do not split into {heads} heads")
        self.axis, self.heads = axis, heads
        self.norm = nn.LayerNorm(channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)
        nn.init.zeros_(self.out.weight)  # starts as the identity
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, Fq, T = x.shape
        if self.axis == "time":
            seq = x.permute(0, 2, 3, 1).reshape(B * Fq, T, C)  # (B, C, F, T) → (B·F, T, C): one sequence per row
        else:
            seq = x.permute(0, 3, 2, 1).reshape(B * T, Fq, C)  # (B, C, F, T) → (B·T, F, C): one per frame
        seq = self.norm(seq)
        n, L, _ = seq.shape
        # (n, L, 3C) → 3 × (n, heads, L, C/heads)
        q, k, v = self.qkv(seq).reshape(n, L, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(q, k, v)  # (n, heads, L, C/heads)
        att = self.out(att.transpose(1, 2).reshape(n, L, C))  # heads back together: (n, L, C)
        if self.axis == "time":
            att = att.reshape(B, Fq, T, C).permute(0, 3, 1, 2)  # (B·F, T, C) → (B, C, F, T)
        else:
            att = att.reshape(B, T, Fq, C).permute(0, 3, 2, 1)  # (B·T, F, C) → (B, C, F, T)
        return x + att


class TimeFrequencyAttention(nn.Module):
    """DAVIS's CA block, as axial attention: along time, then along frequency. (B, C, F, T) → same.

    Full attention over all F·T bins would cost (F·T)²; two axial passes cost
    F·T² + T·F², and after both every bin has heard every other (via its row and column).
    """

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.time = AxialAttention(channels, heads, "time")
        self.freq = AxialAttention(channels, heads, "freq")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.freq(self.time(x))


class FeatureInteraction(nn.Module):
    """DAVIS's Feature Interaction Module at the bottleneck: (B, C, f, t), cond (B, Dc), emb → (B, C, f, t).

    The condition is projected to `cond_channels`, replicated over the (f, t) grid and
    concatenated with the mixture's features; a 1×1 conv fuses them, then a ResBlock
    and time-frequency attention let the fused features interact across the grid.
    """

    def __init__(self, channels: int, cond_dim: int, cond_channels: int, emb_dim: int, heads: int) -> None:
        super().__init__()
        self.cond_proj = nn.Linear(cond_dim, cond_channels)
        self.fuse = nn.Conv2d(channels + cond_channels, channels, 1)
        self.block = ResBlock(channels, channels, emb_dim)
        self.attention = TimeFrequencyAttention(channels, heads)

    def forward(self, h: torch.Tensor, cond: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        B, _, f, t = h.shape
        c = self.cond_proj(cond)[:, :, None, None].expand(-1, -1, f, t)  # (B, Dc) → (B, cond_channels, f, t)
        h = self.fuse(torch.cat([h, c], dim=1))  # concatenate along channels, fuse back to C
        return self.attention(self.block(h, emb))


class SeparationUNet(nn.Module):
    """The denoiser: x_t (B, 1, F, T), t (B,), mixture (B, 1, F, T), cond (B, Dc) → prediction (B, 1, F, T).

    Args:
        cond_dim: width of the condition vector c (D of SGN's g_i, or of a class embedding).
        channels: width of the first level; level k has channels · 2^k.
        levels: number of resolutions; F/stem and T/stem must be divisible by 2^(levels−1).
        attention_levels: the lowest this many levels get a T-F attention block (the bottleneck always has one).
        stem: patch size of the input stem.
    """

    def __init__(self, cond_dim: int, channels: int = 32, levels: int = 3, attention_levels: int = 2,
                 stem: int = 2, emb_dim: int = 128, cond_channels: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.levels, self.stem, self.emb_dim = levels, stem, emb_dim
        widths = [channels * 2**k for k in range(levels)]
        attend = [k >= levels - attention_levels for k in range(levels)]
        self.time_mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.cond_mlp = nn.Sequential(nn.LayerNorm(cond_dim), nn.Linear(cond_dim, emb_dim))
        self.stem_in = nn.Conv2d(2, channels, kernel_size=stem, stride=stem)  # [x_t ; mixture] → patches
        self.down = nn.ModuleList()
        self.down_attn = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c_prev = channels
        for k in range(levels):
            self.down.append(ResBlock(c_prev, widths[k], emb_dim))
            self.down_attn.append(TimeFrequencyAttention(widths[k], heads) if attend[k] else nn.Identity())
            if k < levels - 1:
                self.downsample.append(nn.Conv2d(widths[k], widths[k], 3, stride=2, padding=1))
            c_prev = widths[k]
        self.interaction = FeatureInteraction(widths[-1], cond_dim, cond_channels, emb_dim, heads)
        self.up = nn.ModuleList()
        self.up_attn = nn.ModuleList()
        for k in reversed(range(levels)):
            c_in = widths[-1] if k == levels - 1 else widths[k + 1]  # from the level below
            self.up.append(ResBlock(c_in + widths[k], widths[k], emb_dim))  # [h ; skip_k]
            self.up_attn.append(TimeFrequencyAttention(widths[k], heads) if attend[k] else nn.Identity())
        self.out_norm = _norm(channels)
        self.stem_out = nn.ConvTranspose2d(channels, 1, kernel_size=stem, stride=stem)  # patches → bins
        nn.init.zeros_(self.stem_out.weight)  # predicts 0 at first
        nn.init.zeros_(self.stem_out.bias)

    def check_grid(self, F_: int, T: int) -> None:
        """Raise a ValueError unless the (F, T) grid fits the stem and the levels."""
        factor = self.stem * 2 ** (self.levels - 1)
        if F_ % factor or T % factor:
            raise ValueError(f"the Separation U-Net (stem {self.stem}, {self.levels} levels) needs F and T divisible "
                             f"by {factor}, got F={F_}, T={T}")

    def embed(self, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """emb = MLP(sinusoidal(t)) + Linear(LayerNorm(c)): (B,), (B, Dc) → (B, E)."""
        return self.time_mlp(timestep_embedding(t, self.emb_dim)) + self.cond_mlp(cond)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, mixture: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        emb = self.embed(t, cond)
        h = self.stem_in(torch.cat([x_t, mixture], dim=1))  # (B, 2, F, T) → (B, ch, F/s, T/s)
        skips = []
        for k in range(self.levels):
            h = self.down_attn[k](self.down[k](h, emb))
            skips.append(h)
            if k < self.levels - 1:
                h = self.downsample[k](h)  # halve F and T
        h = self.interaction(h, cond, emb)
        for j, k in enumerate(reversed(range(self.levels))):
            if k < self.levels - 1:
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")  # double F and T
            h = self.up_attn[j](self.up[j](torch.cat([h, skips[k]], dim=1), emb))
        return self.stem_out(F.silu(self.out_norm(h)))  # (B, ch, F/s, T/s) → (B, 1, F, T)


__all__ = ["timestep_embedding", "ResBlock", "AxialAttention", "TimeFrequencyAttention", "FeatureInteraction",
           "SeparationUNet"]
