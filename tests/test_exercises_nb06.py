"""Notebook 06's exercise checkers accept the right answer, reject wrong ones, never raise, and do not tell as shipped."""

from __future__ import annotations

import numpy as np
import pytest

from sgn_teach.exercises import nb06
from sgn_teach.experiments.ablate import grid
from sgn_teach.signal.stats import paired_bootstrap_ci

# --- exercise 1: the size of the grid -------------------------------------------------------------------------

def test_grid_size_right(capsys):
    expected = len(grid("small", (0, 1, 2)))
    assert nb06.check_grid_size(expected) is True
    assert "✔" in capsys.readouterr().out
    assert nb06.check_grid_size(float(expected)) is True
    assert nb06.check_grid_size(len(grid("tiny", (0,))), preset="tiny", seeds=(0,)) is True


def test_grid_size_one_seed_is_not_enough(capsys):
    per_seed = len(grid("small", (0,)))
    assert nb06.check_grid_size(per_seed) is False
    assert "one seed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [None, "?", True, [], 0, 3.5, float("nan")])
def test_grid_size_placeholders_and_wrong(wrong, capsys):
    assert nb06.check_grid_size(wrong) is False
    assert capsys.readouterr().out.startswith("✘")


def test_grid_size_as_shipped_does_not_tell(capsys):
    expected = len(grid("small", (0, 1, 2)))
    assert nb06.check_grid_size(None) is False
    out = capsys.readouterr().out
    assert str(expected) not in out and str(expected // 3) not in out


# --- exercise 2: predict the effect of w_ce = 0 ---------------------------------------------------------------

def _history(f1):
    return {"train": [], "val": [{"step": 10, "sdr": 1.0, "token_f1": f1}]}


@pytest.mark.parametrize("right", ["chance", " Chance ", "low"])
def test_ce_off_right(right, capsys):
    assert nb06.check_ce_off(right, _history(0.12)) is True
    out = capsys.readouterr().out
    assert "✔" in out and "0.12" in out


def test_ce_off_right_without_history():
    assert nb06.check_ce_off("chance") is True
    assert nb06.check_ce_off("chance", {"val": "garbage"}) is True


def test_ce_off_wrong(capsys):
    assert nb06.check_ce_off("high", _history(0.12)) is False
    assert "0.12" in capsys.readouterr().out


def test_ce_off_as_shipped_does_not_tell(capsys):
    assert nb06.check_ce_off("?", _history(0.12)) is False
    out = capsys.readouterr().out
    assert out.startswith("✘")
    for answer in ("chance", "0.12", "random initial"):  # neither the answer nor the measured value
        assert answer not in out
    assert nb06.check_ce_off(None) is False


def test_ce_off_real_run(synth_library, tmp_path, capsys):
    """The exercise as the notebook runs it (shorter): w_ce = 0 leaves the token F1 far below SGN's."""
    from sgn_teach.core.config import get_preset
    from sgn_teach.training import train

    cfg = get_preset("tiny", "sgn", train__w_ce=0.0, train__steps=4, train__val_every=4, train__val_mixtures=4,
                     train__batch_size=2)
    history = train(cfg, synth_library, tmp_path / "run", device="cpu", progress=False)
    assert "token_f1" in history["val"][-1]
    assert nb06.check_ce_off("chance", history) is True


# --- exercise 3: a paired interval and its verdict ------------------------------------------------------------

def _scores(shift, seed=0, n=40):
    rng = np.random.default_rng(seed)
    base = np.repeat(rng.normal(6, 3, n), 2) + rng.normal(0, 1, 2 * n)  # 2 sources per mixture, shared difficulty
    return base.tolist(), (base - shift + rng.normal(0, 0.3, 2 * n)).tolist()


@pytest.mark.parametrize("shift,verdict", [(1.0, "better"), (-1.0, "worse"), (0.0, "no measurable difference")])
def test_paired_interval_right(shift, verdict, capsys):
    a, b = _scores(shift)
    groups = np.arange(len(a)) // 2
    diff = paired_bootstrap_ci(a, b, groups=groups)
    truth = "no measurable difference" if diff[1] <= 0 <= diff[2] else ("better" if diff[1] > 0 else "worse")
    assert truth == verdict  # the fixture is what the test says it is
    assert nb06.check_paired_interval(diff, verdict, a, b) is True
    assert "✔" in capsys.readouterr().out
    wrong = next(v for v in ("better", "worse", "no measurable difference") if v != verdict)
    assert nb06.check_paired_interval(diff, wrong, a, b) is False


def test_paired_interval_unpaired_groups_hint(capsys):
    a, b = _scores(1.0)
    assert nb06.check_paired_interval(paired_bootstrap_ci(a, b), "better", a, b) is False
    assert "groups" in capsys.readouterr().out


def test_paired_interval_flipped_sign(capsys):
    a, b = _scores(1.0)
    groups = np.arange(len(a)) // 2
    assert nb06.check_paired_interval(paired_bootstrap_ci(b, a, groups=groups), "worse", a, b) is False
    assert "sign" in capsys.readouterr().out


def test_paired_interval_handles_missing_scores():
    a, b = _scores(1.0)
    a[3] = None  # a source scored as undefined (null in the results JSON)
    expected = nb06.expected_paired_interval(a, b)
    assert all(np.isfinite(expected))
    assert nb06.check_paired_interval(expected, "better", a, b) is True


def test_paired_interval_as_shipped_does_not_tell(capsys):
    a, b = _scores(1.0)
    mean, low, high = nb06.expected_paired_interval(a, b)
    assert nb06.check_paired_interval(None, "?", a, b) is False
    out = capsys.readouterr().out
    assert out.startswith("✘")
    for secret in (f"{mean:+.2f}", f"{low:+.2f}", f"{high:+.2f}", "better", "worse"):
        assert secret not in out
    # the interval right but no verdict yet: a hint that still does not pick one
    assert nb06.check_paired_interval((mean, low, high), "?", a, b) is False
    out = capsys.readouterr().out
    assert "measurably" not in out and f"{mean:+.2f}" not in out


@pytest.mark.parametrize("interval", [None, "x", (1, 2), (np.nan, 0, 1), 5])
def test_paired_interval_never_raises(interval):
    a, b = _scores(0.5)
    assert nb06.check_paired_interval(interval, "better", a, b) is False
    assert nb06.check_paired_interval((0, 0, 0), "better", [1.0, 2.0], [1.0]) is False  # mismatched scores
