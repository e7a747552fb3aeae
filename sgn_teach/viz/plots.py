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

from ..core.config import SAMPLE_RATE  # noqa: E402


def to_numpy(x) -> np.ndarray:
    """A tensor (any device, any float dtype; detached, as float32) or an array-like → a NumPy array."""
    return x.detach().float().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def db(mag, floor: float = -80.0, ref: float | None = None) -> np.ndarray:
    """Magnitude → dB relative to `ref` (default: its own maximum), floored: any shape.

    Pass one `ref` to several panels (e.g. the mixture's maximum) to draw them on one shared scale.
    """
    m = to_numpy(mag)
    top = float(m.max()) if ref is None else float(ref)
    return np.maximum(20 * np.log10(m / (top + 1e-12) + 1e-12), floor)


def warped_row_hz(n_rows: int, sample_rate: int = SAMPLE_RATE, n_fft: int = 1022) -> np.ndarray:
    """The frequency in Hz that each row of SoP's log-frequency grid reads: (n_rows,).

    Row r of F reads linear bin (F_lin − 1)·(21^{r/(F−1)} − 1)/20 (the warp of `sgn_teach.signal.spectral`).
    """
    n_lin = n_fft // 2 + 1
    r = np.arange(n_rows) / max(n_rows - 1, 1)
    return (n_lin - 1) * (21.0 ** r - 1) / 20 * sample_rate / n_fft


def hz_ticks(ax, n_rows: int, sample_rate: int = SAMPLE_RATE, n_fft: int = 1022,
             ticks_hz: Sequence[float] = (100, 200, 500, 1000, 2000, 4000)) -> None:
    """Label a warped (log-frequency) y axis of `n_rows` rows in Hz instead of row numbers."""
    hz = warped_row_hz(n_rows, sample_rate, n_fft)
    ticks = [h for h in ticks_hz if hz[1] <= h <= hz[-1]]
    ax.set_yticks(np.interp(ticks, hz, np.arange(n_rows)), [f"{h:g}" for h in ticks])
    ax.set_ylabel("frequency (Hz)")


def show_spectrogram(ax, mag, title: str = "", warped: bool = False, sample_rate: int = SAMPLE_RATE,
                     hop_length: int = 256, cmap: str = "magma", db_scale: bool = True, vmin=None, vmax=None,
                     ref: float | None = None, colorbar: bool = False, n_fft: int = 1022):
    """Draw one (F, T) magnitude (or mask) on `ax`, time in seconds on x, frequency in Hz on y.

    A warped (log-frequency) panel keeps its rows evenly spaced and labels them in Hz. `db_scale`
    draws 20·log10 relative to `ref` (default the panel's own maximum); `colorbar` adds its scale.
    """
    img = db(mag, ref=ref) if db_scale else to_numpy(mag)
    n_f, n_t = img.shape
    extent = [0, n_t * hop_length / sample_rate, -0.5 if warped else 0, n_f - 0.5 if warped else sample_rate / 2]
    im = ax.imshow(img, origin="lower", aspect="auto", cmap=cmap, extent=extent, vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("time (s)")
    if warped:
        hz_ticks(ax, n_f, sample_rate, n_fft)
    else:
        ax.set_ylabel("frequency (Hz)")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label="dB" if db_scale else None)
    return im


