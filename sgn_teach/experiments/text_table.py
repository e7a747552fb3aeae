"""Notebook 08's table: the paper's setting (Mahmud et al., ICLR 2024, Table 1) on the course data.

Six text-conditioned separators, the same network, data, steps and seed, differing only in the losses:

| row | losses | solo sources |
|---|---|---|
| `unsup` | mix-and-separate on mixtures of mixtures | none |
| `unsup+bimodal` | + bi-modal audio–text similarity | none |
| `unsup+bimodal+consistency` | + consistency (the weakly-supervised model) | none |
| `unsup+consistency` | mix-and-separate + consistency, no bi-modal loss (what consistency alone adds) | none |
| `supervised` | weighted BCE against the solo sources | all |
| `semi (5 %)` | the three weak losses + supervised on 5 % of the mixtures | 5 % |

Each is evaluated on the same seeded held-out mixtures of 2, 3 and 4 instruments
(prompted with each instrument's name), with the unprocessed mixture as the floor;
confidence intervals are paired bootstraps over mixtures (sgn_teach.signal.stats). The
separators train on one SoundFont (default fluidr3) and the course audio–text
embedding was trained on another (csound), so the embedding never heard the
separator's timbres, as CLAP had never heard MUSIC's.

:func:`run_table` is resumable: finished runs and evaluations are read back from
the output folder, interrupted runs continue. ``benchmarks/bench_weak.py`` is its
command line; the JSON it writes ships as ``sgn_teach/checkpoints/weak_table.json``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core.atomic import write_json
from ..core.config import Config, get_preset
from ..data import SoloLibrary
from ..evaluation.evaluate import evaluate
from ..hub.build import load_checkpoint
from ..hub.shipped import SHIPPED_DIR
from ..signal.stats import bootstrap_ci, paired_bootstrap_ci, paired_bootstrap_ratio_ci, per_mixture

SHIPPED_TABLE = SHIPPED_DIR / "weak_table.json"
WEAK = "unsup+bimodal+consistency"
VARIANTS: dict[str, dict[str, Any]] = {
    "unsup": dict(unsup=True, bimodal=False, consistency=False, sup_fraction=0.0),
    "unsup+bimodal": dict(unsup=True, bimodal=True, consistency=False, sup_fraction=0.0),
    WEAK: dict(unsup=True, bimodal=True, consistency=True, sup_fraction=0.0),
    "unsup+consistency": dict(unsup=True, bimodal=False, consistency=True, sup_fraction=0.0),
    "supervised": dict(unsup=False, bimodal=False, consistency=False, sup_fraction=1.0),
    "semi (5 %)": dict(unsup=True, bimodal=True, consistency=True, sup_fraction=0.05),
}
# what the paper reports on MUSIC (relative figures, quoted in issue 10 from the paper's abstract and tables)
PAPER = {
    "gain_over_unsup_pct": {"2": 71.0, "3": 102.0, "4": 129.0},
    "weak_share_of_supervised_pct": 97.5,
    "semi_5pct_beats_supervised": True,
}


def variant_config(name: str, preset: str = "small", steps: int = 600, batch_size: int = 8, seed: int = 0,
                   embedding: str = "course", **train_overrides: Any) -> Config:
    """The config of table row `name`: the preset's text separator, cosine schedule, ratio targets."""
    overrides = dict(train__steps=steps, train__batch_size=batch_size, train__seed=seed, train__mask="ratio",
                     train__schedule="cosine", train__lr=2e-3, train__warmup_steps=max(steps // 20, 1),
                     train__ckpt_every=max(steps // 10, 1), train__val_every=max(steps // 2, 1), train__val_mixtures=32,
                     train__precision="auto")
    overrides.update(train_overrides)
    cfg = get_preset(preset, "text", **overrides)
    for k, v in VARIANTS[name].items():
        setattr(cfg.weak, k, v)
    cfg.weak.embedding = embedding
    return cfg


def run_dir(out: str | os.PathLike, name: str) -> Path:
    """The run folder of table row `name` inside `out` ("semi (5 %)" → out/semi__5)."""
    return Path(out) / "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")


def run_table(data: str | os.PathLike, out: str | os.PathLike, preset: str = "small", steps: int = 600,
              batch_size: int = 8, n_mixtures: int = 100, n_sources: tuple[int, ...] = (2, 3, 4),
              soundfonts: list[str] | None = None, embedding: str = "course", device: str = "auto",
              variants: list[str] | None = None, seed: int = 0, n_boot: int = 2000, progress: bool = True,
              embedding_model: torch.nn.Module | None = None, json_path: str | os.PathLike | None = None,
              command: str | None = None) -> dict[str, Any]:
    """Train every row (skipping finished ones), evaluate on 2/3/4-source test mixtures, build the table.

    Returns the table (see :func:`build_table`), also written to `out`/table.json and `json_path`.
    """
    from ..training.common import MODEL_NAME
    from ..training.recipes import TextRecipe
    from .runner import trained_run

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = variants or list(VARIANTS)
    timings: dict[str, float] = {}
    for name in names:
        run = run_dir(out, name)
        cfg = variant_config(name, preset, steps, batch_size, seed, embedding)
        if progress and not (run / MODEL_NAME).exists():
            print(f"== training {name} ({steps} steps of {batch_size} captioned pairs, preset {preset})")
        trained_run(cfg, data, run, device=device, progress=progress, validate_during=False, soundfonts=soundfonts,
                    recipe=TextRecipe(embedding_model) if embedding_model is not None else None)
        timings[name] = json.loads((run / "history.json").read_text()).get("seconds", float("nan"))
    from ..core.device import get_device

    dev = get_device(device)
    loaded = {name: load_checkpoint(run_dir(out, name) / MODEL_NAME, device=dev) for name in names}
    models = {name: v[0] for name, v in loaded.items()}
    audio = loaded[names[0]][1].audio
    test = SoloLibrary(data, split="test", soundfonts=soundfonts)
    reports = {}
    for n in n_sources:
        path = out / f"eval_{n}src_{n_mixtures}.json"
        if path.exists() and set(json.loads(path.read_text())["scores"]) >= set(names):
            reports[n] = json.loads(path.read_text())
            continue
        t0 = time.time()
        rep = evaluate(models, test, audio, n_sources=n, n_mixtures=n_mixtures, seed=seed, rows=("mixture",),
                       device=dev, progress=progress)
        rep["setup"]["eval_seconds"] = round(time.time() - t0, 1)
        write_json(path, rep)
        reports[n] = rep
    setup = {"data": str(data), "soundfonts": soundfonts, "preset": preset, "steps": steps, "batch_size": batch_size,
             "n_mixtures": n_mixtures, "seed": seed, "embedding": embedding, "train_seconds": timings,
             "eval_seconds": {str(n): r["setup"].get("eval_seconds") for n, r in reports.items()}, "command": command,
             "loss_forms": {k: getattr(cfg.weak, k) for k in ("consistency_form", "bimodal_form")},
             "loss_weights": {k: getattr(cfg.weak, k) for k in ("w_bimodal", "w_consistency")}}
    table = build_table(reports, names, setup, n_boot=n_boot)
    write_json(out / "table.json", table)
    if json_path:
        write_json(json_path, table)
    return table


def build_table(reports: dict[int, dict[str, Any]], names: list[str], setup: dict[str, Any],
                n_boot: int = 2000) -> dict[str, Any]:
    """Means, 95 % intervals and the paper's comparisons from evaluation reports {N: report}.

    Per N: for every row the mean SDR / SIR / SAR / SI-SDR with a bootstrap interval of the SDR;
    `vs_unsup` the paired difference to `unsup` (dB, interval) and the relative gain (%);
    `share_of_supervised` mean SDR ÷ the supervised row's, with a paired interval.
    """
    table: dict[str, Any] = {"setup": setup, "paper": PAPER, "rows": names, "results": {}}
    for n, rep in sorted(reports.items()):
        res: dict[str, Any] = {}
        mix_sdr = {name: per_mixture(rep["scores"][name]["sdr"], n) for name in [*names, "mixture"]
                   if name in rep["scores"]}
        for name, sdr in mix_sdr.items():
            row = rep["rows"][name]
            mean, low, high = bootstrap_ci(sdr, n_boot=n_boot)
            entry = {"sdr": mean, "sdr_ci": [low, high], "sir": row["sir"], "sar": row["sar"], "si_sdr": row["si_sdr"],
                     "n_mixtures": int(np.isfinite(sdr).sum())}
            if "unsup" in mix_sdr and name not in ("unsup", "mixture"):
                d, lo, hi = paired_bootstrap_ci(sdr, mix_sdr["unsup"], n_boot=n_boot)
                base = float(np.nanmean(mix_sdr["unsup"]))
                # a % of a baseline at or below 0 dB has no meaning (its sign flips, it explodes near 0): None
                entry["vs_unsup"] = {"diff": d, "ci": [lo, hi], "gain_pct": 100 * d / base if base > 0 else None,
                                     "unsup_sdr": base}
            if "supervised" in mix_sdr and name not in ("supervised", "mixture"):
                r, lo, hi = paired_bootstrap_ratio_ci(sdr, mix_sdr["supervised"], n_boot=n_boot)
                d, dlo, dhi = paired_bootstrap_ci(sdr, mix_sdr["supervised"], n_boot=n_boot)
                entry["share_of_supervised"] = {"ratio": r, "ci": [lo, hi], "diff": d, "diff_ci": [dlo, dhi],
                                                "supervised_sdr": float(np.nanmean(mix_sdr["supervised"]))}
            res[name] = entry
        table["results"][str(n)] = res
    return table


def relative_gain(v: dict[str, Any] | None) -> float | None:
    """The % gain over `unsup` of a `vs_unsup` entry, or None where `unsup`'s SDR is at or below 0 dB (a % of it is
    meaningless; tables written before this guard kept 100·diff/|unsup|, which this ignores)."""
    if not v or v.get("gain_pct") is None or not v.get("unsup_sdr", 0.0) > 0:
        return None
    return float(v["gain_pct"])


def format_weak_table(table: dict[str, Any]) -> str:
    """The table as Markdown: one row per model, per N the mean SDR [95 % CI] and the gain over `unsup` in dB
    and, where `unsup`'s SDR is above 0 dB, in % of it."""
    ns = list(table["results"])
    head = "| model | " + " | ".join(f"SDR, {n} sources [95 % CI] | vs unsup, {n} src (dB [CI], %)" for n in ns) + " |"
    lines = [head, "|---|" + "---:|---:|" * len(ns)]
    for name in [*table["rows"], "mixture"]:
        cells = []
        for n in ns:
            e = table["results"][n].get(name)
            if e is None:
                cells += ["", ""]
                continue
            cells.append(f"{e['sdr']:.2f} [{e['sdr_ci'][0]:.2f}, {e['sdr_ci'][1]:.2f}]")
            v = e.get("vs_unsup")
            g = relative_gain(v)
            pct = f", {g:+.0f} %" if g is not None else (", % n/a (unsup ≤ 0 dB)" if v else "")
            cells.append(f"{v['diff']:+.2f} [{v['ci'][0]:+.2f}, {v['ci'][1]:+.2f}]{pct}" if v else "—")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paper_comparison(table: dict[str, Any]) -> str:
    """The paper's relative figures (its real MUSIC recordings) beside ours, as Markdown. A % of a baseline at or
    below 0 dB is not given: the dB difference stands alone there."""
    p, res = table["paper"], table["results"]
    lines = ["| figure | paper (real MUSIC recordings, CLAP) | ours (course data) |", "|---|---:|---:|"]
    for n in res:
        v = res[n].get(WEAK, {}).get("vs_unsup")
        g = relative_gain(v)
        if g is not None:
            ours = f"{g:+.0f} % ({v['diff']:+.2f} dB over {v['unsup_sdr']:.2f} dB)"
        elif v:
            ours = f"no % (unsup at {v['unsup_sdr']:.2f} dB ≤ 0): {v['diff']:+.2f} dB"
        else:
            ours = "—"
        lines.append(f"| SDR gain of the weak model over `unsup`, {n} sources | "
                     f"+{p['gain_over_unsup_pct'].get(n, float('nan')):.0f} % | {ours} |")
    s = res.get("2", {}).get(WEAK, {}).get("share_of_supervised")
    if s and res["2"].get("supervised", {}).get("sdr", 0.0) > 0:
        lines.append(f"| weak model's share of the supervised SDR, 2 sources | {p['weak_share_of_supervised_pct']:.1f} % | "
                     f"{100 * s['ratio']:.1f} % [{100 * s['ci'][0]:.1f}, {100 * s['ci'][1]:.1f}] |")
    semi = res.get("2", {}).get("semi (5 %)", {}).get("share_of_supervised")
    if semi:
        verdict = "yes" if semi["diff_ci"][0] > 0 else ("no" if semi["diff_ci"][1] < 0 else "not distinguishable")
        lines.append(f"| semi-supervised (5 % solo) beats supervised, 2 sources | yes | {verdict} "
                     f"({semi['diff']:+.2f} dB [{semi['diff_ci'][0]:+.2f}, {semi['diff_ci'][1]:+.2f}]) |")
    return "\n".join(lines)


def loss_forms_of(setup: dict[str, Any]) -> dict[str, str]:
    """The weak losses' forms a table was trained with: {"consistency_form", "bimodal_form"}. Tables written before
    these options existed (the shipped one, commit 9b8516e) record none; they were trained with the union
    consistency and the closed-set bi-modal softmax (τ = 0.07), the only forms the code had then."""
    return dict(setup.get("loss_forms") or {"consistency_form": "union", "bimodal_form": "classes"})


def checkpoint_loss_forms(path: str | os.PathLike) -> dict[str, str]:
    """The weak losses' forms a text separator's checkpoint was trained with (see :func:`loss_forms_of`): read from
    its saved config, which a checkpoint saved before the options existed lacks (loading it fills in today's
    defaults, so the loaded config cannot tell)."""
    weak = json.loads(torch.load(path, map_location="cpu", weights_only=True)["config"]).get("weak", {})
    keys = ("consistency_form", "bimodal_form")
    return loss_forms_of({"loss_forms": {k: weak[k] for k in keys}} if all(k in weak for k in keys) else {})


def load_shipped_table() -> dict[str, Any] | None:
    """The table shipped with the package (sgn_teach/checkpoints/weak_table.json), or None if absent."""
    try:
        return json.loads(SHIPPED_TABLE.read_text())
    except (OSError, ValueError):
        return None


__all__ = ["VARIANTS", "PAPER", "WEAK", "variant_config", "run_dir", "run_table", "build_table", "format_weak_table",
           "paper_comparison", "relative_gain", "loss_forms_of", "checkpoint_loss_forms", "load_shipped_table", "SHIPPED_TABLE"]
