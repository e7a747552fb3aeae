"""Notebook 08's exercise checkers accept right answers, reject wrong ones without giving them away, never raise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sgn_teach.exercises import nb08


def test_synonym_prompt(capsys):
    assert nb08.check_synonym_prompt("an alto sax and a spanish guitar") is True
    assert "✔" in capsys.readouterr().out
    assert nb08.check_synonym_prompt("a saxophone and a guitar") is False          # uses a class name
    assert nb08.check_synonym_prompt("a sax") is False                              # only one of the two
    assert nb08.check_synonym_prompt("a sax, a guitar and a fiddle") is False       # one too many


@pytest.mark.parametrize("placeholder", [None, "", "?", 3, [], ["sax"]])
def test_synonym_prompt_placeholders(placeholder, capsys):
    assert nb08.check_synonym_prompt(placeholder) is False
    out = capsys.readouterr().out
    assert "✘" in out and "spanish guitar" not in out and "alto sax" not in out  # the hint gives no answer


def _split_masks(F_: int = 8, T_: int = 8) -> torch.Tensor:
    """A solution: caption 1's entities split the lower half of the bins by time, caption 2's first entity takes the rest."""
    logits = torch.full((1, 2, 2, F_, T_), -20.0)
    logits[0, 0, 0, : F_ // 2, : T_ // 2] = 20
    logits[0, 0, 1, : F_ // 2, T_ // 2:] = 20
    logits[0, 1, 0, F_ // 2:] = 20
    return logits


def test_consistent_masks(capsys):
    assert nb08.check_consistent_masks(_split_masks()) is True
    same = _split_masks()
    same[0, 0, 1] = same[0, 0, 0] = torch.where(nb08.consistency_target(8, 8)[0, 0] > 0, 20.0, -20.0)
    assert nb08.check_consistent_masks(same) is False                                # consistent, but the same mask twice
    assert nb08.check_consistent_masks(_split_masks().flip(1)) is False              # caption 1 takes mixture 2's bins
    both = _split_masks()
    both[0, 1, 0] = both[0, 1, 1] = torch.where(nb08.consistency_target(8, 8)[0, 1] > 0, 20.0, -20.0)
    assert nb08.check_consistent_masks(both) is False  # caption 2's entities both take all of its bins (issue 24)
    assert nb08.check_consistent_masks(torch.zeros(1, 2, 2, 8, 8)) is False          # the shipped placeholder
    out = capsys.readouterr().out
    assert "Any split" not in out.split("✘")[-1]


def test_identical_full_masks_fail_and_disjoint_masks_that_rebuild_each_mixture_pass(capsys):
    """Issue 24: a learner gave both entities of a caption all of its bins and got ✔. Every entity of both captions
    taking its whole caption must fail; masks that split each caption's bins without overlap must pass."""
    own = torch.where(nb08.consistency_target(8, 8)[0] > 0, 20.0, -20.0)           # (2, F, T): each caption's bins
    copies = own[None, :, None].expand(1, 2, 2, 8, 8).clone()                      # (1, caption, entity, F, T)
    assert nb08.check_consistent_masks(copies) is False
    disjoint = torch.full((1, 2, 2, 8, 8), -20.0)
    for i in range(2):  # caption i's entities take alternate frequency rows of its half: together all of it, no overlap
        rows = torch.arange(8)[4 * i: 4 * i + 4]
        disjoint[0, i, 0, rows[::2]] = 20
        disjoint[0, i, 1, rows[1::2]] = 20
    assert nb08.check_consistent_masks(disjoint) is True
    capsys.readouterr()


def test_masks_the_loss_cannot_see_still_fail(capsys):
    """The sum form weighs bins by log1p|X_i| (0 where x_i is silent), so these cost (almost) nothing — the checker
    must still refuse an entity that takes the other caption's bins, and two half masks on the same bins."""
    from sgn_teach.losses.text import consistency_loss

    grab = _split_masks()
    grab[0, 0, 1, 4:] = 20                                                           # caption 1's entity takes mixture 2
    halves = _split_masks()
    halves[0, 1] = torch.where(nb08.consistency_target(8, 8)[0, 1] > 0, 0.0, -20.0)  # caption 2: 0.5 + 0.5 everywhere
    for logits in (grab, halves):
        assert float(consistency_loss(logits, torch.ones(1, 1, 8, 8), nb08.consistency_target(8, 8))) < 0.01
        assert nb08.check_consistent_masks(logits) is False
    out = capsys.readouterr().out
    assert "other caption" in out and "same bins" in out


@pytest.mark.parametrize("placeholder", [None, "?", torch.zeros(2, 8, 8), torch.zeros(1, 2, 8, 8), np.zeros((1, 2, 2, 4, 4))])
def test_consistent_masks_placeholders(placeholder, capsys):
    assert nb08.check_consistent_masks(placeholder) is False
    assert "Any split" not in capsys.readouterr().out


def test_labelled_count(capsys):
    expected = sum(bool(np.random.default_rng([0, i, 2]).random() < 0.05) for i in range(1000))
    assert 25 < expected < 80
    assert nb08.check_labelled_count(expected) is True
    assert nb08.check_labelled_count(float(expected)) is True
    capsys.readouterr()
    for wrong in (None, True, "many", expected + 1, 50.5):
        assert nb08.check_labelled_count(wrong) is False
        assert f"{expected} of" not in capsys.readouterr().out


def test_labelled_count_matches_the_dataset(synth_library):
    from sgn_teach.core.config import get_preset
    from sgn_teach.data import MixDataset, SoloLibrary
    from sgn_teach.data.captioned import CaptionedPairs

    lib = SoloLibrary(synth_library, split="all")
    ds = CaptionedPairs(MixDataset(lib, get_preset("tiny").audio, n_sources=4, n_mixtures=1000, seed=0), 0.05)
    assert nb08.check_labelled_count(sum(ds.labelled(i) for i in range(1000))) is True
