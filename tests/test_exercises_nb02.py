"""Notebook 02's checkers accept right answers, reject wrong ones, and never raise."""

import itertools

import pytest
import torch

from sgn_teach.exercises import nb02
from sgn_teach.losses import pit_bce
from sgn_teach.models import UNet


def test_unet_shapes(capsys):
    assert nb02.check_unet_shapes(7, (2, 2))
    assert nb02.check_unet_shapes(7.0, [2, 2])
    assert nb02.check_unet_shapes(7, torch.tensor([2, 2]))
    assert not nb02.check_unet_shapes(None, None)           # the shipped placeholders
    assert not nb02.check_unet_shapes(8, (1, 1))
    assert not nb02.check_unet_shapes(7, (4, 4))
    assert not nb02.check_unet_shapes("seven", (2,))
    assert not nb02.check_unet_shapes(7, 2)
    capsys.readouterr()


def test_unet_shapes_match_the_package():
    unet = UNet(in_channels=1, out_channels=2, ngf=1, levels=7)   # the paper's depth, 1 channel wide: cheap
    trace = dict(unet.shape_trace(torch.randn(1, 1, 256, 256)))
    assert trace["down_6"][-2:] == nb02.unet_bottleneck()


def test_max_levels(capsys):
    assert nb02.max_unet_levels(128, 128) == 7
    assert nb02.max_unet_levels(256, 256) == 8
    assert nb02.max_unet_levels(96, 128) == 5
    assert nb02.check_max_levels(7)
    assert not nb02.check_max_levels(5)        # the small preset's choice, not the maximum
    assert not nb02.check_max_levels(None)
    assert not nb02.check_max_levels(object())
    capsys.readouterr()


def test_max_levels_match_the_package():
    x = torch.randn(1, 1, 128, 128)
    UNet(ngf=1, out_channels=2, levels=7).shape_trace(x)          # 7 levels run: a 1×1 bottleneck
    with pytest.raises(ValueError):
        UNet(ngf=1, out_channels=2, levels=8).shape_trace(x)


def test_pit_count(capsys):
    assert nb02.check_pit_count(6, 9)
    assert not nb02.check_pit_count(None, None)
    assert not nb02.check_pit_count(9, 6)
    assert not nb02.check_pit_count(6, None)
    assert not nb02.check_pit_count(3, 9)
    capsys.readouterr()


def test_pit_case(capsys):
    perm, value = nb02.pit_from_costs(nb02.exercise3_costs())
    assert perm == (1, 0, 2) and abs(value - 1.0 / 3) < 1e-6
    assert nb02.check_pit_case((1, 0, 2), 1.0 / 3)
    assert nb02.check_pit_case([1, 0, 2], torch.tensor(0.3333))
    assert not nb02.check_pit_case(None, None)
    assert not nb02.check_pit_case((0, 1, 2), 1.4 / 3)         # the identity
    assert not nb02.check_pit_case((1, 0, 2), 1.0)             # the sum, not the mean
    assert not nb02.check_pit_case((0, 0, 2), 0.2)             # greedy: not a permutation
    assert not nb02.check_pit_case("abc", "x")
    out = capsys.readouterr().out
    assert "divide by 3" in out


def test_pit_from_costs_agrees_with_pit_bce():
    """On a case built so that each (slot, target) BCE is known, the package picks the same permutation."""
    g = torch.Generator().manual_seed(0)
    target = (torch.rand(1, 3, 4, 5, generator=g) > 0.5).float()      # (B, N, F, T)
    logits = torch.randn(1, 3, 4, 5, generator=g) * 3
    weight = torch.ones(1, 1, 4, 5)
    costs = torch.tensor([[torch.nn.functional.binary_cross_entropy_with_logits(logits[0, i], target[0, j]).item()
                           for j in range(3)] for i in range(3)])
    loss, perm = pit_bce(logits, target, weight)
    want_perm, want_loss = nb02.pit_from_costs(costs)
    assert tuple(perm[0].tolist()) == want_perm
    assert abs(loss.item() - want_loss) < 1e-5
    assert len(list(itertools.permutations(range(3)))) == 6
