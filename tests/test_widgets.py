"""The explorer's computations on a tiny untrained SGN and a tiny synthesized library."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sgn_teach.core.config import get_preset
from sgn_teach.data import SoloLibrary, synth_library
from sgn_teach.hub.build import build_model
from sgn_teach.inference.example import assignment_maps, mix_pair, separate_example
from sgn_teach.viz.explorer import plot_assignment_maps, plot_class_masks, plot_example_spectrograms, plot_presence
from sgn_teach.widgets.explorer import mixture_explorer


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> SoloLibrary:
    root = synth_library(tmp_path_factory.mktemp("lib"), clips_per_class=3, duration=2.0, progress=False)
    return SoloLibrary(root, split="all")


@pytest.fixture(scope="module")
def cfg():
    return get_preset("tiny")


@pytest.fixture(scope="module")
def model(cfg):
    torch.manual_seed(0)
    return build_model(cfg.model, cfg.audio).eval()


def test_mix_pair_mixes_the_chosen_classes(library, cfg):
    pair = mix_pair(library, cfg.audio, "cello", "flute", seed=3)
    L = cfg.audio.n_samples
    assert pair["mixture"].shape == (L,) and pair["sources"].shape == (2, L)
    assert pair["names"] == ["cello", "flute"]
    assert pair["clips"][0].startswith("cello/") and pair["clips"][1].startswith("flute/")
    np.testing.assert_allclose(pair["sources"].sum(0), pair["mixture"], atol=1e-6)
    again = mix_pair(library, cfg.audio, "cello", "flute", seed=3)
    np.testing.assert_array_equal(again["mixture"], pair["mixture"])          # reproducible from the seed
    with pytest.raises(ValueError):
        mix_pair(library, cfg.audio, "cello", "cello")
    with pytest.raises(ValueError):
        mix_pair(library, cfg.audio, "cello", "kazoo")


def test_mix_pair_sources_are_crops_of_those_clips(library, cfg):
    pair = mix_pair(library, cfg.audio, "violin", "tuba", seed=0)
    for k, rel in enumerate(pair["clips"]):
        clip = next(c for c in library.clips if c.rel == rel)
        wave = library.load(clip, cfg.audio.sample_rate) / 2
        src = pair["sources"][k]
        # the source is a window of the (halved) clip
        assert any(np.array_equal(wave[o:o + len(src)], src) for o in range(len(wave) - len(src) + 1))


def test_assignment_maps_are_frequency_major():
    n_f, n_t, C = 2, 3, 4
    A = torch.zeros(n_f * n_t, C)
    A[1 * n_t + 2, 3] = 1.0                                   # patch at frequency row 1, time column 2 → class 3
    maps = assignment_maps(A, (n_f, n_t))
    assert maps.shape == (C, n_f, n_t) and maps[3, 1, 2] == 1 and maps.sum() == 1
    full = assignment_maps(A, (n_f, n_t), patch_size=4)
    assert full.shape == (C, 8, 12) and full[3, 4:8, 8:12].min() == 1 and full.sum() == 16
    with pytest.raises(ValueError):
        assignment_maps(torch.zeros(5, C), (n_f, n_t))


def test_separate_example_shapes_and_classes(model, library, cfg):
    classes = library.classes
    ex = separate_example(model, library, cfg.audio, "trumpet", "cello", seed=1, classes=classes)
    C, L = len(classes), cfg.audio.n_samples
    F, T = cfg.audio.n_freq_warped, cfg.audio.n_frames
    p = cfg.model.patch_size
    assert ex["names"] == ["trumpet", "cello"]
    assert [classes[i] for i in ex["class_idx"]] == ["trumpet", "cello"]
    assert ex["mixture"].shape == (L,) and ex["sources"].shape == (2, L) and ex["estimates"].shape == (2, L)
    assert ex["log_mag"].shape == (F, T) and ex["mag_warped"].shape == (F, T)
    assert ex["source_mag_warped"].shape == (2, F, T) and ex["target"].shape == (2, F, T)
    assert ex["masks_all"].shape == (C, F, T) and ex["masks"].shape == (2, F, T)
    np.testing.assert_allclose(ex["masks"], ex["masks_all"][ex["class_idx"]], atol=1e-6)  # the chosen channels
    assert ex["presence"].shape == (C,) and ((ex["presence"] > 0) & (ex["presence"] < 1)).all()
    assert ex["assign"].shape == (C, F // p, T // p)
    np.testing.assert_allclose(ex["assign"].sum(0), 1.0, atol=1e-5)            # each patch is shared out fully
    assert np.isfinite(ex["estimates"]).all()
    assert model.training is False


def test_separate_example_model_class_order_and_baseline(library, cfg):
    """The model's class list may be ordered differently from the library's; `baseline` has no A, no presence."""
    classes = list(reversed(library.classes))
    mcfg = get_preset("tiny", "baseline").model
    mcfg.n_classes = len(classes)
    baseline = build_model(mcfg, cfg.audio)
    ex = separate_example(baseline, library, cfg.audio, "flute", "violin", seed=0, classes=classes)
    assert [classes[i] for i in ex["class_idx"]] == ["flute", "violin"]
    assert ex["assign"] is None and ex["presence"] is None
    with pytest.raises(ValueError):
        separate_example(baseline, library, cfg.audio, "flute", "violin", classes=["flute", "cello"])


def test_figures(model, library, cfg):
    import matplotlib.pyplot as plt

    ex = separate_example(model, library, cfg.audio, "erhu", "tuba", seed=0)
    names = ex["class_names"]
    figs = [plot_assignment_maps(ex["log_mag"], ex["assign"], names, ex["names"]),
            plot_presence(ex["presence"], names, ex["names"]),
            plot_class_masks(ex["masks_all"], names, ex["names"]),
            plot_example_spectrograms(ex)]
    assert len(figs[0].axes) >= len(names) + 1                                # C panels + the owner panel
    for fig in figs:
        plt.close(fig)


def test_mixture_explorer_builds(model, library, cfg):
    import ipywidgets as W

    panel = mixture_explorer(model, library, cfg.audio, library.classes, class_a="cello", class_b="flute", seed=2)
    assert isinstance(panel, W.VBox)
    controls, players, out, figures = panel.children
    drop_a, drop_b, slider = controls.children
    assert (drop_a.value, drop_b.value, slider.value) == ("cello", "flute", 2)
    assert isinstance(out, W.Output)
    audios = [w for row in players.children for w in row.children if isinstance(w, W.Audio)]
    assert len(audios) == 5 and all(a.value[:4] == b"RIFF" for a in audios)   # mixture, 2 estimates, 2 references
    images = figures.children
    assert len(images) == 4 and all(isinstance(im, W.Image) and im.value[:4] == b"\x89PNG" for im in images)
    assert players.layout.display is None and figures.layout.display is None
    drop_b.value = "cello"               # the same instrument twice: a message, no exception, nothing stale shown
    assert players.layout.display == "none" and figures.layout.display == "none"
    drop_b.value = "tuba"
    assert players.layout.display is None
    panel.close()
