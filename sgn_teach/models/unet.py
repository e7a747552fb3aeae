"""The Sound-of-Pixels U-Net (Zhao et al. 2018, `Unet` in their models/audio_net.py).

It turns the log-magnitude spectrogram (B, 1, F, T) into a feature map
(B, D, F, T): one D-dimensional vector per time-frequency bin. SoP reads masks
straight out of it; SGN takes the inner product of each bin's vector with a
class feature g_i (the "light reconstruction" of sgn.py).

Structure, for `levels` = L (7 in the paper, widths ngf·[1, 2, 4, 8, 8, 8, 8]):

    x ─BN─▶ down_0 ─▶ down_1 ─▶ … ─▶ down_{L-1}          each down halves F and T
               │         │                 │
               └─skip─┐  └─skip─┐          ▼
                      ▼         ▼       up_{L-1}          each up doubles F and T
    out ◀─ up_0 ◀─ [d_0; u_1] ◀─ … ◀─ [d_{L-2}; u_{L-1}]

    down_k: LeakyReLU(0.2) → Conv 4×4 stride 2 → BN
            (outermost k=0: no activation before, no BN; innermost k=L-1: no BN)
    up_k:   ReLU → Upsample ×2 (bilinear, align_corners=True) → Conv 3×3 → BN
            (outermost k=0: outputs `out_channels`, with a bias and no BN)

As in SoP, convolutions followed by BN have no bias. SoP builds the net
recursively (a block wraps its inner block); here the same layers are held in
two flat lists, which is easier to read and gives the same function.
"""

from __future__ import annotations

import torch
from torch import nn


def _log(trace: list[tuple[str, tuple[int, ...]]] | None, name: str, t: torch.Tensor) -> None:
    """Append (name, shape) to a shape trace, when one is being recorded."""
    if trace is not None:
        trace.append((name, tuple(t.shape)))


def unet_widths(ngf: int, levels: int) -> list[int]:
    """Channels after each down block: min(ngf·2^k, ngf·8) for k = 0…levels-1."""
    return [min(ngf * 2**k, ngf * 8) for k in range(levels)]


class DownBlock(nn.Sequential):
    """(B, C_in, F, T) → (B, C_out, F/2, T/2): [LeakyReLU] → Conv 4×4 s2 p1 → [BN]."""

    def __init__(self, in_channels: int, out_channels: int, outermost: bool = False, innermost: bool = False) -> None:
        layers: list[nn.Module] = []
        if not outermost:
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=False))
        if not (outermost or innermost):
            layers.append(nn.BatchNorm2d(out_channels))
        super().__init__(*layers)


class UpBlock(nn.Sequential):
    """(B, C_in, F, T) → (B, C_out, 2F, 2T): ReLU → Upsample ×2 → Conv 3×3 p1 → [BN]."""

    def __init__(self, in_channels: int, out_channels: int, outermost: bool = False) -> None:
        layers: list[nn.Module] = [
            nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=outermost),
        ]
        if not outermost:
            layers.append(nn.BatchNorm2d(out_channels))
        super().__init__(*layers)


