"""Every exercise checker, called the way its notebook cell calls it as shipped, hints without giving the answer.

The shipped exercise cells pass placeholders (None, "?", a function that returns None, an untouched run).
A checker must then print ✘ and a hint — and none of the values it would accept.
"""

from __future__ import annotations

import json

import pytest
import torch

from sgn_teach.exercises import nb01, nb02, nb03, nb04, nb05, nb07

SHIPPED = [
    # (checker call as the shipped cell makes it, strings of the answer that must not appear)
    (lambda: nb01.check_frequency_resolution(None), ["10.79", "10.8 "]),
    (lambda: nb01.check_warped_row(None), ["29.3", "29.2"]),
    (lambda: nb01.check_ratio_mask(lambda s, m: None), ["clamp(", "/ mix_mag", "ratio_mask_target"]),
    (lambda: nb02.check_unet_shapes(None, None), ["7:", "(2, 2)"]),
    (lambda: nb02.check_max_levels(None), ["7:", " 7 "]),
    (lambda: nb02.check_pit_count(None, None), ["6:", " 9"]),
    (lambda: nb02.check_pit_case(None, None), ["best total", "expected mean"]),
    (lambda: nb03.check_patch_count(None), ["64"]),
    (lambda: nb03.check_sequence_length(None), ["267"]),
    (lambda: nb03.check_ce_of_probability(lambda p: None), ["−log p", "-log p", "-log(p)"]),
    (lambda: nb04.check_total_mass(None, n_patches=64), ["64"]),
    (lambda: nb04.check_presence(None, torch.tensor([3.0, -3.0, 2.0]), ["a", "b", "c"], ["a", "c"]), ["['a', 'c']"]),
    (lambda: nb05.check_mixtures_per_epoch(None), ["1600"]),
    (lambda: nb05.check_cag_dropped_part("?"), ["Expected", "ce`:"]),
    (lambda: nb07.check_snr_crossing(None), [str(nb07.snr_crossing()), "0.5 − s/2"]),
    (lambda: nb07.check_x0_from_v(lambda x_t, v, a: (_ for _ in ()).throw(NotImplementedError())),
     ["√ᾱ_t · x_t − √(1−ᾱ_t) · v"]),
    (lambda: nb07.check_ddim_step(lambda *a: (_ for _ in ()).throw(NotImplementedError())),
     ["(x_t − √ᾱ_t x̂_0)/√(1−ᾱ_t)", "√ᾱ_prev x̂_0 + "]),
]


@pytest.mark.parametrize("call,answers", SHIPPED, ids=[f"{i:02d}" for i in range(len(SHIPPED))])
def test_checker_as_shipped_hints_without_the_answer(call, answers, capsys):
    assert call() is False
    out = capsys.readouterr().out
    assert out.startswith("✘"), out
    for a in answers:
        assert a not in out, f"the shipped placeholder makes the checker print the answer ({a!r}): {out}"


def test_empty_class_as_shipped_does_not_tell(capsys):
    from sgn_teach.models import CategoryAwareGrouping

    grouping = CategoryAwareGrouping(8)
    assert nb04.check_empty_class(None, grouping, torch.randn(1, 3, 8), 1) is False
    out = capsys.readouterr().out
    assert "b_o" not in out and "to_out.bias" not in out


def test_resume_as_shipped_does_not_tell(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    rows = [{"step": s, "total": 0.1} for s in range(1, 21)]
    (run / "history.json").write_text(json.dumps({"train": rows, "val": []}))
    assert nb05.check_resume(run, steps_before=20, more=5) is False
    out = capsys.readouterr().out
    assert "25" not in out and "resume=True" in out