def plot_spectrograms(mags: Sequence, titles: Sequence[str], warped: bool = False, db_scale: bool = True,
                      cmap: str = "magma", sample_rate: int = SAMPLE_RATE, hop_length: int = 256, ncols: int | None = None,
                      vmin=None, vmax=None, shared_db: bool = False, colorbar: bool = True, n_fft: int = 1022):
    """A row (or grid) of spectrograms / masks, each (F, T), each with its colour scale.

    `shared_db=True` draws every panel in dB relative to the largest magnitude of them all (−80…0 dB), so
    that estimates and references are compared on one scale; otherwise each panel is relative to its own
    maximum. Masks: ``db_scale=False, vmin=0, vmax=1``.
    """
    n = len(mags)
    ncols = ncols or n
    nrows = int(np.ceil(n / ncols))
    ref = max(float(to_numpy(m).max()) for m in mags) if (shared_db and db_scale) else None
    if ref is not None:
        vmin, vmax = (-80.0 if vmin is None else vmin), (0.0 if vmax is None else vmax)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 2.8 * nrows), squeeze=False)
    for ax, m, t in zip(axes.flat, mags, titles):
        show_spectrogram(ax, m, t, warped=warped, sample_rate=sample_rate, hop_length=hop_length, cmap=cmap,
                         db_scale=db_scale, vmin=vmin, vmax=vmax, ref=ref, colorbar=colorbar, n_fft=n_fft)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_waveforms(waves: Sequence, titles: Sequence[str], sample_rate: int = SAMPLE_RATE):
    """Waveforms stacked vertically, each (L,)."""
    fig, axes = plt.subplots(len(waves), 1, figsize=(9, 1.5 * len(waves)), sharex=True, squeeze=False)
    for ax, w, t in zip(axes[:, 0], waves, titles):
        w = to_numpy(w)
        ax.plot(np.arange(len(w)) / sample_rate, w, lw=0.5)
        ax.set_ylabel(t, rotation=0, ha="right", fontsize=8)
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def plot_history(history: dict[str, Any]):
    """Training curves: every loss part per step (smoothed) and the first validation score (SDR for separators)."""
    train = history.get("train", [])
    val = history.get("val", [])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    if train:
        steps = np.array([r["step"] for r in train])
        k = max(1, len(steps) // 50)
        parts = [key for key in train[-1] if key not in ("step", "lr", "mix_rms", "seconds")]
        for key in sorted(parts, key=lambda p: p != "total"):  # the total first
            vals = np.array([r.get(key, 0.0) for r in train], dtype=float)
            if np.allclose(vals, 0) or np.any(vals < 0) or key.endswith("_acc"):
                continue  # a part that is off, or one that is not a loss (e.g. an accuracy)
            smooth = np.convolve(vals, np.ones(k) / k, mode="valid")
            axes[0].plot(steps[k - 1:], smooth, label=key)
        axes[0].set_yscale("log")
        axes[0].legend(fontsize=8)
    axes[0].set_xlabel("step")
    axes[0].set_title("training loss (moving average)")
    metric = "sdr" if val and "sdr" in val[-1] else next((key for key in (val[-1] if val else {}) if key != "step"), None)
    if metric is not None:
        axes[1].plot([r["step"] for r in val], [r.get(metric, np.nan) for r in val], "o-")
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("SDR (dB)" if metric == "sdr" else str(metric))
    axes[1].set_title(f"validation {'SDR' if metric == 'sdr' else metric or ''}")
    fig.tight_layout()
    return fig


def _audio(wave, sample_rate: int):
    """IPython's Audio of a wave (L,), scaled to full range — except a silent one (a missed source's estimate),
    which normalising would divide by zero, so it plays as the silence it is."""
    from IPython.display import Audio

    w = to_numpy(wave).astype(np.float32)
    return Audio(w, rate=sample_rate, normalize=bool(np.abs(w).max(initial=0.0) > 0))


def audio_player(wave, sample_rate: int = SAMPLE_RATE, label: str = ""):
    """An HTML audio player for a notebook; `label` is shown above it."""
    from IPython.display import HTML

    audio = _audio(wave, sample_rate)
    if not label:
        return audio
    return HTML(f"<div style='font-size:90%'><b>{label}</b></div>{audio._repr_html_()}")


def listening_panel(rows: dict[str, Sequence], sample_rate: int = SAMPLE_RATE):
    """A grid of players: {row label: [wave per column]}; returns an ipywidgets GridBox (or HTML)."""
    from IPython.display import HTML

    html = ["<table>"]
    for label, waves in rows.items():
        cells = "".join(f"<td>{_audio(w, sample_rate)._repr_html_()}</td>" for w in waves)
        html.append(f"<tr><td><b>{label}</b></td>{cells}</tr>")
    html.append("</table>")
    return HTML("".join(html))


def animation_html(anim, fig, fps: float = 2.0) -> str:
    """A matplotlib animation as an ``<img>`` of an animated GIF, embedded in the HTML itself.

    ``anim.to_jshtml()`` would give play buttons, but its page loads an icon font
    from a CDN, and the published course loads nothing from outside itself.
    The animation's figure `fig` is closed, so it does not also appear as a still.
    """
    import base64
    import tempfile
    from pathlib import Path

    from matplotlib.animation import PillowWriter

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "animation.gif"
        anim.save(str(path), writer=PillowWriter(fps=fps))
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    plt.close(fig)
    return f'<img src="data:image/gif;base64,{data}" alt="animation">'
