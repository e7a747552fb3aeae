"""Notebook 03's checkers accept right answers, reject wrong ones, and never raise."""

import math

import torch

from sgn_teach.exercises import nb03
from sgn_teach.models import PatchEmbedding


def test_patch_count_matches_the_package(capsys):
    assert nb03.patch_count(128, 128, 16) == PatchEmbedding(8, 16, (128, 128)).n_patches == 64
    assert nb03.check_patch_count(64)
    assert nb03.check_patch_count(torch.tensor(64))
    assert not nb03.check_patch_count(16384)      # pixels, not patches
    assert not nb03.check_patch_count(8)          # one axis only
    assert not nb03.check_patch_count(None)
    assert not nb03.check_patch_count("sixty-four")
    out = capsys.readouterr().out
    assert out.count("✔") == 2 and out.count("✘") == 4


def test_sequence_length(capsys):
    assert nb03.sequence_length("paper") == 256 + 11
    assert nb03.sequence_length("small") == 64 + 11
    assert nb03.check_sequence_length(267)
    assert not nb03.check_sequence_length(256)    # patches only
    assert "class tokens are appended" in capsys.readouterr().out
    assert not nb03.check_sequence_length(None)
    assert not nb03.check_sequence_length(torch.ones(3))


def test_ce_of_probability(capsys):
    assert nb03.check_ce_of_probability(lambda p: -math.log(p))
    assert nb03.check_ce_of_probability(lambda p: -torch.log(torch.tensor(p)))
    assert not nb03.check_ce_of_probability(lambda p: None)          # the shipped placeholder
    assert not nb03.check_ce_of_probability(lambda p: 1 - p)
    assert not nb03.check_ce_of_probability(lambda p: -math.log(p) * 11)   # summed, not averaged
    assert not nb03.check_ce_of_probability(lambda p: 1 / 0)          # raises inside
    capsys.readouterr()


def test_ce_of_probability_agrees_with_the_package_loss():
    for p in (1 / 11, 0.5, 0.9, 0.99):
        assert abs(nb03.ce_of_probability_reference(p) + math.log(p)) < 1e-5
