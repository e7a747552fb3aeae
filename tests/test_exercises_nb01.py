"""Notebook 01's checkers accept right answers, reject wrong ones, and never raise."""

import torch

from sgn_teach.exercises import nb01


def test_frequency_resolution(capsys):
    assert nb01.check_frequency_resolution(11025 / 1022)
    assert nb01.check_frequency_resolution(10.79)
    assert not nb01.check_frequency_resolution(5512.5 / 512)   # off by one bin count
    assert not nb01.check_frequency_resolution(None)
    assert not nb01.check_frequency_resolution("ten")
    out = capsys.readouterr().out
    assert out.count("✔") == 2 and out.count("✘") == 3


def test_warped_row():
    right = nb01.warped_row_source_bin(64)
    assert 29 < right < 30
    assert nb01.check_warped_row(right)
    assert nb01.check_warped_row(29)
    assert not nb01.check_warped_row(128)     # a linear warp would read bin 128
    assert not nb01.check_warped_row(None)


def test_warped_row_matches_the_package_grid():
    from sgn_teach.signal.spectral import warp_grid

    y = warp_grid(256, 4)[0, :, 0, 1].double()               # (F,) source y of each warped row
    bins = (y + 1) / 2 * 511
    rows = torch.tensor([0, 64, 128, 255])
    expected = torch.tensor([nb01.warped_row_source_bin(int(r)) for r in rows], dtype=torch.float64)
    assert torch.allclose(bins[rows], expected, atol=1e-3)


def test_ratio_mask(capsys):
    assert nb01.check_ratio_mask(lambda s, m: (s / (m + 1e-8)).clamp(0, 1))
    assert not nb01.check_ratio_mask(lambda s, m: None)              # the shipped placeholder
    assert not nb01.check_ratio_mask(lambda s, m: s / m)             # 0/0 and > 1
    assert not nb01.check_ratio_mask(lambda s, m: (s > 0.5 * m).float())  # a binary mask
    assert not nb01.check_ratio_mask(lambda s, m: s.sum(0))          # wrong shape
    assert not nb01.check_ratio_mask(lambda s, m: 1 / 0)             # raises inside
    capsys.readouterr()
