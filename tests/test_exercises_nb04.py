"""Notebook 04's checkers accept right answers, reject wrong ones, and never raise."""

import numpy as np
import torch

from sgn_teach.exercises import nb04
from sgn_teach.models import CategoryAwareGrouping

CLASSES = ["accordion", "cello", "flute", "violin"]


def test_total_mass(capsys):
    assert nb04.check_total_mass(64, n_patches=64)
    assert nb04.check_total_mass(torch.tensor(64.0), n_patches=64)
    assert not nb04.check_total_mass(1, n_patches=64)            # one row, not the whole of A
    assert not nb04.check_total_mass(11, n_patches=64)           # the number of classes
    assert not nb04.check_total_mass(None, n_patches=64)         # the shipped placeholder
    assert not nb04.check_total_mass(torch.ones(3), n_patches=64)
    out = capsys.readouterr().out
    assert out.count("✔") == 2 and out.count("✘") == 4


def test_total_mass_is_what_the_grouping_gives():
    torch.manual_seed(0)
    _, A = CategoryAwareGrouping(8)(torch.randn(1, 16, 8), torch.randn(1, 5, 8))
    assert nb04.check_total_mass(A.sum().item(), n_patches=16)


def _grouping():
    torch.manual_seed(0)
    grouping = CategoryAwareGrouping(8)
    c_hat = torch.randn(1, 5, 8)
    return grouping, c_hat


def test_empty_class(capsys):
    grouping, c_hat = _grouping()
    i = 2
    right = c_hat[0, i] + grouping.to_out.bias
    assert nb04.check_empty_class(right, grouping, c_hat, i)
    assert nb04.check_empty_class(right.detach().numpy(), grouping, c_hat, i)   # arrays are fine too
    assert not nb04.check_empty_class(None, grouping, c_hat, i)                 # the shipped placeholder
    assert not nb04.check_empty_class(c_hat[0, i], grouping, c_hat, i)          # forgot the bias
    assert not nb04.check_empty_class(torch.zeros(8), grouping, c_hat, i)       # forgot the residual
    assert not nb04.check_empty_class(torch.full((8,), float("nan")), grouping, c_hat, i)
    assert not nb04.check_empty_class(torch.zeros(3), grouping, c_hat, i)       # wrong shape
    assert not nb04.check_empty_class("c_hat + b", grouping, c_hat, i)
    out = capsys.readouterr().out
    assert "bias" in out and out.count("✔") == 2


def test_empty_class_matches_the_layer_with_a_column_of_zeros():
    """Run the real layer's arithmetic with A[:, i] = 0 and compare with the checker's expected value."""
    grouping, c_hat = _grouping()
    f_hat = torch.randn(1, 7, 8)
    i = 3
    with torch.no_grad():
        A = torch.softmax(grouping.assignment_logits(f_hat, c_hat), dim=-1)
        A[..., i] = 0.0
        v = grouping.to_v(f_hat)
        g = c_hat + grouping.to_out(torch.einsum("bpc,bpd->bcd", A, v) / (A.sum(1)[..., None] + grouping.eps))
    assert torch.allclose(g[0, i], nb04.expected_empty_class(grouping, c_hat, i), atol=1e-6)


def test_presence(capsys):
    logits = torch.tensor([[-3.0, 2.0, 0.5, -1.0]])    # p ≈ 0.05, 0.88, 0.62, 0.27 → cello and flute
    truth = ["cello", "violin"]
    assert nb04.check_presence(["cello", "flute"], logits, CLASSES, truth)
    assert nb04.check_presence([2, 1], logits, CLASSES, truth)               # indices, any order
    assert nb04.check_presence(np.array([1, 2]), logits, CLASSES, truth)
    assert not nb04.check_presence(None, logits, CLASSES, truth)
    assert not nb04.check_presence(truth, logits, CLASSES, truth)            # the truth, not the prediction
    assert not nb04.check_presence(["cello"], logits, CLASSES, truth)
    assert not nb04.check_presence(["guitar"], logits, CLASSES, truth)
    assert not nb04.check_presence("cello", logits, CLASSES, truth)
    out = capsys.readouterr().out
    assert "missed violin" in out and "false alarm flute" in out


def test_presence_exact_match_and_no_class_above_threshold(capsys):
    logits = torch.tensor([-3.0, 2.0, -0.5, 1.0])
    assert nb04.check_presence(["cello", "violin"], logits, CLASSES, ["violin", "cello"])
    assert "exactly" in capsys.readouterr().out
    assert nb04.check_presence([], -torch.ones(4), CLASSES, ["cello", "violin"])
