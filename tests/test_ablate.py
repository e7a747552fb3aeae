"""The ablation grid, its summary, Figure 3/4 data and the playground, on tiny runs."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import sgn_teach.cli.main as cli
from sgn_teach.evaluation.analysis import embedding_scores, figure4_data
from sgn_teach.experiments.ablate import format_tables, grid, summarize
from sgn_teach.experiments.playground import Playground, build_config


def test_grid_covers_the_papers_ablations():
    runs = {r.name: r for r in grid("small", (0, 1, 2))}
    for v in ("baseline", "sct", "cag", "sgn", "attn", "sop"):
        assert all(f"{v}_s{s}" in runs for s in range(3))
    assert {r.overrides.get("model__depth") for r in runs.values()} >= {1, 4, 8}
    assert runs["sgn_hard_s1"].overrides == {"model__assign": "hard"}
    assert runs["sgn_mix23_s2"].overrides == {"train__n_sources_mix": (2, 3)}
    assert len({r.name for r in grid("small", (0,), ("table3",))}) == 6


def test_the_grid_runs_whole_rows_first_table_iii_before_the_rest():
    """Stopped part-way (several CPU-hours), the grid has rows with every seed, Table III's first."""
    runs = grid("small", (2, 0, 1))
    rows = [r.name.rsplit("_s", 1)[0] for r in runs]
    first = [rows[i] for i in range(0, len(rows), 3)]
    assert all(len(set(rows[i:i + 3])) == 1 and {r.seed for r in runs[i:i + 3]} == {0, 1, 2}
               for i in range(0, len(rows), 3))                     # each block of three: one row, every seed
    assert [r.seed for r in runs[:3]] == [2, 0, 1]                   # in the order the seeds were given
    assert set(first[:6]) == {"baseline", "sct", "cag", "sgn", "attn", "sop"} and first[-1] == "sgn_mix23"


def test_every_row_of_the_grid_trains_the_same_losses():
    """Issue 23: the presence loss is off for every row (baseline and SoP have no presence head)."""
    from sgn_teach.experiments.ablate import _config

    configs = [_config(run, "tiny", 5) for run in grid("tiny", (0, 1))]
    assert {c.train.w_presence for c in configs} == {0.0}
    assert {(c.train.w_rec, c.train.w_ce) for c in configs} == {(1.0, 1.0)}
    assert {c.train.steps for c in configs} == {5}


def test_embedding_scores_tell_clusters_from_noise():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 20)
    centres = rng.normal(0, 1, (5, 16)) * 5
    clustered = centres[labels] + rng.normal(0, 0.3, (100, 16))
    noise = rng.normal(0, 1, (100, 16))
    good, bad = embedding_scores(clustered, labels), embedding_scores(noise, labels)
    assert good["knn_accuracy"] > 0.95 and good["silhouette"] > 0.5
    assert bad["knn_accuracy"] < 0.5 and bad["silhouette"] < 0.1


def test_summary_pairs_scores_and_flags_noise():
    rng = np.random.default_rng(0)
    base = rng.normal(8, 3, 200)
    runs = {}
    for s in range(3):
        runs[f"sgn_s{s}"] = {"n2": {"scores": {m: (base + 1.0 + rng.normal(0, 0.2, 200)).tolist()
                                               for m in ("sdr", "sir", "sar", "si_sdr")}}}
        runs[f"baseline_s{s}"] = {"n2": {"scores": {m: (base + rng.normal(0, 0.2, 200)).tolist()
                                                    for m in ("sdr", "sir", "sar", "si_sdr")}}}
        runs[f"cag_s{s}"] = {"n2": {"scores": {m: (base + 1.0 + rng.normal(0, 0.2, 200)).tolist()
                                               for m in ("sdr", "sir", "sar", "si_sdr")}}}
    summary = summarize({"runs": runs})
    assert "hierarchical" in summary["interval"]  # the results file says which interval it used
    tables = summary["n2"]
    assert tables["sgn"]["seeds"] == 3 and "sdr_minus_sgn" not in tables["sgn"]
    d = tables["baseline"]["sdr_minus_sgn"]
    assert d["high"] < 0 and d["mean"] == pytest.approx(-1.0, abs=0.1)  # a real gap
    d = tables["cag"]["sdr_minus_sgn"]
    assert d["low"] <= 0 <= d["high"]  # the same up to noise
    text = format_tables({"tables": {"n2": tables}})
    assert "no measurable difference" in text.split("| cag |")[1].splitlines()[0]


def test_figure4_reads_the_history():
    history = {"val": [{"step": 10, "sdr": 1.0, "token_f1": 0.5, "presence_f1": 0.2},
                       {"step": 20, "sdr": 2.0, "token_f1": 0.9, "presence_f1": 0.6}]}
    d = figure4_data(history)
    assert d["step"] == [10, 20] and d["token_f1"] == [0.5, 0.9] and "token_recall" not in d


