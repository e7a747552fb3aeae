"""The paper's ablations as one resumable grid: Tables III and IV, Figures 3 and 4, three sources (§IV-C).

    python -m sgn_teach ablate --data DIR --out DIR [--preset small] [--steps N] [--seeds 0 1 2]

Every run trains one configuration on the same data, budget and seeds and is
scored on the *same* held-out mixtures (the `test` split, seeded), so rows can be
compared mixture by mixture:

* **Table III** — `baseline`, `sct`, `cag`, `sgn`, our control `attn` (SGN with the
  grouping's softmax over classes replaced by attention over patches: the same parameters,
  one difference) and `sop`, the audio-only SoP of Table I, each with every seed;
* **Table IV** — SGN with other transformer depths (the paper's 1/3/6/12, scaled to
  the preset) and with hard (straight-through Gumbel) assignment;
* **three sources** — SGN trained on 2 sources and SGN trained on a 2/3 mix, both
  scored on 3-source test mixtures (class-conditioned models only: SoP's output
  slots are fixed at 2);
* **Figure 3** — t-SNE and separability scores of the source features of SGN, the
  baseline and SoP (seed 0); **Figure 4** — token and presence precision/recall/F1
  over training, from the runs' histories.

Every row trains with the presence loss **off** (``train.w_presence = 0``, :data:`GRID_OVERRIDES`):
`baseline` and `sop` have no presence head, so leaving it on for the others would make them
differ from `baseline` in one more thing than the row says. The grid measures separation with
the labels given (the paper's protocol); naming the sources is the shipped models' job.

Intervals are 95 % hierarchical bootstrap intervals (:data:`INTERVAL`): each resample draws
the seeds with replacement, then the mixtures within each seed (a mixture's sources together),
so seed-to-seed training variance widens them. A difference to SGN pairs seed r with seed r on
the same mixtures; one whose interval contains 0 is reported as "no measurable difference".
Results go to OUT/ablations.json; finished runs and evaluations are reused, so an
interrupted grid continues where it stopped. ``finished_only=True`` (``--finished-only``) trains
nothing: it scores and tabulates the runs that have finished, and the results file lists the
runs not trained yet (``setup["untrained"]``), so a grid stopped part-way can be read as it stands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..core.atomic import write_json
from ..core.config import get_preset
from ..signal.stats import hierarchical_bootstrap_ci, mixture_groups

DEPTHS = {"tiny": (1, 2, 3), "small": (1, 2, 4, 8), "paper": (1, 3, 6, 12)}
TABLE3_VARIANTS = ("baseline", "sct", "cag", "sgn", "attn", "sop")
GROUPS = ("table3", "table4", "three")
METRICS = ("sdr", "sir", "sar", "si_sdr")
GRID_OVERRIDES: dict[str, Any] = {"train__w_presence": 0.0}  # every row alike: baseline and sop have no presence head
INTERVAL = ("95 % hierarchical bootstrap: seeds resampled, then mixtures (a mixture's sources together) within each "
            "seed; differences pair seed r with seed r on the same mixtures")

# The paper's numbers (Mo & Tian, arXiv 2407.03736), on MUSIC: real solo recordings mixed in pairs, scored with
# mir_eval — not our synthetic data, so they are a reference for the *ordering*, never a target. SDR/SIR/SAR in dB.
PAPER_TABLE3: dict[str, dict[str, float]] = {  # §IV-D, Table III: source class tokens (SCT) and grouping (CAG)
    "baseline": {"sdr": 1.51, "sir": 5.92, "sar": 6.21},  # neither
    "sct": {"sdr": 4.57, "sir": 8.36, "sar": 9.55},  # "adding SCT improves the baseline by 3.06 SDR"
    "cag": {"sdr": 3.32, "sir": 7.73, "sar": 8.56},  # "only CAG also increases"
    "sgn": {"sdr": 5.20, "sir": 10.81, "sar": 10.67},  # both: "+3.69 SDR"
}
"""Table III of the paper, keyed like our rows (its check-mark columns are fixed by the paper's sentences)."""

PAPER_TABLE4: dict[str, dict[str, float]] = {  # §IV-D, Table IV: transformer depth and grouping strategy
    "depth 1": {"sdr": 4.32, "sir": 8.18, "sar": 8.07},
    "depth 3": {"sdr": 5.14, "sir": 10.80, "sar": 10.51},
    "depth 6": {"sdr": 5.20, "sir": 10.81, "sar": 10.67},  # the paper's SGN
    "depth 12": {"sdr": 5.18, "sir": 10.65, "sar": 10.59},
    "depth 6, hard": {"sdr": 3.25, "sir": 6.53, "sar": 6.36},  # Gumbel-softmax in training
}
"""Table IV of the paper. Our presets scale the depths (:data:`DEPTHS`), so rows pair by rank, not by number."""

PAPER_THREE_SOURCES: dict[str, dict[str, float]] = {  # §IV-C: trained on 2 sources, tested on 3, no retraining
    "sgn": {"sdr": 3.18, "sir": 6.12, "sar": 5.98},
    "sop": {"sdr": 2.57, "sir": 5.56, "sar": 5.63},
}
"""The paper's three-source transfer (SGN vs SoP)."""


@dataclass
class Run:
    """One training run of the grid."""

    name: str
    variant: str
    seed: int
    overrides: dict[str, Any] = field(default_factory=dict)
    label: str = ""


def grid(preset: str, seeds: tuple[int, ...], groups: tuple[str, ...] = GROUPS) -> list[Run]:
    """The runs of the requested groups (Table IV and three-sources reuse Table III's SGN runs).

    Ordered configuration by configuration, every seed of one before the next (Table III first, then hard
    assignment, the depths, the 2/3 mix): a grid stopped part-way has whole rows with all their seeds — the
    rows the paper's tables need first — rather than every row with one seed.
    """
    default_depth = get_preset(preset).model.depth
    runs: list[Run] = []
    for s in seeds:
        if "table3" in groups or "table4" in groups or "three" in groups:
            runs.append(Run(f"sgn_s{s}", "sgn", s, label=f"sgn (depth {default_depth}, soft)"))
        if "table3" in groups:
            runs += [Run(f"{v}_s{s}", v, s, label=v) for v in TABLE3_VARIANTS if v != "sgn"]
        if "table4" in groups:
            runs += [Run(f"sgn_depth{d}_s{s}", "sgn", s, {"model__depth": d}, label=f"sgn depth {d}")
                     for d in DEPTHS[preset] if d != default_depth]
            runs.append(Run(f"sgn_hard_s{s}", "sgn", s, {"model__assign": "hard"}, label="sgn hard assignment"))
        if "three" in groups:
            runs.append(Run(f"sgn_mix23_s{s}", "sgn", s, {"train__n_sources_mix": (2, 3)},
                            label="sgn trained on a 2/3 mix"))
    priority = ["sgn", *(v for v in TABLE3_VARIANTS if v != "sgn"), "sgn_hard",
                *(f"sgn_depth{d}" for d in DEPTHS[preset]), "sgn_mix23"]
    return sorted(runs, key=lambda r: (priority.index(_prefix(r.name)), seeds.index(r.seed)))  # stable


def _config(run: Run, preset: str, steps: int | None):
    cfg = get_preset(preset, variant=run.variant, **run.overrides)  # the preset's recipe (the shipped models')
    cfg.train.seed = run.seed
    if steps:
        cfg.train.steps = steps
        cfg.train.warmup_steps = min(cfg.train.warmup_steps, max(steps // 20, 1))
    cfg.train.w_presence = GRID_OVERRIDES["train__w_presence"]
    cfg.train.val_every = max(cfg.train.steps // 8, 1)  # Figure 4 needs a curve
    cfg.train.val_mixtures = min(cfg.train.val_mixtures, 64)
    cfg.train.ckpt_every = max(cfg.train.steps // 10, 1)
    return cfg


def run_ablations(data: str | Path, out: str | Path, preset: str = "small", steps: int | None = None,
                  seeds: tuple[int, ...] = (0, 1, 2), groups: tuple[str, ...] = GROUPS, n_mixtures: int = 100,
                  device: str = "auto", progress: bool = True, finished_only: bool = False) -> dict[str, Any]:
    """Train and score every run of the grid (resumable); returns the results dict written to OUT/ablations.json.

    `finished_only`: train nothing; score and tabulate only the runs whose model.pt exists (an interrupted run
    stays as it is) and record the others under ``setup["untrained"]``.
    """
    from ..core.checks import require_int
    from ..core.device import get_device
    from ..core.errors import ConfigError, DataError
    from ..data import SoloLibrary
    from ..evaluation.analysis import figure3_data, figure4_data
    from ..evaluation.evaluate import evaluate
    from ..hub.build import load_checkpoint
    from ..training.common import MODEL_NAME
    from .runner import trained_run

    if steps is not None:
        require_int("--steps", steps)
    require_int("--n-mixtures", n_mixtures)
    if not seeds:
        raise ConfigError("--seeds names no seed")
    out = Path(out)
    path = out / "ablations.json"
    try:
        results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read ({type(exc).__name__}); delete it to score the finished runs "
                        "again (they are kept in runs/)") from None
    results.setdefault("runs", {})
    results["setup"] = {"data": str(data), "preset": preset, "steps": steps or get_preset(preset).train.steps,
                        "seeds": list(seeds), "groups": list(groups), "n_mixtures": n_mixtures,
                       "overrides": dict(GRID_OVERRIDES), "interval": INTERVAL}
    dev = get_device(device)
    runs = grid(preset, tuple(seeds), tuple(groups))
    untrained = [run.name for run in runs if not (out / "runs" / run.name / MODEL_NAME).exists()]
    if finished_only:
        runs = [run for run in runs if run.name not in untrained]
        if not runs:
            raise DataError(f"{out}: no finished run of this grid to summarise; run it without --finished-only "
                            "to train it")
    results["setup"]["untrained"] = untrained if finished_only else []
    for run in runs:  # a finished run of another budget or setting: refused before any work
        if (out / "runs" / run.name / MODEL_NAME).exists():
            trained_run(_config(run, preset, steps), data, out / "runs" / run.name)
    lib = None
    for run in tqdm(runs, desc="ablations", disable=not progress):
        cfg = _config(run, preset, steps)
        run_dir = out / "runs" / run.name
        trained_run(cfg, data, run_dir, device=str(dev), progress=progress)  # refuses a run of another budget
        # 3-source scores for every class-conditioned model of Table III and the 2/3-mix runs
        evals = [2] + ([3] if "three" in groups and run.variant != "sop" and
                       "depth" not in run.name and "hard" not in run.name else [])
        entry = results["runs"].setdefault(run.name, {})
        for n in evals:
            key = f"n{n}"
            if key in entry and entry[key].get("n_mixtures") == n_mixtures:
                continue
            model, cfg_m, classes, step, state = load_checkpoint(run_dir / MODEL_NAME, device=dev)
            lib = lib or SoloLibrary(data, split="test", classes=classes)
            rep = evaluate({"m": model}, lib, cfg_m.audio, n_sources=n, n_mixtures=n_mixtures, seed=0, rows=(),
                           device=dev, progress=False)
            entry[key] = {"n_mixtures": n_mixtures, "scores": rep["scores"]["m"],
                          "presence": rep["presence"].get("m"), "token": rep["token"].get("m")}
        history = json.loads((run_dir / "history.json").read_text())
        entry.update({"variant": run.variant, "seed": run.seed, "label": run.label, "overrides":
                      {k: list(v) if isinstance(v, tuple) else v for k, v in run.overrides.items()},
                      "train_seconds": history.get("seconds"), "figure4": figure4_data(history)})
        write_json(path, results)
    _, cfg_m, classes, _, _ = load_checkpoint(out / "runs" / runs[0].name / MODEL_NAME)  # the grid's audio and classes
    nmf = None  # fitted once, on the train split, for the 2- and the 3-source reference rows alike
    for n in (2, 3) if "three" in groups else (2,):
        key = f"reference_n{n}"
        if key not in results or results[key].get("n_mixtures") != n_mixtures:
            lib = lib or SoloLibrary(data, split="test", classes=classes)
            if nmf is None:
                from ..evaluation.nmf import SupervisedNMF, class_magnitudes
                from ..signal.spectral import SpectralFrontEnd

                nmf = SupervisedNMF().fit(class_magnitudes(SoloLibrary(data, split="train", classes=classes),
                                                           SpectralFrontEnd(cfg_m.audio),
                                                           sample_rate=cfg_m.audio.sample_rate))
            rep = evaluate({}, lib, cfg_m.audio, n_sources=n, n_mixtures=n_mixtures, seed=0, device=dev, progress=False,
                           nmf=nmf)
            results[key] = {"n_mixtures": n_mixtures, "rows": rep["rows"]}
            write_json(path, results)
    if "table3" in groups and "figure3" not in results:
        names = {"SGN": "sgn_s0", "baseline": "baseline_s0", "SoP": "sop_s0"}
        models = {}
        for label, name in names.items():
            if (out / "runs" / name / MODEL_NAME).exists():
                models[label] = load_checkpoint(out / "runs" / name / MODEL_NAME)[0]
        if models:
            lib = SoloLibrary(data, split="test", classes=classes)
            results["figure3"] = figure3_data(models, lib, cfg_m.audio, n_mixtures=n_mixtures, seed=0)
            write_json(path, results)
    results["tables"] = summarize(results)
    write_json(path, results)
    return results


def _prefix(name: str) -> str:
    """A run's configuration: 'sgn_depth2_s1' → 'sgn_depth2'."""
    return name.rsplit("_s", 1)[0]


def seed_scores(results: dict[str, Any], prefix: str, n: int, metric: str) -> dict[int, np.ndarray]:
    """Per-source scores of every seed of a configuration on the n-source mixtures: {seed: (S,)} (null → NaN)."""
    return {int(name.rsplit("_s", 1)[1]):  # the run's seed, from its name ('sgn_depth2_s1' → 1)
            np.asarray([np.nan if v is None else v for v in r[f"n{n}"]["scores"][metric]], dtype=np.float64)
            for name, r in results.get("runs", {}).items() if _prefix(name) == prefix and f"n{n}" in r}


def _seed_mean(results: dict[str, Any], prefix: str, n: int, metric: str) -> np.ndarray | None:
    """Per-source scores of a configuration averaged over its seeds: (S,), or None if no run has them."""
    per_seed = seed_scores(results, prefix, n, metric)
    return np.nanmean(np.stack(list(per_seed.values())), axis=0) if per_seed else None


def paired_difference(results: dict[str, Any], a: str, b: str, n: int = 2,
                      metric: str = "sdr") -> tuple[float, float, float] | None:
    """`metric` of configuration `a` minus `b` on the same n-source mixtures: (mean, low, high), a 95 %
    hierarchical bootstrap interval (:data:`INTERVAL`) over the seeds both have, seed r paired with seed r;
    None if they share no seed."""
    sa, sb = seed_scores(results, a, n, metric), seed_scores(results, b, n, metric)
    common = sorted(set(sa) & set(sb))
    if not common:
        return None
    diffs = np.stack([sa[s] - sb[s] for s in common])  # (R, S): per seed, per source
    return hierarchical_bootstrap_ci(diffs, groups=mixture_groups(diffs.shape[1], n))


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Rows of Tables III/IV and the three-source table: mean, 95 % interval and the paired difference to SGN.

    The intervals are hierarchical (:data:`INTERVAL`); the returned dict says so under "interval".
    """
    configs = sorted({_prefix(name) for name in results.get("runs", {})})
    tables: dict[str, Any] = {"interval": INTERVAL}
    for n in (2, 3):
        rows = {}
        for prefix in configs:
            per_seed = seed_scores(results, prefix, n, "sdr")
            if not per_seed:
                continue
            row: dict[str, Any] = {"seeds": len(per_seed)}
            for metric in METRICS:
                values = np.stack(list(seed_scores(results, prefix, n, metric).values()))  # (R, S)
                mean, lo, hi = hierarchical_bootstrap_ci(values, groups=mixture_groups(values.shape[1], n))
                row[metric] = {"mean": mean, "low": lo, "high": hi}
            diff = paired_difference(results, prefix, "sgn", n) if prefix != "sgn" else None
            if diff is not None:
                row["sdr_minus_sgn"] = {"mean": diff[0], "low": diff[1], "high": diff[2]}
            rows[prefix] = row
        tables[f"n{n}"] = rows
    return tables


def _num(v: float | None) -> str:
    """A table cell: 2 decimals, or — for a value that is undefined (NaN, or null in the JSON file)."""
    return "—" if v is None or not np.isfinite(v) else f"{v:.2f}"


def format_tables(results: dict[str, Any]) -> str:
    """The summary as Markdown (SDR/SIR/SAR with 95 % intervals; the difference to SGN)."""
    lines = []
    untrained = results.get("setup", {}).get("untrained")
    if untrained:
        lines.append(f"not trained yet ({len(untrained)} runs: their rows below have fewer seeds, or are missing): "
                     + ", ".join(untrained))
    tables = results.get("tables", {})
    interval = tables.get("interval", "95 % bootstrap intervals over mixtures of the seeds' mean (an older file)")
    for n, rows in tables.items():
        if n == "interval" or not rows:
            continue
        lines += [f"\n{n[1:]}-source test mixtures (mean over seeds; {interval})",
                  "| configuration | seeds | SDR | SIR | SAR | SDR − SGN (paired) |", "|---|---:|---|---|---|---|"]
        for name, r in rows.items():
            cells = [f"{_num(r[m]['mean'])} [{_num(r[m]['low'])}, {_num(r[m]['high'])}]" for m in ("sdr", "sir", "sar")]
            diff = r.get("sdr_minus_sgn")
            dcell = "—" if diff is None else (f"{diff['mean']:+.2f} [{diff['low']:+.2f}, {diff['high']:+.2f}]" +
                                              (" (no measurable difference)" if diff["low"] <= 0 <= diff["high"] else ""))
            lines.append(f"| {name} | {r['seeds']} | " + " | ".join(cells) + f" | {dcell} |")
        ref = results.get(f"reference_{n}", {}).get("rows", {})
        for name in ("nmf", "mixture", "oracle_ibm"):
            if name in ref:
                lines.append(f"| {name} (reference) | — | {_num(ref[name]['sdr'])} | {_num(ref[name]['sir'])} | "
                             f"{_num(ref[name]['sar'])} | |")
    fig3 = results.get("figure3", {})
    if fig3:
        lines += ["\nFigure 3: how well the source features separate the classes (held-out mixtures)",
                  "| model | features | silhouette (cosine) | 5-NN accuracy |", "|---|---|---:|---:|"]
        for model, kinds in fig3.items():
            for kind, d in kinds.items():
                lines.append(f"| {model} | {kind} | {d['silhouette']:.3f} | {d['knn_accuracy']:.3f} |")
    return "\n".join(lines)


__all__ = ["DEPTHS", "GRID_OVERRIDES", "GROUPS", "INTERVAL", "PAPER_THREE_SOURCES", "PAPER_TABLE3", "PAPER_TABLE4",
           "Run", "format_tables", "grid", "paired_difference", "run_ablations", "seed_scores", "summarize"]
