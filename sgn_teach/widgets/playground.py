"""An ipywidgets panel around the playground of notebook 06: a few controls, a Run button, the growing table.

The runs themselves (:class:`sgn_teach.experiments.playground.Playground`) work
without a browser; this is only their controls.
"""

from __future__ import annotations

from ..core.config import MODEL_VARIANTS, get_preset
from ..experiments.playground import Playground
from ..viz.plots import plt


def playground_widget(playground: Playground):
    """ipywidgets: variant, preset, depth, assignment, mask target, loss weights, learning rate, seed, steps and the
    number of sources scored → Run → the table and plot. A failed run prints its one-line error and the button
    comes back."""
    import ipywidgets as w
    from IPython.display import Markdown, display

    from ..core.config import PRESETS
    from ..core.errors import SGNError

    base = get_preset(playground.preset)
    variant = w.Dropdown(options=list(MODEL_VARIANTS), value="sgn", description="variant")
    preset = w.Dropdown(options=[p for p in PRESETS if p != "paper"], value=playground.preset, description="preset")
    depth = w.IntSlider(value=base.model.depth, min=1, max=8, description="depth")
    assign = w.Dropdown(options=["softmax", "hard"], value="softmax", description="assignment")
    mask = w.Dropdown(options=["binary", "ratio"], value=base.train.mask, description="mask target")
    w_ce = w.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1, description="w_ce")
    w_presence = w.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1, description="w_presence")
    lr = w.FloatLogSlider(value=base.train.lr, base=10, min=-4, max=-2, step=0.25, description="lr")
    seed = w.IntText(value=0, description="seed")
    n_sources = w.IntSlider(value=2, min=2, max=3, description="sources")
    steps = w.IntSlider(value=150, min=20, max=1000, step=10, description="steps")
    button = w.Button(description="Run", button_style="primary")
    out = w.Output()

    def on_click(_) -> None:
        button.disabled = True
        try:
            with out:
                out.clear_output()
                print("training…")
                playground.preset = preset.value
                playground.run(variant.value, steps.value, n_sources=n_sources.value, depth=depth.value,
                               assign=assign.value, mask=mask.value, w_ce=w_ce.value, w_presence=w_presence.value,
                               lr=lr.value, seed=seed.value)
                out.clear_output()
                display(Markdown(playground.table()))
                fig = playground.plot()
                display(fig)
                plt.close(fig)
        except (SGNError, ValueError) as exc:
            with out:
                print(f"error: {exc}")
        finally:
            button.disabled = False  # whatever happened, the next run can start

    button.on_click(on_click)
    controls = w.VBox([variant, preset, depth, assign, mask, w_ce, w_presence, lr, seed, n_sources, steps, button])
    return w.VBox([controls, out])


__all__ = ["playground_widget"]
