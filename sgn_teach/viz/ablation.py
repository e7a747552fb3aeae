"""Figures of the ablation results (sgn_teach.experiments.ablate): Tables III/IV as interval plots, Figures 3 and 4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core.atomic import atomic_path
from .plots import plt

CLASS_COLOURS = plt.get_cmap("tab10").colors + ("#222222",)  # 11 distinct colours, one per class


REFERENCE_STYLE = {"mixture": ("tab:gray", ":"), "nmf": ("tab:green", "-."), "oracle_ibm": ("black", "--")}


def plot_intervals(results: dict[str, Any], n: int = 2, names: list[str] | None = None, ax=None):
    """SDR of each configuration with its 95 % interval, on an axis that also shows the mixture, NMF and the
    oracle (the results' reference rows), so a 0.2-dB gap is seen at its true size; SGN's mean dashed red."""
    rows = results.get("tables", {}).get(f"n{n}", {})
    names = [k for k in (names or list(rows)) if k in rows]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.42 * len(names) + 1.2))
    for i, name in enumerate(names):
        r = rows[name]["sdr"]
        ax.errorbar(r["mean"], i, xerr=[[r["mean"] - r["low"]], [r["high"] - r["mean"]]], fmt="o",
                    color="tab:red" if name == "sgn" else "tab:blue", capsize=4)
    if "sgn" in rows:
        ax.axvline(rows["sgn"]["sdr"]["mean"], color="tab:red", ls="--", lw=1)
    ref = results.get(f"reference_n{n}", {}).get("rows", {})
    for name, (colour, style) in REFERENCE_STYLE.items():
        if name in ref and ref[name].get("sdr") is not None and np.isfinite(ref[name]["sdr"]):
            ax.axvline(ref[name]["sdr"], color=colour, ls=style, lw=1.2, label=f"{name} {ref[name]['sdr']:.1f} dB")
    if ref:
        ax.legend(fontsize=7, loc="lower right")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel(f"SDR (dB), {n}-source test mixtures, mean over seeds, 95 % interval")
    ax.figure.tight_layout()
    return ax.figure


def plot_differences(results: dict[str, Any], n: int = 2, names: list[str] | None = None, ax=None):
    """Each configuration's *paired* SDR difference to SGN with its 95 % interval, and a line at 0.

    This is the picture that matches the table's verdicts: unpaired intervals overlap because mixtures differ in
    difficulty, while the paired difference removes that and can still exclude 0. Green: better than SGN, red:
    worse, grey: the interval contains 0 (no measurable difference).
    """
    rows = results.get("tables", {}).get(f"n{n}", {})
    names = [k for k in (names or list(rows)) if k in rows and "sdr_minus_sgn" in rows[k]]
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.42 * max(len(names), 1) + 1.0))
    for i, name in enumerate(names):
        d = rows[name]["sdr_minus_sgn"]
        colour = "tab:gray" if d["low"] <= 0 <= d["high"] else ("tab:green" if d["low"] > 0 else "tab:red")
        ax.errorbar(d["mean"], i, xerr=[[d["mean"] - d["low"]], [d["high"] - d["mean"]]], fmt="o", color=colour,
                    capsize=4)
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel(f"SDR − SGN (dB), paired on the same {n}-source mixtures, 95 % interval")
    ax.figure.tight_layout()
    return ax.figure


def plot_figure3(results: dict[str, Any], class_names: list[str] | None = None, kind_order=("g", "pooled")):
    """t-SNE panels of the source features, one per (model, feature kind), coloured by class."""
    fig3 = results.get("figure3", {})
    panels = [(m, k) for m in fig3 for k in kind_order if k in fig3[m]]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.4), squeeze=False)
    for ax, (model, kind) in zip(axes[0], panels):
        d = fig3[model][kind]
        xy, labels = np.asarray(d["xy"]), np.asarray(d["labels"])
        for c in np.unique(labels):
            sel = labels == c
            name = class_names[c] if class_names else str(c)
            ax.scatter(xy[sel, 0], xy[sel, 1], s=6, color=CLASS_COLOURS[c % 11], label=name)
        what = "g_i" if kind == "g" else "mask-pooled U-Net features"
        ax.set_title(f"{model}: {what}\nsilhouette {d['silhouette']:.2f}, 5-NN {d['knn_accuracy']:.0%}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if panels:
        axes[0][-1].legend(fontsize=6, markerscale=2, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig


def plot_figure4(results: dict[str, Any], runs: tuple[str, ...] = ("sgn_s0", "sct_s0", "cag_s0")):
    """Precision, recall and F1 of the class tokens and the presence head over training steps."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
    for ax, head in zip(axes, ("token", "presence")):
        for run in runs:
            d = results.get("runs", {}).get(run, {}).get("figure4", {})
            if f"{head}_f1" not in d:
                continue
            for metric, style in (("precision", ":"), ("recall", "--"), ("f1", "-")):
                ax.plot(d["step"], d[f"{head}_{metric}"], style, label=f"{run.rsplit('_s', 1)[0]} {metric}")
        ax.set_title("class tokens (token i → class i)" if head == "token" else "presence head (p > 0.5)")
        ax.set_xlabel("training step")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("validation score")
    fig.tight_layout()
    return fig


def save_ablation_figures(results: dict[str, Any], out: str | Path, class_names: list[str] | None = None) -> list[Path]:
    """Write table3.png, table4.png, three_sources.png, figure3.png, figure4.png to `out`; returns the paths."""
    out = Path(out)
    written = []
    rows2 = list(results.get("tables", {}).get("n2", {}))
    table3 = [k for k in ("baseline", "sct", "cag", "sgn", "attn", "sop") if k in rows2]
    table4 = [k for k in rows2 if k.startswith("sgn")]
    figs = {"table3.png": plot_intervals(results, 2, table3) if table3 else None,
            "table3_differences.png": plot_differences(results, 2, table3) if table3 else None,
            "table4.png": plot_intervals(results, 2, table4) if table4 else None,
            "three_sources.png": plot_intervals(results, 3) if results.get("tables", {}).get("n3") else None,
            "figure3.png": plot_figure3(results, class_names) if results.get("figure3") else None,
            "figure4.png": plot_figure4(results)}
    for name, fig in figs.items():
        if fig is None:
            continue
        with atomic_path(out / name) as tmp:
            fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
        plt.close(fig)
        written.append(out / name)
    return written


__all__ = ["plot_differences", "plot_figure3", "plot_figure4", "plot_intervals", "save_ablation_figures"]
