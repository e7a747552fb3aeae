"""Notebook 07's exercise checkers accept the right answer, reject wrong ones, never raise, and never
print the answer to a placeholder."""

from __future__ import annotations

import math

import pytest
import torch

from sgn_teach.exercises import nb07


def test_snr_crossing(capsys):
    t = nb07.snr_crossing()
    assert 490 <= t <= 500
    assert nb07.check_snr_crossing(t) is True
    assert nb07.check_snr_crossing(t + 3) is True
    assert "✔" in capsys.readouterr().out
    assert nb07.check_snr_crossing(250) is False
    assert nb07.check_snr_crossing(999) is False


@pytest.mark.parametrize("wrong", [None, True, "half", [], float("nan")])
def test_snr_crossing_placeholders_do_not_leak_the_answer(wrong, capsys):
    assert nb07.check_snr_crossing(wrong) is False
    out = capsys.readouterr().out
    assert "✘" in out and str(nb07.snr_crossing()) not in out


def _right_x0(x_t, v, a):
    return a.sqrt() * x_t - (1 - a).sqrt() * v


def _right_ddim(x_t, x0_hat, a_t, a_prev):
    eps = (x_t - math.sqrt(a_t) * x0_hat) / math.sqrt(1 - a_t)
    return math.sqrt(a_prev) * x0_hat + math.sqrt(1 - a_prev) * eps


def test_x0_from_v():
    assert nb07.check_x0_from_v(_right_x0) is True
    assert nb07.check_x0_from_v(lambda x_t, v, a: a.sqrt() * x_t + (1 - a).sqrt() * v) is False  # sign
    assert nb07.check_x0_from_v(lambda x_t, v, a: x_t) is False


def test_ddim_step():
    assert nb07.check_ddim_step(_right_ddim) is True
    assert nb07.check_ddim_step(lambda x_t, x0, a, ap: math.sqrt(ap) * x0 + math.sqrt(1 - ap) * torch.randn_like(x0)) is False
    assert nb07.check_ddim_step(lambda x_t, x0, a, ap: x0) is False


@pytest.mark.parametrize("check", [nb07.check_x0_from_v, nb07.check_ddim_step])
def test_function_checkers_never_raise(check, capsys):
    def not_yet(*args):
        raise NotImplementedError

    assert check(not_yet) is False
    assert "not implemented" in capsys.readouterr().out
    assert check(lambda *a: None) is False
    assert check(lambda *a: 1 / 0) is False
    assert check(lambda *a: torch.zeros(2)) is False


def test_notebook_does_not_print_exercise_2s_answer():
    """The lesson text and code of notebook 07 never state x_0 in terms of x_t and v: exercise 2 asks for it."""
    from pathlib import Path

    import nbformat

    nb = nbformat.read(Path(__file__).resolve().parents[1] / "notebooks" / "07_generative_separation.ipynb", 4)
    answers = ("√ᾱ_t · x_t − √(1−ᾱ_t) · v", "√ᾱ_t x_t − √(1−ᾱ_t) v", "√ᾱ · x_t − √(1−ᾱ) · v",
               "a.sqrt() * x_t - (1 - a).sqrt() * v")
    for i, cell in enumerate(nb.cells):
        text = cell.source.replace("̂", "")  # combining hat: x̂_0 / v̂ count as x_0 / v
        for a in answers:
            assert a not in text, f"cell {i} gives exercise 2's answer away ({a!r})"
