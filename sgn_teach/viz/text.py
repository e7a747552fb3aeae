"""Figures of notebook 08: loss parts while training, the similarity matrix, and the table with intervals."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .plots import plt  # viz.plots picks the matplotlib backend before pyplot loads

PARTS = ("unsup", "bimodal", "consistency", "sup")


def plot_weak_history(history: dict[str, Any], smooth: int | None = None):
    """Each weak loss part (and the bi-modal accuracy) per step, moving-averaged; one panel per part that is on."""
    train = history.get("train", [])
    shown = [k for k in (*PARTS, "bimodal_acc") if any(r.get(k, 0.0) for r in train)]
    fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(3.2 * max(len(shown), 1), 2.8), squeeze=False)
    steps = np.array([r["step"] for r in train])
    k = smooth or max(1, len(steps) // 25)
    for ax, key in zip(axes[0], shown):
        vals = np.array([r.get(key, 0.0) for r in train], dtype=float)
        ax.plot(steps, vals, color="0.8", lw=0.8)
        if len(vals) >= k:
            ax.plot(steps[k - 1:], np.convolve(vals, np.ones(k) / k, mode="valid"), lw=2)
        ax.set_title(key if key != "bimodal_acc" else "bi-modal accuracy")
        ax.set_xlabel("step")
    fig.tight_layout()
    return fig


def plot_similarity(matrix: np.ndarray, classes: Sequence[str], title: str = "", ax=None):
    """Heatmap of an audio (rows) × text (columns) cosine-similarity matrix, the row maximum marked."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.2))
    names = [c.replace("_", " ") for c in classes]
    im = ax.imshow(matrix, cmap="viridis")
    rows = np.arange(len(matrix))
    ax.plot(matrix.argmax(1), rows, "wx", ms=6)  # each audio row's most similar text
    ax.set_xticks(rows, names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(rows, names, fontsize=7)
    ax.set_xlabel("text: “the sound of a …”")
    ax.set_ylabel("audio clips of")
    ax.set_title(title, fontsize=9)
    plt.colorbar(im, ax=ax, fraction=0.046)
    return ax


def plot_weak_table(table: dict[str, Any]):
    """Mean SDR with its 95 % interval per model, one group of bars per number of sources."""
    ns = list(table["results"])
    names = [*table["rows"], "mixture"]
    fig, ax = plt.subplots(figsize=(9, 3.2))
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        xs, ys, err = [], [], [[], []]
        for i, n in enumerate(ns):
            e = table["results"][n].get(name)
            if e is None:
                continue
            xs.append(i + (j - (len(names) - 1) / 2) * width)
            ys.append(e["sdr"])
            err[0].append(e["sdr"] - e["sdr_ci"][0])
            err[1].append(e["sdr_ci"][1] - e["sdr"])
        ax.bar(xs, ys, width, yerr=err, capsize=2, label=name, color="0.7" if name == "mixture" else None)
    ax.set_xticks(range(len(ns)), [f"{n} sources" for n in ns])
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylabel("SDR (dB), 95 % CI")
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    return fig


__all__ = ["plot_weak_history", "plot_similarity", "plot_weak_table"]
