"""Losses: weighted BCE, permutation-invariant BCE, class-constraint CE,
presence BCE and the total SGN loss (eq. 7–9)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from sgn_teach.losses import (
    class_constraint_ce,
    multi_hot,
    pit_bce,
    presence_bce,
    sgn_loss,
    weighted_bce,
)
from sgn_teach.models import select_masks


def _case(B=2, N=2, F_=8, T=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    target = (torch.rand(B, N, F_, T, generator=g) > 0.5).float()
    weight = torch.rand(B, 1, F_, T, generator=g) + 0.1
    logits = torch.randn(B, N, F_, T, generator=g)
    return logits, target, weight


def test_weighted_bce_is_mean_of_weight_times_bce():
    logits, target, weight = _case()
    p = torch.sigmoid(logits)
    manual = -(weight * (target * p.log() + (1 - target) * (1 - p).log())).mean()
    torch.testing.assert_close(weighted_bce(logits, target, weight), manual)


def test_pit_finds_swapped_targets():
    _, target, weight = _case()
    logits = 6.0 * (2 * target - 1) + 0.3 * torch.randn_like(target)  # output j predicts target j
    loss, perm = pit_bce(logits, target, weight)
    assert perm.tolist() == [[0, 1], [0, 1]]
    torch.testing.assert_close(loss, weighted_bce(logits, target, weight))
    swapped = target.clone()
    swapped[0] = target[0].flip(0)  # swap the two targets of sample 0 only
    loss_s, perm_s = pit_bce(logits, swapped, weight)
    assert perm_s.tolist() == [[1, 0], [0, 1]]
    torch.testing.assert_close(loss_s, loss)


def test_pit_three_sources_matches_brute_force():
    logits, target, weight = _case(B=3, N=3, seed=1)
    loss, perm = pit_bce(logits, target, weight)
    torch.testing.assert_close(loss, weighted_bce(select_masks(logits, perm), target, weight))
    for b in range(3):
        best = min(weighted_bce(logits[b:b + 1, list(p)], target[b:b + 1], weight[b:b + 1]).item()
                   for p in itertools.permutations(range(3)))
        got = weighted_bce(select_masks(logits, perm)[b:b + 1], target[b:b + 1], weight[b:b + 1]).item()
        assert math.isclose(got, best, rel_tol=1e-5)


def test_pit_picks_the_right_slots_when_a_sop_has_more_slots_than_sources():
    """A SoP trained on up to 3 sources hears 2: the source in slot 2 must be found, and the loss is the best pair's."""
    _, target, weight = _case(B=2, N=2, seed=2)
    silent = torch.full_like(target[:, :1], -6.0)                        # (B, 1, F, T) a slot that stays silent
    sure = 6.0 * (2 * target - 1)                                       # (B, 2, F, T) confident, right logits
    logits = torch.cat([sure[:, 1:], silent, sure[:, :1]], dim=1)       # slots: target 1, silence, target 0
    loss, perm = pit_bce(logits, target, weight)
    assert perm.tolist() == [[2, 0], [2, 0]]
    torch.testing.assert_close(loss, weighted_bce(select_masks(logits, perm), target, weight))
    for b in range(2):                                                  # the cheapest of all 6 injective maps
        best = min(weighted_bce(logits[b:b + 1, list(p)], target[b:b + 1], weight[b:b + 1]).item()
                   for p in itertools.permutations(range(3), 2))
        got = weighted_bce(select_masks(logits, perm)[b:b + 1], target[b:b + 1], weight[b:b + 1]).item()
        assert math.isclose(got, best, rel_tol=1e-5)
    with pytest.raises(ValueError, match="2 output slots cannot hold 3 targets"):
        pit_bce(logits[:, :2], torch.cat([target, target[:, :1]], dim=1), weight)


def test_class_constraint_ce():
    C = 5
    perfect = 20.0 * torch.eye(C).expand(3, C, C)
    assert class_constraint_ce(perfect).item() < 1e-6
    uniform = torch.zeros(3, C, C)
    assert math.isclose(class_constraint_ce(uniform).item(), math.log(C), rel_tol=1e-6)
    shuffled = 20.0 * torch.eye(C)[[1, 0, 2, 3, 4]].expand(3, C, C)  # tokens 0 and 1 confused
    assert class_constraint_ce(shuffled).item() > 5


def test_presence_bce_and_multi_hot():
    labels = multi_hot(torch.tensor([[0, 3], [2, 1]]), 4)
    assert labels.tolist() == [[1, 0, 0, 1], [0, 1, 1, 0]]
    logits = torch.randn(2, 4)
    torch.testing.assert_close(presence_bce(logits, labels), F.binary_cross_entropy_with_logits(logits, labels))


def test_sgn_loss_parts_per_variant():
    B, C, F_, T = 2, 4, 8, 6
    _, target, weight = _case(B=B, N=2, F_=F_, T=T)
    class_idx = torch.tensor([[0, 3], [2, 1]])
    mask_logits = torch.randn(B, C, F_, T, requires_grad=True)
    full = {"mask_logits": mask_logits, "token_logits": torch.randn(B, C, C), "presence_logits": torch.randn(B, C)}
    total, parts = sgn_loss(full, target, weight, class_idx, None, "sgn")
    assert set(parts) == {"rec", "ce", "presence", "total"}
    rec = weighted_bce(select_masks(mask_logits, class_idx), target, weight)
    ce = class_constraint_ce(full["token_logits"])
    pres = presence_bce(full["presence_logits"], multi_hot(class_idx, C))
    torch.testing.assert_close(total, rec + ce + pres)
    assert all(not p.requires_grad for p in parts.values())
    total.backward()
    assert mask_logits.grad is not None

    base = {"mask_logits": mask_logits, "token_logits": None, "presence_logits": None}
    total, parts = sgn_loss(base, target, weight, class_idx, None, "baseline")
    assert parts["ce"] == 0 and parts["presence"] == 0
    torch.testing.assert_close(total, rec)

    sop = {"mask_logits": torch.randn(B, 2, F_, T), "token_logits": None, "presence_logits": None}
    total, parts = sgn_loss(sop, target, weight, None, None, "sop")
    torch.testing.assert_close(total, pit_bce(sop["mask_logits"], target, weight)[0])


def test_sgn_loss_under_autocast_is_float32():
    B, C, F_, T = 2, 4, 8, 6
    _, target, weight = _case(B=B, N=2, F_=F_, T=T)
    out = {"mask_logits": 30 * torch.randn(B, C, F_, T).bfloat16(), "token_logits": torch.randn(B, C, C).bfloat16(),
           "presence_logits": torch.randn(B, C).bfloat16()}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        total, parts = sgn_loss(out, target, weight, torch.tensor([[0, 1], [2, 3]]), None, "sgn")
    assert total.dtype == torch.float32 and torch.isfinite(total)