class UNet(nn.Module):
    """SoP's U-Net: log-magnitude (B, in_channels, F, T) → features (B, out_channels, F, T).

    Args:
        in_channels: input channels (1: the log-magnitude spectrogram).
        out_channels: output channels; D for SGN, N masks for SoP without vision.
        ngf: channels of the first level (64 in the paper).
        levels: number of stride-2 down blocks (and of up blocks); F and T must
            be divisible by 2**levels (7 levels: 128).
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 256, ngf: int = 64, levels: int = 7) -> None:
        super().__init__()
        if levels < 1:
            raise ValueError(f"the U-Net needs at least one level, not {levels}")
        self.levels = levels
        widths = unet_widths(ngf, levels)
        self.input_norm = nn.BatchNorm2d(in_channels)  # SoP's bn0 on the raw log-magnitude

        self.down = nn.ModuleList()
        for k in range(levels):
            c_in = in_channels if k == 0 else widths[k - 1]
            self.down.append(DownBlock(c_in, widths[k], outermost=k == 0, innermost=k == levels - 1))

        self.up = nn.ModuleList()
        for k in range(levels):
            # the innermost up block reads only the bottleneck; the others read
            # [skip d_k ; u_{k+1}], both with widths[k] channels
            c_in = widths[k] if k == levels - 1 else 2 * widths[k]
            c_out = out_channels if k == 0 else widths[k - 1]
            self.up.append(UpBlock(c_in, c_out, outermost=k == 0))

    def check_grid(self, F: int, T: int) -> None:
        """Raise a ValueError unless F and T are divisible by 2**levels."""
        factor = 2**self.levels
        if F % factor or T % factor:
            raise ValueError(
                f"the U-Net with {self.levels} levels needs F and T divisible by {factor}, "
                f"got F={F}, T={T}; change the grid (n_freq_warped, n_samples/hop) or unet_levels")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, F, T) → (B, out_channels, F, T)."""
        return self._run(x, trace=None)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The down path alone: (B, in_channels, F, T) → skips [d_0 … d_{L-1}], d_k (B, widths[k], F/2^(k+1), T/2^(k+1))."""
        return self._encode(x, trace=None)

    def decode(self, skips: list[torch.Tensor], stop_before_last_conv: bool = False) -> torch.Tensor:
        """The up path from the down path's outputs: ``decode(encode(x)) == forward(x)``; with
        `stop_before_last_conv`, ``== last_hidden(x)``. Lets a caller read the encoder's features once
        (SGN's `trunk` presence head reads the deepest) and still run the decoder on them."""
        return self._decode(skips, trace=None, stop_before_last_conv=stop_before_last_conv)

    @property
    def last_conv(self) -> nn.Conv2d:
        """The outermost 3×3 convolution that produces the output channels (with a bias)."""
        return self.up[0][2]

    def last_hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Everything but the last convolution: (B, in_channels, F, T) → h (B, 2·ngf, F, T).

        ``forward(x) == last_conv(last_hidden(x))``. SGN folds its class features into that last, linear
        layer (see :func:`sgn_teach.models.sgn.light_reconstruction`), from ``decode(skips, stop_before_last_conv=True)``.
        """
        return self._run(x, trace=None, stop_before_last_conv=True)

    def _run(self, x: torch.Tensor, trace: list[tuple[str, tuple[int, ...]]] | None,
             stop_before_last_conv: bool = False) -> torch.Tensor:
        return self._decode(self._encode(x, trace), trace, stop_before_last_conv)

    def _encode(self, x: torch.Tensor, trace: list[tuple[str, tuple[int, ...]]] | None) -> list[torch.Tensor]:
        self.check_grid(x.shape[-2], x.shape[-1])
        _log(trace, "input", x)
        h = self.input_norm(x)
        _log(trace, "input_norm", h)
        skips = []
        for k, block in enumerate(self.down):
            h = block(h)  # (B, widths[k], F/2^(k+1), T/2^(k+1))
            _log(trace, f"down_{k}", h)
            skips.append(h)
        return skips

    def _decode(self, skips: list[torch.Tensor], trace: list[tuple[str, tuple[int, ...]]] | None,
                stop_before_last_conv: bool = False) -> torch.Tensor:
        h = skips[-1]
        for k in reversed(range(self.levels)):
            if k < self.levels - 1:
                # skip connection: concatenate the down output of the same
                # resolution along channels, (B, w, f, t) + (B, w, f, t) → (B, 2w, f, t)
                h = torch.cat([skips[k], h], dim=1)
                _log(trace, f"skip_{k}", h)
            if k == 0 and stop_before_last_conv:
                return self.up[0][1](self.up[0][0](h))  # ReLU → Upsample: the input of the last 3×3 conv
            h = self.up[k](h)
            _log(trace, f"up_{k}", h)
        return h

    @torch.no_grad()
    def shape_trace(self, x: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
        """Layer-by-layer (name, shape) list for input `x` (B, in_channels, F, T)."""
        trace: list[tuple[str, tuple[int, ...]]] = []
        was_training = self.training
        self.eval()  # do not touch BatchNorm running statistics
        try:
            self._run(x, trace)
        finally:
            self.train(was_training)
        return trace

    def describe(self, x: torch.Tensor) -> str:
        """The shape trace as a printable table."""
        return "\n".join(f"{name:<12} {tuple(shape)}" for name, shape in self.shape_trace(x))