def test_playground_settings():
    cfg = build_config("cag", 30, depth=2, assign="hard", w_presence=0.0, augment=False)
    assert cfg.model.variant == "cag" and cfg.model.depth == 2 and cfg.model.assign == "hard"
    assert cfg.train.steps == 30 and cfg.train.w_presence == 0.0 and not cfg.augment.enabled
    with pytest.raises(ValueError, match="unknown setting 'colour'"):
        build_config("sgn", 10, colour="red")
    with pytest.raises(ValueError, match="variant must be"):
        build_config("unet", 10)


def test_playground_runs_and_compares(synth_library, tmp_path):
    pg = Playground(synth_library, preset="tiny", val_mixtures=8, runs_dir=tmp_path / "pg")
    a = pg.run("sgn", steps=3)
    b = pg.run("baseline", steps=3, w_rec=1.0)
    assert len(pg.rows) == 2 and a["sdr_low"] <= a["sdr"] <= a["sdr_high"] and np.isfinite(b["sdr"])
    assert "baseline, 3 steps, w_rec=1.0" in pg.table()
    fig = pg.plot()
    assert len(fig.axes[0].patches) == 2
    # every run keeps its model (to listen to) and its per-source scores (so two rows pair by mixture)
    assert all(os.path.isfile(r["checkpoint"]) for r in pg.rows) and len(a["scores"]) == 16
    mean, low, high = pg.paired(0, 1)
    assert low <= mean <= high and mean == pytest.approx(np.mean(a["scores"]) - np.mean(b["scores"]), abs=1e-6)
    c = pg.run("sgn", steps=3, n_sources=3)
    assert len(c["scores"]) == 24
    with pytest.raises(ValueError, match="do not pair"):
        pg.paired(0, 2)


def test_the_playground_widget_comes_back_after_a_failed_run(synth_library, tmp_path, capsys):
    from sgn_teach.widgets.playground import playground_widget

    pg = Playground(synth_library, preset="tiny", val_mixtures=8, runs_dir=tmp_path / "pg")
    panel = playground_widget(pg)
    controls = panel.children[0].children
    button = controls[-1]
    steps = next(c for c in controls if getattr(c, "description", "") == "steps")
    steps.min, steps.value = 0, 0  # a setting the run refuses
    button.click()
    assert not button.disabled and pg.rows == []
    assert "error: steps must be at least 1" in capsys.readouterr().out  # (an Output widget prints here without a kernel)


