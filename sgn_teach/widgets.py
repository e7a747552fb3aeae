"""Look inside a class-conditioned separator: pick two instruments, mix, separate, look and listen.

Two layers, so the computation can be tested without a browser:

* plain functions that return arrays — :func:`mix_pair` (two solo crops → a
  mixture), :func:`separate_example` (the model's view of that mixture:
  spectrogram, assignment maps, presence, masks, estimates) and
  :func:`assignment_maps` (A (P, C) → one (F, T) map per class);
* figures built from them — :func:`plot_assignment_maps`,
  :func:`plot_presence`, :func:`plot_class_masks`, :func:`show_example` — and
  :func:`mixture_explorer`, an ipywidgets panel with two instrument dropdowns and
  a seed slider that redraws everything for the chosen pair.

Shapes: C classes, F × T the warped grid, P = (F/p)·(T/p) patches of p × p,
L samples.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from .core.config import AudioConfig
from .data import MixDataset, SoloLibrary, mix_features
from .signal.spectral import SpectralFrontEnd
from .viz import _np, db, hz_ticks, listening_panel, plt  # viz picks the matplotlib backend before pyplot loads

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


# ----------------------------------------------------------------------------- computation


def mix_pair(library: SoloLibrary, audio_cfg: AudioConfig, class_a: str, class_b: str,
             seed: int = 0) -> dict[str, Any]:
    """Mix one solo crop of `class_a` with one of `class_b`, as mix-and-separate does (each ÷ 2).

    The clip of each class and the crop offset are drawn from ``np.random.default_rng(seed)``,
    so a (library, classes, seed) triple always gives the same mixture.

    Returns:
        dict with `mixture` (L,) float32, `sources` (2, L) float32 (already ÷ 2, they sum to
        the mixture), `names` [class_a, class_b] and `clips` (the two clips' relative paths).
    """
    if class_a == class_b:
        raise ValueError(f"pick two different instruments (both are {class_a!r})")
    clips = []
    for name in (class_a, class_b):
        if name not in library.classes:
            raise ValueError(f"{name!r} is not a class of this library ({', '.join(library.classes)})")
        ci = library.classes.index(name)
        if ci not in library.by_class:
            raise ValueError(f"the {library.split!r} split of {library.root} has no clip of {name!r}")
        clips.append(library.by_class[ci])
    rng = np.random.default_rng(seed)
    # MixDataset's crop: a random n_samples window that is not near-silent (zero-padded if the clip is short)
    cropper = MixDataset(library, audio_cfg, n_sources=1, n_mixtures=1)
    crops, rels = [], []
    for choices in clips:
        clip = choices[int(rng.integers(len(choices)))]
        crops.append(cropper._crop(library.load(clip, audio_cfg.sample_rate), rng))
        rels.append(clip.rel)
    sources = np.stack(crops).astype(np.float32) / 2  # (2, L): each ÷ N, N = 2
    return {"mixture": sources.sum(axis=0), "sources": sources, "names": [class_a, class_b], "clips": rels}


def assignment_maps(assign: torch.Tensor | np.ndarray, grid: tuple[int, int], patch_size: int = 1) -> np.ndarray:
    """Grouping assignment A (P, C) → one map per class (C, F/p·s, T/p·s).

    Args:
        assign: A of one mixture, (P, C); patches are in frequency-major order
            (patch p = f_idx · T/p + t_idx, as `PatchEmbedding` flattens them).
        grid: the patch grid (F/p, T/p).
        patch_size: upsampling factor s (nearest neighbour): patch_size gives maps on the
            full (F, T) grid, 1 keeps the patch grid.
    """
    A = _np(assign)
    n_f, n_t = grid
    if A.ndim != 2 or A.shape[0] != n_f * n_t:
        raise ValueError(f"assign must be (P, C) with P = {n_f}·{n_t}, got {A.shape}")
    maps = A.T.reshape(A.shape[1], n_f, n_t)  # (P, C) → (C, P) → (C, F/p, T/p): row-major = frequency-major
    return maps.repeat(patch_size, axis=1).repeat(patch_size, axis=2)  # each patch becomes a p × p block


@torch.no_grad()
def separate_example(model: torch.nn.Module, library: SoloLibrary, audio_cfg: AudioConfig, class_a: str,
                     class_b: str, seed: int = 0, classes: Sequence[str] | None = None) -> dict[str, Any]:
    """Mix `class_a` + `class_b` (:func:`mix_pair`) and run a class-conditioned model on the mixture.

    Args:
        model: an `SGN` (any variant) whose grid matches `audio_cfg`; it is run in eval mode.
        classes: the model's class list (class i = classes[i]); default the library's.

    Returns:
        dict of NumPy arrays (and a few names):
          `class_names` (the model's C classes), `names` [class_a, class_b], `class_idx` (2,),
          `mixture` (L,), `sources` (2, L), `estimates` (2, L),
          `log_mag` (F, T) network input, `mag_warped` (F, T), `source_mag_warped` (2, F, T),
          `target` (2, F, T) ideal binary masks, `masks_all` (C, F, T) sigmoid(mask_logits),
          `masks` (2, F, T) the masks of the two classes, `presence` (C,) probabilities or None,
          `assign` (C, F/p, T/p) assignment maps on the patch grid or None, `patch_size`,
          `sample_rate`.
    """
    from .models import select_masks

    class_names = list(classes) if classes is not None else list(library.classes)
    for name in (class_a, class_b):
        if name not in class_names:
            raise ValueError(f"{name!r} is not a class of the model ({', '.join(class_names)})")
    pair = mix_pair(library, audio_cfg, class_a, class_b, seed)
    device = next(model.parameters()).device
    frontend = SpectralFrontEnd(audio_cfg).to(device)
    mixture = torch.from_numpy(pair["mixture"])[None].to(device)   # (1, L)
    sources = torch.from_numpy(pair["sources"])[None].to(device)   # (1, 2, L)
    feats = mix_features(mixture, sources, frontend)
    was_training = model.training
    model.eval()
    try:
        out = model(feats["log_mag"])
    finally:
        model.train(was_training)
    class_idx = torch.tensor([[class_names.index(class_a), class_names.index(class_b)]], device=device)  # (1, 2)
    logits = out["mask_logits"].float()                            # (1, C, F, T)
    masks = torch.sigmoid(select_masks(logits, class_idx))         # (1, 2, F, T)
    estimates = frontend.apply_masks(masks, feats["stft"])         # (1, 2, L)
    assign = None
    if out.get("assign") is not None:
        pe = model.patch_embed
        assign = assignment_maps(out["assign"][0], pe.grid)        # (C, F/p, T/p)
    presence = out.get("presence_logits")
    return {
        "class_names": class_names, "names": pair["names"], "clips": pair["clips"],
        "class_idx": class_idx[0].cpu().numpy(),
        "mixture": pair["mixture"], "sources": pair["sources"], "estimates": _np(estimates[0]),
        "log_mag": _np(feats["log_mag"][0, 0]), "mag_warped": _np(feats["mag_warped"][0, 0]),
        "source_mag_warped": _np(feats["source_mag_warped"][0]), "target": _np(feats["target_binary"][0]),
        "masks_all": _np(torch.sigmoid(logits[0])), "masks": _np(masks[0]),
        "presence": None if presence is None else _np(torch.sigmoid(presence[0].float())),
        "assign": assign, "patch_size": getattr(model.cfg, "patch_size", 1),
        "sample_rate": audio_cfg.sample_rate,
    }


# ----------------------------------------------------------------------------- figures


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
                         owner: bool = True, ncols: int = 4, sample_rate: int = 11025, hop_length: int = 256,
                         title: str = "assignment A[:, i] over the mixture"):
    """One panel per class: its assignment map over the mixture's warped spectrogram.

    Args:
        log_mag: (F, T) the network input (drawn in grey).
        assign_maps: (C, F', T') maps (patch grid or full grid; stretched over the panel).
        present: names of the classes in the mixture: framed and labelled in red.
        owner: add a panel that colours each patch by the class with the largest A (argmax over i).
    """
    bg = _np(log_mag)
    maps = _np(assign_maps)
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
    p = _np(presence)
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
                     sample_rate: int = 11025, hop_length: int = 256, title: str = "sigmoid(mask_logits) of every class"):
    """One panel per class: its mask (F, T) in [0, 1]; the true classes framed in red."""
    masks = _np(masks_all)
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
    ref = float(_np(ex["mag_warped"]).max())

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

    return Audio(_np(wave).astype(np.float32), rate=sample_rate, normalize=True).data


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


# ----------------------------------------------------------------------------- the widget


def mixture_explorer(model: torch.nn.Module, library: SoloLibrary, audio_cfg: AudioConfig,
                     classes: Sequence[str] | None = None, class_a: str | None = None, class_b: str | None = None,
                     seed: int = 0, max_seed: int = 50):
    """An ipywidgets panel: two instrument dropdowns and a seed slider → mixture, maps, masks, players.

    Args:
        model: a class-conditioned model (`SGN`, any variant); classes its class list.
        library: where the solo clips come from (only classes with clips in it are offered).
        class_a, class_b, seed: the first pair shown.

    Returns:
        an ipywidgets VBox; display it (it is the last line of a cell, or ``display(...)``).
        Its `children` are [controls (HBox of two Dropdowns and an IntSlider), players (VBox of
        ipywidgets.Audio rows: mixture; estimates; references), messages (Output), figures (VBox of
        ipywidgets.Image: spectrograms and masks, assignment maps, presence, every class's mask)].

    Sound and pictures go into `ipywidgets.Audio` / `ipywidgets.Image` widgets whose value is
    replaced on every change, not into an Output widget: headless runners (`jupyter nbconvert
    --execute`, papermill) re-send an Output widget's whole content to the kernel for every item
    added, which stalls for minutes with a few hundred kilobytes of audio and images.
    """
    import ipywidgets as W

    class_names = list(classes) if classes is not None else list(library.classes)
    offered = [c for c in class_names if c in library.classes and library.classes.index(c) in library.by_class]
    if len(offered) < 2:
        raise ValueError("the library has clips of fewer than two of the model's classes")
    class_a = class_a if class_a in offered else offered[0]
    class_b = class_b if class_b in offered and class_b != class_a else next(c for c in offered if c != class_a)
    drop_a = W.Dropdown(options=offered, value=class_a, description="instrument 1")
    drop_b = W.Dropdown(options=offered, value=class_b, description="instrument 2")
    slider = W.IntSlider(value=seed, min=0, max=max(max_seed, seed), description="seed (clip, crop)",
                         continuous_update=False, style={"description_width": "initial"})

    def audio() -> Any:
        return W.Audio(format="wav", autoplay=False, loop=False, layout=W.Layout(width="260px"))

    names = {k: W.HTML() for k in ("est", "ref")}
    mix_player, est_players, ref_players = audio(), [audio(), audio()], [audio(), audio()]
    label = W.Layout(width="240px")
    players = W.VBox([W.HBox([W.HTML("<b>mixture</b>", layout=label), mix_player]),
                      W.HBox([W.Box([names["est"]], layout=label), *est_players]),
                      W.HBox([W.Box([names["ref"]], layout=label), *ref_players])])

    images = {key: W.Image(format="png", layout=W.Layout(max_width="100%"))
              for key in ("spectrograms", "assignment", "presence", "masks")}
    figures = W.VBox(list(images.values()))

    def show(visible: bool) -> None:  # hide the last pair's sound and pictures while there is no valid pair
        players.layout.display = figures.layout.display = None if visible else "none"

    def update(a: str, b: str, s: int) -> None:
        show(False)
        if a == b:
            print("Pick two different instruments.")
            return
        try:
            ex = separate_example(model, library, audio_cfg, a, b, seed=s, classes=class_names)
        except ValueError as exc:  # e.g. a clip that cannot be read: say so, keep the widget alive
            print(exc)
            return
        sr = ex["sample_rate"]
        mix_player.value = wav_bytes(ex["mixture"], sr)
        for k in range(2):
            est_players[k].value = wav_bytes(ex["estimates"][k], sr)
            ref_players[k].value = wav_bytes(ex["sources"][k], sr)
        names["est"].value = f"<b>model's estimates</b> ({a} | {b})"
        names["ref"].value = f"<b>references</b> ({a} | {b})"
        if ex["presence"] is not None:
            top = [class_names[i] for i in np.argsort(-ex["presence"])[:2]]
            print(f"mixed: {a} + {b} (clips {', '.join(ex['clips'])});  "
                  f"presence head's top two: {', '.join(top)}")
        figs = example_figures(ex)
        for key, image in images.items():
            image.value = figure_png(figs[key]) if key in figs else b""
            image.layout.display = None if key in figs else "none"   # hidden for a model without A / presence
        show(True)

    out = W.interactive_output(update, {"a": drop_a, "b": drop_b, "s": slider})
    return W.VBox([W.HBox([drop_a, drop_b, slider]), players, out, figures])


__all__ = ["mix_pair", "assignment_maps", "separate_example", "plot_assignment_maps", "plot_presence",
           "plot_class_masks", "plot_example_spectrograms", "example_players", "example_figures", "figure_png",
           "wav_bytes", "show_example", "mixture_explorer"]
