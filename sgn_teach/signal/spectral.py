"""SoP's spectral front-end: STFT, log-frequency warp, masks, inverse STFT.

The pipeline (Zhao et al., *The Sound of Pixels*, kept exactly):

    wave (B, L) ──STFT──▶ X (B, F_lin, T) complex, F_lin = 512, T = 256
      |X| (B, 1, F_lin, T) ──warp──▶ (B, 1, F, T), F = 256 log-frequency bins
      log(|X_warped| + eps) is the network input
    mask on the warped grid (B, N, F, T) ──unwarp──▶ (B, N, F_lin, T)
      × |X| and the *mixture* phase ──iSTFT──▶ estimates (B, N, L)

The warp resamples the frequency axis with `grid_sample` (align_corners=True):
output row y ∈ [-1, 1] reads input row (21^((y+1)/2) − 11) / 10, so low
frequencies get many rows and high frequencies few — as the ear hears.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchaudio

from ..core.config import AudioConfig

EPS = 1e-10  # inside log(magnitude + eps)


def warp_grid(n_freq_out: int, n_frames: int, warp: bool = True, device: torch.device | str = "cpu") -> torch.Tensor:
    """Sampling grid for `grid_sample`: (1, n_freq_out, n_frames, 2) with (x=time, y=frequency).

    warp=True maps a linear axis to the log-frequency axis; warp=False is the
    inverse map, from the log axis back to a linear one.
    """
    x = torch.linspace(-1.0, 1.0, n_frames, device=device)
    y = torch.linspace(-1.0, 1.0, n_freq_out, device=device, dtype=torch.float64)
    if warp:
        y_src = (torch.pow(21.0, (y + 1) / 2) - 11) / 10  # SoP's warp
    else:
        y_src = torch.log(y * 10 + 11) / torch.log(torch.tensor(21.0, dtype=torch.float64)) * 2 - 1  # its inverse
    y_src = y_src.float()
    grid_y, grid_x = torch.meshgrid(y_src, x, indexing="ij")  # both (n_freq_out, n_frames)
    return torch.stack([grid_x, grid_y], dim=-1).unsqueeze(0)  # (1, F_out, T, 2), last dim (x, y)


def _resample_freq(x: torch.Tensor, n_freq_out: int, warp: bool) -> torch.Tensor:
    """Resample the frequency axis of (B, C, F_in, T) to (B, C, n_freq_out, T)."""
    B, _, _, T = x.shape
    grid = warp_grid(n_freq_out, T, warp=warp, device=x.device).to(x.dtype).expand(B, -1, -1, -1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def warp(x_linear: torch.Tensor, n_freq_warped: int = 256) -> torch.Tensor:
    """Linear-frequency (B, C, F_lin, T) → log-frequency (B, C, F, T)."""
    return _resample_freq(x_linear, n_freq_warped, warp=True)


def unwarp(x_warped: torch.Tensor, n_freq_linear: int = 512) -> torch.Tensor:
    """Log-frequency (B, C, F, T) → linear-frequency (B, C, F_lin, T)."""
    return _resample_freq(x_warped, n_freq_linear, warp=False)


def log_magnitude(mag: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """The network input: log(|X| + eps), any shape."""
    return torch.log(mag + eps)


class SpectralFrontEnd(torch.nn.Module):
    """STFT / iSTFT with SoP's parameters (torchaudio `Spectrogram`, `InverseSpectrogram`).

    A module so that its Hann window follows `.to(device)`.
    """

    def __init__(self, cfg: AudioConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or AudioConfig()
        c = self.cfg
        self.spec = torchaudio.transforms.Spectrogram(
            n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.n_fft, power=None, center=True, pad_mode="reflect")
        self.ispec = torchaudio.transforms.InverseSpectrogram(
            n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.n_fft, center=True, pad_mode="reflect")

    def stft(self, wave: torch.Tensor) -> torch.Tensor:
        """(..., L) real → (..., F_lin, T) complex."""
        return self.spec(wave)

    def istft(self, spec: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """(..., F_lin, T) complex → (..., L) real; length defaults to cfg.n_samples."""
        return self.ispec(spec, length=length or self.cfg.n_samples)

    def analyse(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything the model and the evaluation need from a mixture wave.

        Args:
            wave: (B, L) mixture.

        Returns:
            dict with `stft` (B, F_lin, T) complex, `mag` (B, 1, F_lin, T),
            `mag_warped` (B, 1, F, T) and `log_mag` (B, 1, F, T), the network input.
        """
        spec = self.stft(wave)                    # (B, F_lin, T) complex
        mag = spec.abs().unsqueeze(1)             # (B, 1, F_lin, T): a channel axis for grid_sample
        mag_w = warp(mag, self.cfg.n_freq_warped)  # (B, 1, F, T)
        return {"stft": spec, "mag": mag, "mag_warped": mag_w, "log_mag": log_magnitude(mag_w)}

    def warped_magnitude(self, wave: torch.Tensor) -> torch.Tensor:
        """(..., L) → (..., F, T): |STFT| on the log-frequency grid (for the sources)."""
        lead = wave.shape[:-1]
        mag = self.stft(wave.reshape(-1, wave.shape[-1])).abs()   # (prod(lead), F_lin, T)
        mag_w = warp(mag.unsqueeze(1), self.cfg.n_freq_warped)     # (prod(lead), 1, F, T)
        return mag_w.reshape(*lead, *mag_w.shape[-2:])            # back to (..., F, T)

    def apply_masks(self, masks_warped: torch.Tensor, mix_stft: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Turn warped-grid masks into waves, with the mixture's magnitude and phase.

        Args:
            masks_warped: (B, N, F, T) masks in [0, 1] on the log-frequency grid.
            mix_stft: (B, F_lin, T) complex mixture STFT.

        Returns:
            (B, N, L) estimated source waves.
        """
        masks_lin = unwarp(masks_warped, self.cfg.n_freq_linear)  # (B, N, F_lin, T)
        return self.apply_linear_masks(masks_lin, mix_stft, length)

    def apply_linear_masks(self, masks_lin: torch.Tensor, mix_stft: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Masks already on the linear grid (B, N, F_lin, T) → (B, N, L) waves with the mixture phase."""
        est = masks_lin * mix_stft.unsqueeze(1)  # (B, 1, F_lin, T): the mask scales |X|, the phase stays the mixture's
        B, N = est.shape[:2]
        waves = self.istft(est.reshape(B * N, *est.shape[2:]), length)  # fold N into the batch for the iSTFT
        return waves.reshape(B, N, -1)  # (B, N, L)
