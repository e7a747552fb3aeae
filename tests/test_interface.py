"""The one model interface: every separator kind offers the Separator protocol, and masks_for speaks for all."""

from __future__ import annotations

import pytest
import torch

from sgn_teach.core.config import SEPARATOR_KINDS, get_preset
from sgn_teach.core.errors import CheckpointError
from sgn_teach.hub.build import build_model, require_separator
from sgn_teach.models.interface import Separator, is_separator, masks_for, presence_probabilities


def _tiny(kind: str) -> torch.nn.Module:
    overrides = {"diffusion__condition": "class"} if kind == "diffusion" else {}  # no SGN checkpoint needed
    cfg = get_preset("tiny", kind, **overrides)
    torch.manual_seed(0)
    return build_model(cfg.model, cfg.audio, diffusion=cfg.diffusion).eval(), cfg


@pytest.mark.parametrize("kind", SEPARATOR_KINDS)
def test_every_separator_kind_gives_masks_through_one_function(kind):
    model, cfg = _tiny(kind)
    assert isinstance(model, Separator) and is_separator(model)
    log_mag = torch.randn(2, 1, cfg.audio.n_freq_warped, cfg.audio.n_frames)
    classes = torch.tensor([[1, 4], [7, 0]])
    sep = masks_for(model, log_mag, classes if model.class_conditioned else None)
    n = 2 if model.class_conditioned else cfg.model.n_sources
    assert sep.masks.shape == (2, n, cfg.audio.n_freq_warped, cfg.audio.n_frames)
    assert bool((sep.masks >= 0).all()) and bool(torch.isfinite(sep.masks).all())
    assert (sep.classes is None) == (not model.class_conditioned)
    p = presence_probabilities(model, log_mag)
    assert (p is None) == (not model.has_presence_head)
    if p is not None:
        assert p.shape == (2, cfg.model.n_classes) and bool(((p >= 0) & (p <= 1)).all())
    if model.class_conditioned and not model.generative:  # asked for nothing: every class, in class order
        every = masks_for(model, log_mag)
        assert every.masks.shape[1] == cfg.model.n_classes
        torch.testing.assert_close(every.masks[:, [1, 4]][0], sep.masks[0])


def test_flags_say_what_each_kind_can_do():
    flags = {kind: (m.class_conditioned, m.generative, m.has_presence_head, m.takes_prompts)
             for kind in SEPARATOR_KINDS for m in [_tiny(kind)[0]]}
    assert flags["sop"] == (False, False, False, False)
    assert flags["sgn"] == flags["sct"] == flags["cag"] == (True, False, True, False)
    assert flags["baseline"] == (True, False, False, False)
    assert flags["text"] == (True, False, False, True)
    assert flags["diffusion"] == (True, True, False, False)  # the class-embedding guide has no presence head


def test_an_embedding_is_not_a_separator(tmp_path):
    cfg = get_preset("tiny", "audio_text")
    model = build_model(cfg.model, cfg.audio)
    assert not is_separator(model)
    with pytest.raises(CheckpointError, match="not a separator"):
        require_separator(model, tmp_path / "emb.pt")
