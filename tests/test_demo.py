"""`python -m sgn_teach demo` on a small library: it prints the table and writes wavs, a figure and a report."""

import json

import numpy as np
import pytest
import soundfile as sf

from sgn_teach.experiments import demo
from sgn_teach.signal.metrics import si_sdr


def test_demo_writes_report_figure_and_wavs(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "DATA_CLIPS_PER_CLASS", 10)  # a smaller library than the real demo's 60 per class
    report = demo.run_demo(out=tmp_path, n_mixtures=4, device="cpu", n_examples=2)
    out = capsys.readouterr().out
    assert "| sgn |" in out and "| sop |" in out and "| oracle_ibm |" in out
    assert set(report["rows"]) == {"sgn", "sop", "mixture", "oracle_ibm", "oracle_irm", "nmf"}
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["rows"]["sgn"]["sdr"] == pytest.approx(report["rows"]["sgn"]["sdr"])
    mean, low, high = saved["differences"]["sgn-sop"]   # paired interval of SGN − SoP over the same sources
    diff = np.mean(report["scores"]["sgn"]["sdr"]) - np.mean(report["scores"]["sop"]["sdr"])
    assert mean == pytest.approx(diff) and low <= mean <= high
    assert "sgn − sop:" in out
    # as a user meets it: the labels-given setting holds the table's own mixtures, so the same SGN score
    views = saved["user_view"]
    assert views["labels given, 2 sources"]["rows"]["SGN"]["sdr"] == pytest.approx(report["rows"]["sgn"]["sdr"])
    named = views["named by the model, 2 sources"]
    assert named["setup"]["classes"] == "auto" and named["presence"]["SGN"]["mixtures"] == 4
    assert "| named by the model, 2 sources |" in out and "SoP" in out
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    folders = sorted(p for p in tmp_path.iterdir() if p.name.startswith("mixture_"))
    assert len(folders) == 2
    names = {p.name for p in folders[0].iterdir()}
    assert "mixture.wav" in names and sum(n.endswith("_sgn.wav") for n in names) == 2
    for folder in folders:  # SoP's slots have no class: each name gets the slot that pairs best (summed SI-SDR)
        cls = sorted(n[: -len("_reference.wav")] for n in (p.name for p in folder.iterdir()) if n.endswith("_reference.wav"))
        ref = np.stack([sf.read(folder / f"{c}_reference.wav")[0] for c in cls])
        est = np.stack([sf.read(folder / f"{c}_sop.wav")[0] for c in cls])
        kept = si_sdr(est[0], ref[0]) + si_sdr(est[1], ref[1])
        assert kept >= si_sdr(est[1], ref[0]) + si_sdr(est[0], ref[1]) - 1e-3
    # the second run reuses the data instead of rendering it again
    demo.run_demo(out=tmp_path, n_mixtures=2, device="cpu", n_examples=1)
    assert "reusing" in capsys.readouterr().out


def test_demo_train_retrains_with_the_shipped_recipe_on_the_variety_library(tmp_path, monkeypatch, capsys):
    """`demo --train` must rebuild what ships: SHIPPED_RECIPES on the variety library (not the plain preset), in the
    stages of SHIPPED_STAGES (the same run resumed with the larger budget)."""
    import shutil

    import sgn_teach.course
    import sgn_teach.experiments.runner
    from sgn_teach.core.config import SHIPPED_RECIPES, SHIPPED_STAGES, get_preset
    from sgn_teach.hub.shipped import shipped_checkpoint

    monkeypatch.setattr(demo, "DATA_CLIPS_PER_CLASS", 10)
    seen = {}

    def fake_train(cfg, data, out, **kwargs):  # record each stage and stand the shipped weights in for its result
        assert kwargs["resume"]   # every stage continues the run folder of the one before
        seen.setdefault(cfg.model.variant, []).append((cfg, data, out))
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(shipped_checkpoint(f"{cfg.model.variant}_small"), out / "model.pt")

    monkeypatch.setattr(sgn_teach.experiments.runner, "train", fake_train)
    variety = tmp_path / "data_variety"
    variety.mkdir()
    (variety / ".complete").write_text("variety, stand-in\n")   # already rendered: reused, not rendered again
    demo.run_demo(out=tmp_path, train=True, n_mixtures=2, device="cpu", n_examples=1)
    assert set(seen) == {"sgn", "sop"}
    for variant, stages in seen.items():
        assert [cfg.train.steps for cfg, _, _ in stages] == list(SHIPPED_STAGES[variant])
        assert stages[-1][0] == get_preset("small", variant, **SHIPPED_RECIPES[variant])
        assert all(data == variety and out == stages[0][2] for _, data, out in stages)   # one run folder
    assert "reusing" in capsys.readouterr().out
    # without FluidSynth there is no variety library: the course library (synthesized) trains instead, and it says so
    monkeypatch.setattr(sgn_teach.course, "renderer_problem", lambda: "FluidSynth is not installed")
    course = tmp_path / "course"
    assert demo.make_training_data(tmp_path / "elsewhere", course) == course
    assert "FluidSynth is not installed" in capsys.readouterr().out and not (tmp_path / "elsewhere").exists()
