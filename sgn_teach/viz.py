"""Figures and audio players for the notebooks, the demo and `separate`.

Everything returns a matplotlib Figure (or an IPython widget) and never calls
`plt.show()`, so the same functions serve notebooks and files.
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib

if matplotlib.get_backend().lower() not in ("module://matplotlib_inline.backend_inline", "nbagg", "widget", "ipympl"):
    matplotlib.use("Agg")  # files only, no display, unless a notebook already chose its backend
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def _np(x) -> np.ndarray:
    return x.detach().float().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def db(mag, floor: float = -80.0) -> np.ndarray:
    """Magnitude → dB relative to its maximum, floored: any shape."""
    m = _np(mag)
    return np.maximum(20 * np.log10(m / (m.max() + 1e-12) + 1e-12), floor)


def show_spectrogram(ax, mag, title: str = "", warped: bool = False, sample_rate: int = 11025,
                     hop_length: int = 256, cmap: str = "magma", db_scale: bool = True, vmin=None, vmax=None):
    """Draw one (F, T) magnitude (or mask) on `ax`, time in seconds on x."""
    img = db(mag) if db_scale else _np(mag)
    n_f, n_t = img.shape
    extent = [0, n_t * hop_length / sample_rate, 0, n_f if warped else sample_rate / 2]
    im = ax.imshow(img, origin="lower", aspect="auto", cmap=cmap, extent=extent, vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("log-frequency bin" if warped else "frequency (Hz)")
    return im


def plot_spectrograms(mags: Sequence, titles: Sequence[str], warped: bool = False, db_scale: bool = True,
                      cmap: str = "magma", sample_rate: int = 11025, hop_length: int = 256, ncols: int | None = None,
                      vmin=None, vmax=None):
    """A row (or grid) of spectrograms / masks, each (F, T)."""
    n = len(mags)
    ncols = ncols or n
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.8 * nrows), squeeze=False)
    for ax, m, t in zip(axes.flat, mags, titles):
        show_spectrogram(ax, m, t, warped=warped, sample_rate=sample_rate, hop_length=hop_length, cmap=cmap,
                         db_scale=db_scale, vmin=vmin, vmax=vmax)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_waveforms(waves: Sequence, titles: Sequence[str], sample_rate: int = 11025):
    """Waveforms stacked vertically, each (L,)."""
    fig, axes = plt.subplots(len(waves), 1, figsize=(9, 1.5 * len(waves)), sharex=True, squeeze=False)
    for ax, w, t in zip(axes[:, 0], waves, titles):
        w = _np(w)
        ax.plot(np.arange(len(w)) / sample_rate, w, lw=0.5)
        ax.set_ylabel(t, rotation=0, ha="right", fontsize=8)
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def plot_history(history: dict[str, Any]):
    """Training curves: loss parts per step (smoothed) and validation SDR."""
    train = history.get("train", [])
    val = history.get("val", [])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    if train:
        steps = np.array([r["step"] for r in train])
        k = max(1, len(steps) // 50)
        for key in ("total", "rec", "ce", "presence"):
            vals = np.array([r.get(key, 0.0) for r in train], dtype=float)
            if np.allclose(vals, 0):
                continue
            smooth = np.convolve(vals, np.ones(k) / k, mode="valid")
            axes[0].plot(steps[k - 1:], smooth, label=key)
        axes[0].set_yscale("log")
        axes[0].legend(fontsize=8)
    axes[0].set_xlabel("step")
    axes[0].set_title("training loss (moving average)")
    if val:
        axes[1].plot([r["step"] for r in val], [r["sdr"] for r in val], "o-")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("SDR (dB)")
    axes[1].set_title("validation SDR")
    fig.tight_layout()
    return fig


def audio_player(wave, sample_rate: int = 11025, label: str = ""):
    """An HTML audio player for a notebook; `label` is shown above it."""
    from IPython.display import HTML, Audio

    w = _np(wave).astype(np.float32)
    audio = Audio(w, rate=sample_rate, normalize=True)
    if not label:
        return audio
    return HTML(f"<div style='font-size:90%'><b>{label}</b></div>{audio._repr_html_()}")


def listening_panel(rows: dict[str, Sequence], sample_rate: int = 11025):
    """A grid of players: {row label: [wave per column]}; returns an ipywidgets GridBox (or HTML)."""
    from IPython.display import HTML, Audio

    html = ["<table>"]
    for label, waves in rows.items():
        cells = "".join(f"<td>{Audio(_np(w).astype(np.float32), rate=sample_rate, normalize=True)._repr_html_()}</td>"
                        for w in waves)
        html.append(f"<tr><td><b>{label}</b></td>{cells}</tr>")
    html.append("</table>")
    return HTML("".join(html))
