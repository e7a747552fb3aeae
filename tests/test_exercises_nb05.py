"""Notebook 05's exercise checkers accept the right answer, reject a wrong one, and never raise."""

from __future__ import annotations

import json

import pytest

from sgn_teach.exercises import nb05


def _write_history(run_dir, steps):
    run_dir.mkdir(parents=True, exist_ok=True)
    rows = [{"step": s, "rec": 0.1, "ce": 0.0, "presence": 0.0, "total": 0.1, "seconds": 0.0} for s in steps]
    (run_dir / "history.json").write_text(json.dumps({"train": rows, "val": []}))
    return run_dir


def test_mixtures_per_epoch(capsys):
    assert nb05.check_mixtures_per_epoch(1600) is True
    assert "✔" in capsys.readouterr().out
    assert nb05.check_mixtures_per_epoch(1600.0) is True
    assert nb05.check_mixtures_per_epoch(100) is False
    assert "1600" in capsys.readouterr().out
    assert nb05.check_mixtures_per_epoch(3200) is False


@pytest.mark.parametrize("wrong", [None, True, "lots", [], 0])
def test_mixtures_per_epoch_placeholders(wrong, capsys):
    assert nb05.check_mixtures_per_epoch(wrong) is False
    out = capsys.readouterr().out
    assert "✘" in out and "1600" not in out  # as shipped, the checker hints and does not tell


@pytest.mark.parametrize("right", ["ce", "CE", " class-constraint ", "class_constraint"])
def test_cag_dropped_part_right(right):
    assert nb05.check_cag_dropped_part(right) is True


@pytest.mark.parametrize("wrong", ["rec", "presence", 3])
def test_cag_dropped_part_wrong(wrong, capsys):
    assert nb05.check_cag_dropped_part(wrong) is False
    assert "'ce'" in capsys.readouterr().out


@pytest.mark.parametrize("placeholder", ["?", "", None])
def test_cag_dropped_part_as_shipped_does_not_tell(placeholder, capsys):
    assert nb05.check_cag_dropped_part(placeholder) is False
    out = capsys.readouterr().out
    assert "Expected" not in out and "'ce' or" in out  # lists the choices, does not pick one


def test_resume_right(tmp_path):
    run = _write_history(tmp_path / "run", range(1, 26))
    assert nb05.check_resume(run, steps_before=20, more=5) is True


def test_resume_not_done(tmp_path, capsys):
    run = _write_history(tmp_path / "run", range(1, 21))
    assert nb05.check_resume(run, steps_before=20) is False
    out = capsys.readouterr().out
    assert "resume=True" in out and "25" not in out  # as shipped: how, not the number to type


def test_resume_restarted_from_scratch(tmp_path):
    # a run trained to 20, then "continued" without resume=True: steps 1…5 again
    run = _write_history(tmp_path / "run", [*range(1, 21), *range(1, 6)])
    assert nb05.check_resume(run, steps_before=20) is False


def test_resume_wrong_count(tmp_path):
    run = _write_history(tmp_path / "run", range(1, 46))  # steps set to 25 more instead of 25 in total
    assert nb05.check_resume(run, steps_before=20) is False


def test_resume_never_raises(tmp_path):
    assert nb05.check_resume(tmp_path / "missing", steps_before=3) is False
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "history.json").write_text("not json")
    assert nb05.check_resume(tmp_path / "bad", steps_before=3) is False
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "history.json").write_text(json.dumps({"train": [{"no_step": 1}]}))
    assert nb05.check_resume(tmp_path / "odd", steps_before=0, more=1) is False
    assert nb05.check_resume(tmp_path / "odd", steps_before="x") is False


def test_resume_real_run(synth_library, tmp_path):
    """The exercise's answer, done for real on the tiny preset, passes the checker."""
    from sgn_teach.core.config import get_preset
    from sgn_teach.training import train

    run = tmp_path / "run"
    cfg = get_preset("tiny", train__steps=2, train__batch_size=2)
    train(cfg, synth_library, run, device="cpu", progress=False, validate_during=False)
    cfg.train.steps = 2 + 5
    train(cfg, synth_library, run, device="cpu", resume=True, progress=False, validate_during=False)
    assert nb05.check_resume(run, steps_before=2, more=5) is True
