"""Figures for the published course: an animation becomes a self-contained GIF, nothing fetched from outside."""

from __future__ import annotations

import base64
import io
import re

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation
from PIL import Image

from sgn_teach.viz.plots import animation_html


def test_animation_html_is_a_self_contained_gif_with_every_frame():
    fig, ax = plt.subplots(figsize=(2, 2))
    im = ax.imshow(np.zeros((4, 4)), vmin=0, vmax=3)
    anim = animation.FuncAnimation(fig, lambda i: im.set_data(np.full((4, 4), float(i))) or [im], frames=3)
    html = animation_html(anim, fig, fps=2)
    assert "http" not in html and not plt.fignum_exists(fig.number)  # no outside resource; no stray still
    data = re.fullmatch(r'<img src="data:image/gif;base64,([A-Za-z0-9+/=]+)" alt="animation">', html).group(1)
    gif = Image.open(io.BytesIO(base64.b64decode(data)))
    assert gif.format == "GIF" and gif.n_frames == 3