def test_ablate_command_end_to_end(synth_library, tmp_path, capsys):
    out = tmp_path / "abl"
    argv = ["ablate", "--data", str(synth_library), "--out", str(out), "--preset", "tiny", "--steps", "2",
            "--seeds", "0", "--only", "table3", "three", "--n-mixtures", "4", "--device", "cpu"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "| sgn | 1 |" in printed and "silhouette" in printed
    results = json.loads((out / "ablations.json").read_text())
    assert set(results["tables"]["n2"]) == {"baseline", "sct", "cag", "sgn", "attn", "sop", "sgn_mix23"}
    assert "hierarchical" in results["tables"]["interval"] and results["setup"]["interval"] == results["tables"]["interval"]
    assert "sop" not in results["tables"]["n3"] and "sgn_mix23" in results["tables"]["n3"]
    assert {"SGN", "baseline", "SoP"} <= set(results["figure3"])
    assert (out / "figure3.png").exists() and (out / "table3.png").exists()
    assert (out / "table3_differences.png").exists()
    weights = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/model.pt")}
    assert len(weights) == 7
    assert cli.main(argv) == 0  # resumable: nothing is retrained or re-scored
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/model.pt")} == weights
    again = json.loads((out / "ablations.json").read_text())
    assert again["runs"]["sgn_s0"]["n2"]["scores"] == results["runs"]["sgn_s0"]["n2"]["scores"]
    assert again["setup"]["untrained"] == []
    # a grid stopped part-way is read as it stands: seed 1 was never trained, and --finished-only trains nothing
    capsys.readouterr()
    assert cli.main([*argv[:9], "--seeds", "0", "1", *argv[11:], "--finished-only"]) == 0
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/model.pt")} == weights
    part = json.loads((out / "ablations.json").read_text())
    assert sorted(part["setup"]["untrained"]) == sorted(name.replace("_s0", "_s1") for name in results["runs"])
    assert {row["seeds"] for row in part["tables"]["n2"].values()} == {1}
    assert "not trained yet (7 runs" in capsys.readouterr().out
    assert cli.main([*argv[:4], str(tmp_path / "empty"), *argv[5:], "--finished-only"]) == 2
    err = capsys.readouterr().err
    assert "no finished run of this grid to summarise" in err and len(err.strip().splitlines()) == 1
    # a re-run with another budget never mixes it with the finished runs: one line naming the difference
    capsys.readouterr()
    assert cli.main([*argv[:7], "--steps", "3", *argv[9:]]) == 2
    err = capsys.readouterr().err
    assert "train.steps 2 → 3" in err and len(err.strip().splitlines()) == 1
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/model.pt")} == weights
    (out / "ablations.json").write_text('{"runs": {"sgn_s0": ')  # a results file cut short
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "ablations.json: cannot be read" in err and "Traceback" not in err


@pytest.mark.parametrize("flag, value", [("--steps", "0"), ("--n-mixtures", "0")])
def test_ablate_checks_its_settings_before_any_training(synth_library, tmp_path, capsys, flag, value):
    out = tmp_path / "abl"
    argv = ["ablate", "--data", str(synth_library), "--out", str(out), "--preset", "tiny", "--seeds", "0",
            "--only", "table3", "--device", "cpu", flag, value]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"{flag} must be an integer of at least 1" in err and not (out / "runs").exists()


def test_paired_difference_between_any_two_configurations():
    from sgn_teach.experiments.ablate import paired_difference

    rng = np.random.default_rng(1)
    base = np.repeat(rng.normal(8, 3, 50), 2)
    runs = {}
    for s in range(2):
        for name, shift in (("sct", 0.0), ("cag", 1.0)):
            runs[f"{name}_s{s}"] = {"n2": {"scores": {"sdr": (base + shift + rng.normal(0, 0.2, 100)).tolist()}}}
    mean, low, high = paired_difference({"runs": runs}, "cag", "sct")
    assert 0 < low < mean < high and mean == pytest.approx(1.0, abs=0.1)
    runs["cag_s1"]["n2"]["scores"]["sdr"] = (base + 4.0).tolist()  # seeds that disagree (+1 and +4 dB) ...
    _, low2, high2 = paired_difference({"runs": runs}, "cag", "sct")
    assert high2 - low2 > 2.0 > 5 * (high - low)  # ... widen the interval: seeds are resampled too
    assert paired_difference({"runs": runs}, "cag", "sgn") is None
    assert paired_difference({"runs": runs}, "cag", "sct", n=3) is None


def test_shipped_results_and_paper_table_are_well_formed():
    from sgn_teach.experiments.ablate import PAPER_TABLE3, PAPER_TABLE4, PAPER_THREE_SOURCES
    from sgn_teach.hub.shipped import RESULTS_DIR, shipped_results

    assert set(PAPER_TABLE3) == {"baseline", "sct", "cag", "sgn"}  # keyed like our rows
    for table in (PAPER_TABLE3, PAPER_TABLE4, PAPER_THREE_SOURCES):
        assert all(set(row) == {"sdr", "sir", "sar"} for row in table.values())
    # the paper's sentences: SCT adds 3.06 dB to the baseline, SCT and CAG together 3.69
    assert PAPER_TABLE3["sct"]["sdr"] - PAPER_TABLE3["baseline"]["sdr"] == pytest.approx(3.06)
    assert PAPER_TABLE3["sgn"]["sdr"] - PAPER_TABLE3["baseline"]["sdr"] == pytest.approx(3.69)
    assert PAPER_TABLE4["depth 6"] == PAPER_TABLE3["sgn"]  # Table IV's default row is Table III's SGN
    results = shipped_results("small")
    assert (results is None) == (not (RESULTS_DIR / "ablations_small.json").is_file())
    if results is not None:  # what notebook 06 reads in full mode
        assert results["setup"]["preset"] == "small"
        assert {"baseline", "sct", "cag", "sgn", "sop"} <= set(results["tables"]["n2"])
        assert "figure3" in results and "reference_n2" in results
    assert shipped_results("no-such-preset") is None


def test_interval_plots_show_the_references_and_the_paired_differences():
    """Issue 23: interval plots carry the mixture/NMF/oracle lines; the difference plot colours each verdict."""
    from sgn_teach.viz.ablation import plot_differences, plot_intervals
    from sgn_teach.viz.plots import plt

    def row(mean, low, high):
        return {"mean": mean, "low": low, "high": high}

    results = {"tables": {"n2": {
        "sgn": {"sdr": row(3.0, 2.5, 3.5)},
        "sct": {"sdr": row(2.9, 2.4, 3.4), "sdr_minus_sgn": row(-0.1, -0.3, 0.1)},
        "baseline": {"sdr": row(2.0, 1.5, 2.5), "sdr_minus_sgn": row(-1.0, -1.2, -0.8)}}},
        "reference_n2": {"rows": {"mixture": {"sdr": 0.5}, "nmf": {"sdr": 10.0}, "oracle_ibm": {"sdr": 12.0}}}}
    ax = plot_intervals(results, 2, ["baseline", "sct", "sgn"]).axes[0]
    vertical = sorted(round(line.get_xdata()[0], 2) for line in ax.lines if len(set(line.get_xdata())) == 1
                      and line.get_linestyle() != "None")
    assert {0.5, 10.0, 12.0} <= set(vertical)  # the references are on the axis ...
    assert ax.get_xlim()[1] >= 12.0  # ... so the axis is not zoomed onto the rows
    ax = plot_differences(results, 2, ["baseline", "sct", "sgn"]).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["baseline", "sct"]  # SGN has no difference to itself
    colours = [c.lines[0].get_color() for c in ax.containers]
    assert colours == ["tab:red", "tab:gray"]  # worse; no measurable difference
    plt.close("all")
