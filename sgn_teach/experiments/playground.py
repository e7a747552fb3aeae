"""Try an idea in a minute: train a short run, score it on fixed validation mixtures, compare.

    from sgn_teach.experiments.playground import Playground
    pg = Playground(data)                       # fixed validation mixtures of `data`
    pg.run("sgn", steps=200, depth=2)           # one row: SDR with a 95 % interval
    pg.run("cag", steps=200, w_presence=0.0)
    print(pg.table()); pg.plot()

Every run trains from the same seed on the same mixtures (the `tiny` preset by
default: seconds to a minute on a CPU) and is scored on the same validation
mixtures, so rows differ only in what you changed. :func:`quick_experiment`
is the one-call version; :func:`sgn_teach.widgets.playground.playground_widget`
puts ipywidgets around it.
The shipped ablation results (small preset, longer runs) can be shown beside
your rows for scale — they are not the same budget, and the plot says so.

Settings you can change (keyword → config field): variant, steps, depth, heads,
dim, assign ("softmax"/"hard"), mask ("binary"/"ratio"), w_rec, w_ce,
w_presence, lr, batch_size, augment (True/False), or any ``section__field``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from ..core.config import MODEL_VARIANTS, get_preset

FRIENDLY = {"depth": "model__depth", "heads": "model__heads", "dim": "model__dim", "assign": "model__assign",
            "mask": "train__mask", "w_rec": "train__w_rec", "w_ce": "train__w_ce", "w_presence": "train__w_presence",
            "lr": "train__lr", "batch_size": "train__batch_size", "seed": "train__seed"}


def build_config(variant: str, steps: int, preset: str = "tiny", **settings: Any):
    """The config of a playground run: `preset` with friendly or ``section__field`` overrides."""
    if variant not in MODEL_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(MODEL_VARIANTS)}, not {variant!r}")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    augment = settings.pop("augment", None)
    overrides = {}
    for key, value in settings.items():
        field = FRIENDLY.get(key, key)
        if "__" not in field:
            raise ValueError(f"unknown setting {key!r}; use one of {', '.join(sorted(FRIENDLY))} or section__field")
        overrides[field] = value
    cfg = get_preset(preset, variant=variant, train__steps=steps, **overrides)
    cfg.train.warmup_steps = min(cfg.train.warmup_steps, max(steps // 10, 1))
    if augment is not None:
        cfg.augment.enabled = bool(augment)
    return cfg


class Playground:
    """A growing comparison table of short runs scored on the same validation mixtures.

    Args:
        data: a solo-clip library (default: the course data, :func:`sgn_teach.course.course_data`).
        preset: "tiny" (default, seconds) or "small" (minutes).
        val_mixtures: how many fixed validation mixtures score each run.
        device: "auto", "cpu", "cuda".
        runs_dir: where each run's folder is kept (its model.pt: listen to it, evaluate it); default a new
            folder under the course cache (``SGN_CACHE``), printed by :attr:`runs_dir`.
    """

    def __init__(self, data: str | Path | None = None, preset: str = "tiny", val_mixtures: int = 64,
                 device: str = "cpu", runs_dir: str | Path | None = None) -> None:
        from ..course import cache_dir, course_data

        self.data = Path(data) if data is not None else course_data()
        self.preset = preset
        self.val_mixtures = val_mixtures
        self.device = device
        if runs_dir is None:
            (cache_dir() / "playground").mkdir(parents=True, exist_ok=True)
            runs_dir = tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=cache_dir() / "playground")
        self.runs_dir = Path(runs_dir)
        self.rows: list[dict[str, Any]] = []
        self.reference: list[dict[str, Any]] = []

    def run(self, variant: str = "sgn", steps: int = 200, label: str | None = None, progress: bool = False,
            n_sources: int = 2, **settings: Any) -> dict[str, Any]:
        """Train one short run and append its row: label, settings, SDR/SI-SDR mean with a 95 % interval,
        seconds, the run's `checkpoint` (kept in :attr:`runs_dir`) and its per-source `scores` on the fixed
        validation mixtures of `n_sources` sources (so two rows pair mixture by mixture: :meth:`paired`).

        Interrupted (Ctrl-C), the run keeps its checkpoint.pt in its folder and no row is added."""
        from ..data import SoloLibrary
        from ..evaluation.evaluate import evaluate
        from ..hub.build import load_checkpoint
        from ..signal.stats import bootstrap_ci, mixture_groups
        from .runner import trained_run

        cfg = build_config(variant, steps, self.preset, **dict(settings))
        cfg.train.val_mixtures = self.val_mixtures
        t0 = time.time()
        run_dir = self.runs_dir / f"{len(list(self.runs_dir.glob('run-*'))):02d}-{variant}"
        run_dir = run_dir.with_name("run-" + run_dir.name)
        path = trained_run(cfg, self.data, run_dir, device=self.device, progress=progress, validate_during=False)
        model, cfg_m, classes, _, _ = load_checkpoint(path)
        val = SoloLibrary(self.data, split="val", classes=classes)
        rep = evaluate({"m": model}, val, cfg_m.audio, n_sources=n_sources, n_mixtures=self.val_mixtures, seed=2024,
                       rows=(), progress=False)
        scores = rep["scores"]["m"]
        groups = mixture_groups(len(scores["sdr"]), n_sources)  # a mixture's sources resample together
        mean, lo, hi = bootstrap_ci(scores["sdr"], groups=groups)
        row = {"label": label or _describe(variant, steps, settings), "variant": variant, "steps": steps,
               "preset": self.preset, "n_sources": n_sources, "settings": dict(settings), "sdr": mean,
               "sdr_low": lo, "sdr_high": hi, "si_sdr": rep["rows"]["m"]["si_sdr"],
               "seconds": round(time.time() - t0, 1), "checkpoint": str(path), "scores": scores["sdr"]}
        self.rows.append(row)
        return row

    def paired(self, a: int, b: int) -> tuple[float, float, float]:
        """SDR of row `a` minus row `b` on the same validation mixtures: (mean, low, high), a 95 % paired bootstrap
        interval over mixtures (rows of the same number of sources)."""
        from ..signal.stats import mixture_groups, paired_bootstrap_ci

        ra, rb = self.rows[a], self.rows[b]
        if ra["n_sources"] != rb["n_sources"]:
            raise ValueError("rows scored on different numbers of sources do not pair")
        return paired_bootstrap_ci(ra["scores"], rb["scores"], groups=mixture_groups(len(ra["scores"]), ra["n_sources"]))

    def add_reference(self, ablations_json: str | Path, n: int = 2) -> None:
        """Show the rows of a (shipped) ablation results file beside yours, marked as such."""
        import json

        results = json.loads(Path(ablations_json).read_text())
        setup = results.get("setup", {})
        for name, r in results.get("tables", {}).get(f"n{n}", {}).items():
            self.reference.append({"label": f"{name} (shipped: {setup.get('preset')}, {setup.get('steps')} steps)",
                                   "sdr": r["sdr"]["mean"], "sdr_low": r["sdr"]["low"], "sdr_high": r["sdr"]["high"]})

    def table(self) -> str:
        """Your rows (and any reference rows) as Markdown."""
        lines = ["| run | SDR (dB) [95 % CI] | SI-SDR | seconds |", "|---|---|---:|---:|"]
        for r in self.rows:
            lines.append(f"| {r['label']} | {r['sdr']:.2f} [{r['sdr_low']:.2f}, {r['sdr_high']:.2f}] | "
                         f"{r['si_sdr']:.2f} | {r['seconds']:.0f} |")
        for r in self.reference:
            lines.append(f"| {r['label']} | {r['sdr']:.2f} [{r['sdr_low']:.2f}, {r['sdr_high']:.2f}] | | |")
        return "\n".join(lines)

    def plot(self, ax=None):
        """Horizontal bars of SDR with 95 % intervals: your runs, then the reference rows in grey."""
        from ..viz.plots import plt

        rows = self.rows + self.reference
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.45 * max(len(rows), 2) + 0.8))
        for i, r in enumerate(rows):
            colour = "tab:blue" if i < len(self.rows) else "0.6"
            ax.barh(i, r["sdr"], color=colour)
            ax.errorbar(r["sdr"], i, xerr=[[r["sdr"] - r["sdr_low"]], [r["sdr_high"] - r["sdr"]]], color="k",
                        capsize=3)
        ax.set_yticks(range(len(rows)), [r["label"] for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("SDR (dB) on the playground's validation mixtures (grey: shipped rows, another budget)")
        ax.figure.tight_layout()
        return ax.figure


def _describe(variant: str, steps: int, settings: dict[str, Any]) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in settings.items())
    return f"{variant}, {steps} steps" + (f", {extra}" if extra else "")


def quick_experiment(variant: str = "sgn", steps: int = 200, playground: Playground | None = None,
                     data: str | Path | None = None, preset: str = "tiny", **settings: Any) -> dict[str, Any]:
    """Train `variant` for `steps` steps with `settings`, score it, append it to `playground` (made if None)."""
    pg = playground or Playground(data, preset=preset)
    return pg.run(variant, steps, **settings)


__all__ = ["FRIENDLY", "Playground", "build_config", "quick_experiment"]
