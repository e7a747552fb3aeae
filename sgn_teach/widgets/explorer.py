"""An ipywidgets panel: pick two instruments and a seed, hear and see how a separator takes the mixture apart.

:func:`mixture_explorer` (notebook 04) recomputes the example with
:func:`sgn_teach.inference.example.separate_example` on every change and shows the
figures of :mod:`sgn_teach.viz.explorer`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from ..core.config import AudioConfig
from ..data import SoloLibrary
from ..inference.example import separate_example
from ..viz.explorer import example_figures, figure_png, wav_bytes


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


__all__ = ["mixture_explorer"]
