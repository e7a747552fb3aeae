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


def test_a_silent_estimate_plays_as_silence_and_a_quiet_one_is_scaled_up():
    # a missed source's estimate is all zeros (--classes auto): normalising it used to divide by zero
    import warnings
    import wave

    from sgn_teach.viz.plots import listening_panel

    sr = 8000
    quiet = 0.01 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NaN cast would warn
        html = listening_panel({"row": [np.zeros(sr), quiet]}, sample_rate=sr).data
    clips = re.findall(r'src="data:audio/wav;base64,([A-Za-z0-9+/=\n]+)"', html)
    assert len(clips) == 2
    peaks = []
    for b64 in clips:
        with wave.open(io.BytesIO(base64.b64decode(b64))) as w:
            peaks.append(np.abs(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")).max())
    assert peaks[0] == 0 and peaks[1] > 30000  # silence stays silent; a quiet source is played at full scale
