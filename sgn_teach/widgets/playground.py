"""An ipywidgets panel around the playground of notebook 06: a few controls, a Run button, the growing table.

The runs themselves (:class:`sgn_teach.experiments.playground.Playground`) work
without a browser; this is only their controls.
"""

from __future__ import annotations

from ..core.config import MODEL_VARIANTS, get_preset
from ..experiments.playground import Playground
from ..viz.plots import plt


def playground_widget(playground: Playground):
    """ipywidgets: variant, depth, assignment, mask target, loss weights, steps → Run → table and plot."""
    import ipywidgets as w
    from IPython.display import Markdown, display

    variant = w.Dropdown(options=list(MODEL_VARIANTS), value="sgn", description="variant")
    depth = w.IntSlider(value=get_preset(playground.preset).model.depth, min=1, max=8, description="depth")
    assign = w.Dropdown(options=["softmax", "hard"], value="softmax", description="assignment")
    mask = w.Dropdown(options=["binary", "ratio"], value=get_preset(playground.preset).train.mask,
                      description="mask target")
    w_ce = w.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1, description="w_ce")
    w_presence = w.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1, description="w_presence")
    steps = w.IntSlider(value=150, min=20, max=1000, step=10, description="steps")
    button = w.Button(description="Run", button_style="primary")
    out = w.Output()

    def on_click(_) -> None:
        button.disabled = True
        with out:
            out.clear_output()
            print("training…")
            playground.run(variant.value, steps.value, depth=depth.value, assign=assign.value, mask=mask.value,
                           w_ce=w_ce.value, w_presence=w_presence.value)
            out.clear_output()
            display(Markdown(playground.table()))
            fig = playground.plot()
            display(fig)
            plt.close(fig)
        button.disabled = False

    button.on_click(on_click)
    controls = w.VBox([variant, depth, assign, mask, w_ce, w_presence, steps, button])
    return w.VBox([controls, out])


__all__ = ["playground_widget"]
