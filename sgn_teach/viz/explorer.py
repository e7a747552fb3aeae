"""Figures of one example mixture seen through a class-conditioned separator (notebook 04's explorer).

Every function takes the dict of :func:`sgn_teach.inference.example.separate_example`
(or its arrays) and returns a matplotlib Figure (or an IPython widget); none of them
runs a model, so they can be tested without one:
:func:`plot_assignment_maps`, :func:`plot_presence`, :func:`plot_class_masks`,
:func:`plot_example_spectrograms`, :func:`example_players`, :func:`example_figures`,
:func:`show_example`. The interactive panel that calls them is
:func:`sgn_teach.widgets.explorer.mixture_explorer`.

Shapes: C classes, F × T the warped grid, F' × T' the patch grid, L samples.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..core.config import SAMPLE_RATE
from .plots import db, hz_ticks, listening_panel, plt, to_numpy  # viz picks the matplotlib backend before pyplot loads

PRESENT_COLOR = "tab:red"  # frames and labels of the classes that are really in the mixture
# owner maps: the classes in the mixture get two colours nobody confuses; the others distinct pale ones
OWNER_PRESENT_COLORS = ("#d62728", "#1f77b4", "#2ca02c")
OWNER_OTHER_COLORS = ("#fdb462", "#b3de69", "#fccde5", "#bc80bd", "#ccebc5", "#ffed6f", "#8dd3c7", "#bebada",
                      "#d9d9d9", "#e5c494", "#80b1d3", "#fb8072", "#c7e9c0")


def owner_colors(class_names: Sequence[str], present: Sequence[str] = ()) -> list[str]:
    """One colour per class for an owner map: strong, contrasting ones (red, blue, green) for the classes
    in the mixture, pale distinct ones for the rest — never two shades of one hue for the two in the mix."""
    strong, pale = iter(OWNER_PRESENT_COLORS), iter(OWNER_OTHER_COLORS * 4)
    return [next(strong, "#000000") if n in present else next(pale) for n in class_names]


def _extent(shape: tuple[int, int], sample_rate: int, hop_length: int) -> list[float]:
    n_f, n_t = shape
    return [0, n_t * hop_length / sample_rate, 0, n_f]


def _mark(ax, present: bool) -> None:
    """A red frame around the panel of a class that is really in the mixture."""
    if present:
        for side in ax.spines.values():
            side.set_edgecolor(PRESENT_COLOR)
            side.set_linewidth(2.5)


def _grid(n: int, ncols: int, size: tuple[float, float] = (2.6, 2.0)):
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False,
                             sharex=True, sharey=True, layout="constrained")
    return fig, list(axes.flat)


def _label_grid(axes: list, n_used: int, ncols: int, n_rows_freq: int, sample_rate: int) -> None:
    """Axis labels on a shared grid: time on the bottom panels, frequency in Hz on the left ones."""
    hz_ticks(axes[0], n_rows_freq, sample_rate)   # y is shared: every panel gets the Hz ticks
    for k, ax in enumerate(axes[:n_used]):
        ax.set_ylabel("frequency (Hz)" if k % ncols == 0 else "", fontsize=7)
        last_in_column = k + ncols >= n_used
        ax.set_xlabel("time (s)" if last_in_column else "", fontsize=7)
        if last_in_column:
            ax.xaxis.set_tick_params(labelbottom=True)


def plot_assignment_maps(log_mag, assign_maps, class_names: Sequence[str], present: Sequence[str] = (),
                         owner: bool = True, ncols: int = 4, sample_rate: int = SAMPLE_RATE, hop_length: int = 256,
                         title: str = "assignment A[:, i] over the mixture"):
    """One panel per class: its assignment map over the mixture's warped spectrogram.

    Args:
        log_mag: (F, T) the network input (drawn in grey).
        assign_maps: (C, F', T') maps (patch grid or full grid; stretched over the panel).
        present: names of the classes in the mixture: framed and labelled in red.
        owner: add a panel that colours each patch by the class with the largest A (argmax over i).
    """
    bg = to_numpy(log_mag)
    maps = to_numpy(assign_maps)
    C = maps.shape[0]
    extent = _extent(bg.shape, sample_rate, hop_length)
    fig, axes = _grid(C + int(owner), ncols)
    vmax = float(maps.max()) or 1.0   # one colour scale for every class, so panels compare
    im = None
    for i, ax in enumerate(axes[:C]):
        ax.imshow(bg, origin="lower", aspect="auto", cmap="gray", extent=extent, interpolation="nearest")
        im = ax.imshow(maps[i], origin="lower", aspect="auto", cmap="inferno", alpha=0.65, vmin=0, vmax=vmax,
                       extent=extent, interpolation="nearest")
        is_present = class_names[i] in present
        ax.set_title(class_names[i] + (" (in mix)" if is_present else ""), fontsize=9,
                     color=PRESENT_COLOR if is_present else "black")
        _mark(ax, is_present)
    if owner:
        from matplotlib.colors import to_rgba

        ax = axes[C]
        colors = np.array([to_rgba(c) for c in owner_colors(class_names, present)])   # (C, 4)
        owner_idx = maps.argmax(axis=0)                              # (F', T'): the class that owns each patch
        ax.imshow(bg, origin="lower", aspect="auto", cmap="gray", extent=extent, interpolation="nearest")
        ax.imshow(colors[owner_idx], origin="lower", aspect="auto", alpha=0.8, extent=extent, interpolation="nearest")
        ax.set_title("owner: argmax_i A", fontsize=9)
        owners = sorted(np.unique(owner_idx).tolist(), key=lambda i: (class_names[i] not in present, i))
        ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=colors[i]) for i in owners],
                  labels=[class_names[i] + (" (in mix)" if class_names[i] in present else "") for i in owners],
                  fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), framealpha=0.9, handlelength=1)
    for ax in axes[C + int(owner):]:
        ax.axis("off")
    for ax in axes:
        ax.tick_params(labelsize=7)
    _label_grid(axes, C + int(owner), ncols, bg.shape[0], sample_rate)
    fig.suptitle(title, fontsize=10)
    if im is not None:
        fig.colorbar(im, ax=axes, shrink=0.6, label="A")
    return fig


def plot_presence(presence, class_names: Sequence[str], present: Sequence[str] = (), threshold: float = 0.5):
    """Bar chart of the presence probabilities p_i; the true classes are red and starred."""
    p = to_numpy(presence)
    colors = [PRESENT_COLOR if n in present else "tab:blue" for n in class_names]
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.bar(range(len(p)), p, color=colors)
    ax.axhline(threshold, ls="--", color="gray", lw=1)
    ax.text(len(p) - 0.5, threshold, f" threshold {threshold}", va="bottom", ha="right", fontsize=8, color="gray")
    ax.set_xticks(range(len(p)))
    ax.set_xticklabels([("★ " if n in present else "") + n for n in class_names], rotation=45, ha="right", fontsize=8)
    for tick, n in zip(ax.get_xticklabels(), class_names):
        if n in present:
            tick.set_color(PRESENT_COLOR)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("p_i = sigmoid(presence logit)")
    ax.set_title("presence head: is class i in the mixture? (red ★ = really in it)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_class_masks(masks_all, class_names: Sequence[str], present: Sequence[str] = (), ncols: int = 4,
                     sample_rate: int = SAMPLE_RATE, hop_length: int = 256, title: str = "sigmoid(mask_logits) of every class"):
    """One panel per class: its mask (F, T) in [0, 1]; the true classes framed in red."""
    masks = to_numpy(masks_all)
    extent = _extent(masks.shape[1:], sample_rate, hop_length)
    fig, axes = _grid(len(masks), ncols)
    im = None
    for i, ax in enumerate(axes[:len(masks)]):
        im = ax.imshow(masks[i], origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1, extent=extent,
                       interpolation="nearest")
        is_present = class_names[i] in present
        ax.set_title(class_names[i] + (" (in mix)" if is_present else ""), fontsize=9,
                     color=PRESENT_COLOR if is_present else "black")
        ax.tick_params(labelsize=7)
        _mark(ax, is_present)
    for ax in axes[len(masks):]:
        ax.axis("off")
    _label_grid(axes, len(masks), ncols, masks.shape[1], sample_rate)
    fig.suptitle(title, fontsize=10)
    if im is not None:
        fig.colorbar(im, ax=axes, shrink=0.6, label="mask")
    return fig


def plot_example_spectrograms(ex: dict[str, Any], hop_length: int = 256):
    """The example on the warped grid: mixture and network input; per class its solo spectrogram,
    the ideal binary mask (the training target) and the model's mask.

    The mixture and the solo spectrograms share one dB scale (0 dB = the mixture's loudest bin); the
    masks share 0…1. Frequencies in Hz on the log-spaced rows."""
    sr = ex["sample_rate"]
    fig, axes = plt.subplots(2, 4, figsize=(12.5, 5), sharex=True, sharey=True, layout="constrained")
    extent = _extent(ex["log_mag"].shape, sr, hop_length)
    ref = float(to_numpy(ex["mag_warped"]).max())

    def draw(ax, img, title, cmap="magma", lim=(-80, 0)):
        im = ax.imshow(img, origin="lower", aspect="auto", cmap=cmap, extent=extent, interpolation="nearest",
                       vmin=lim[0] if lim else None, vmax=lim[1] if lim else None)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        return im

    im_db = draw(axes[0, 0], db(ex["mag_warped"], ref=ref), "mixture (dB)")
    im_in = draw(axes[1, 0], ex["log_mag"], "network input log|X|", cmap="gray", lim=None)
    im_mask = None
    for row, name in enumerate(ex["names"]):
        draw(axes[row, 1], db(ex["source_mag_warped"][row], ref=ref), f"{name} alone (dB)")
        draw(axes[row, 2], ex["target"][row], f"ideal mask: {name}", cmap="viridis", lim=(0, 1))
        im_mask = draw(axes[row, 3], ex["masks"][row], f"model's mask: {name}", cmap="viridis", lim=(0, 1))
    hz_ticks(axes[0, 0], ex["log_mag"].shape[0], sr)
    for ax in axes[:, 0]:
        ax.set_ylabel("frequency (Hz)", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize=8)
    fig.colorbar(im_db, ax=axes[:, 1], shrink=0.8, label="dB re mixture max")
    fig.colorbar(im_in, ax=axes[1, 0], shrink=0.8, label="log|X|")
    fig.colorbar(im_mask, ax=axes[:, 3], shrink=0.8, label="mask")
    return fig


def example_players(ex: dict[str, Any]):
    """A listening panel: mixture; SGN estimates; references (columns: the two classes)."""
    a, b = ex["names"]
    return listening_panel({"mixture": [ex["mixture"]],
                            f"SGN estimates ({a} | {b})": list(ex["estimates"]),
                            f"references ({a} | {b})": list(ex["sources"])}, sample_rate=ex["sample_rate"])


def wav_bytes(wave, sample_rate: int) -> bytes:
    """A wave (L,) as the bytes of a peak-normalised 16-bit WAV file (for `ipywidgets.Audio`)."""
    from IPython.display import Audio

    return Audio(to_numpy(wave).astype(np.float32), rate=sample_rate, normalize=True).data


def example_figures(ex: dict[str, Any]) -> dict[str, Any]:
    """The figures of one example: `spectrograms`, `assignment` and `presence` (if the model has them), `masks`."""
    present = ex["names"]
    figs = {"spectrograms": plot_example_spectrograms(ex)}
    if ex["assign"] is not None:
        figs["assignment"] = plot_assignment_maps(ex["log_mag"], ex["assign"], ex["class_names"], present,
                                                  sample_rate=ex["sample_rate"])
    if ex["presence"] is not None:
        figs["presence"] = plot_presence(ex["presence"], ex["class_names"], present)
    figs["masks"] = plot_class_masks(ex["masks_all"], ex["class_names"], present, sample_rate=ex["sample_rate"])
    return figs


def figure_png(fig, dpi: int = 80) -> bytes:
    """Render a figure to PNG bytes (for `ipywidgets.Image`) and close it."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def show_example(ex: dict[str, Any], players: bool = True) -> None:
    """Display everything about one example: players (unless `players=False`) and figures (closed after display)."""
    from IPython.display import display

    if players:
        display(example_players(ex))
    for fig in example_figures(ex).values():
        display(fig)
        plt.close(fig)


__all__ = ["PRESENT_COLOR", "owner_colors", "plot_assignment_maps", "plot_presence", "plot_class_masks",
           "plot_example_spectrograms", "example_players", "example_figures", "figure_png", "wav_bytes", "show_example"]
