"""Confidence intervals by the bootstrap, for comparing separation scores.

The unit of resampling is the **mixture**: two methods scored on the same seeded
test mixtures are compared *paired* — the difference is taken per mixture and
the mixtures are resampled with replacement — so the interval reflects how much
the comparison depends on which mixtures were drawn, and a shared hard mixture
does not widen it. Per-source scores are first averaged within their mixture
(:func:`per_mixture`), since the sources of one mixture are not independent.

    diff, low, high = paired_bootstrap_ci(sdr_a, sdr_b)   # mean(a − b) and its 95 % interval
    mean, low, high = bootstrap_ci(sdr_a)

Percentile intervals, n_boot resamples from ``np.random.default_rng(seed)``:
the same inputs and seed always give the same interval.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def per_mixture(scores: Sequence[float], n_sources: int) -> np.ndarray:
    """Per-source scores in mixture order (n_mixtures·N,) → per-mixture means (n_mixtures,), NaNs ignored."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.size % n_sources:
        raise ValueError(f"{arr.size} scores are not a whole number of {n_sources}-source mixtures")
    rows = arr.reshape(-1, n_sources)  # (n_mixtures · N,) → (n_mixtures, N): one row per mixture
    ok = np.isfinite(rows)
    return np.where(ok.any(1), np.nansum(np.where(ok, rows, 0.0), 1) / np.maximum(ok.sum(1), 1), np.nan)


def _clean(*arrays: Sequence[float]) -> list[np.ndarray]:
    """Float arrays of equal length with every position that is NaN in any of them removed."""
    arrs = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    if len({a.size for a in arrs}) != 1:
        raise ValueError(f"paired samples must have the same length, got {[a.size for a in arrs]}")
    keep = np.all([np.isfinite(a) for a in arrs], axis=0)
    if not keep.any():
        raise ValueError("no finite values to bootstrap")
    return [a[keep] for a in arrs]


def bootstrap_statistic(stat: Callable[..., float], *samples: Sequence[float], n_boot: int = 2000, seed: int = 0,
                        level: float = 0.95) -> tuple[float, float, float]:
    """(stat on the samples, low, high): percentile interval of `stat` over paired resamples of the samples."""
    arrs = _clean(*samples)
    n = arrs[0].size
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))  # (n_boot, n) resampled positions
    boots = np.array([stat(*(a[i] for a in arrs)) for i in idx])
    alpha = (1 - level) / 2
    return float(stat(*arrs)), float(np.quantile(boots, alpha)), float(np.quantile(boots, 1 - alpha))


def bootstrap_ci(a: Sequence[float], n_boot: int = 2000, seed: int = 0, level: float = 0.95
                 ) -> tuple[float, float, float]:
    """(mean, low, high) of `a` with a percentile bootstrap interval (NaNs dropped)."""
    return bootstrap_statistic(np.mean, a, n_boot=n_boot, seed=seed, level=level)


def paired_bootstrap_ci(a: Sequence[float], b: Sequence[float], n_boot: int = 2000, seed: int = 0,
                        level: float = 0.95) -> tuple[float, float, float]:
    """(mean of a − b, low, high): `a` and `b` are scores of the same items (mixtures) by two methods."""
    return bootstrap_statistic(lambda x, y: float(np.mean(x - y)), a, b, n_boot=n_boot, seed=seed, level=level)


def paired_bootstrap_ratio_ci(a: Sequence[float], b: Sequence[float], n_boot: int = 2000, seed: int = 0,
                              level: float = 0.95) -> tuple[float, float, float]:
    """(mean(a) / mean(b), low, high), resampling the items in pairs — e.g. a weak model's share of a supervised one's SDR."""
    return bootstrap_statistic(lambda x, y: float(np.mean(x) / np.mean(y)), a, b, n_boot=n_boot, seed=seed,
                               level=level)


__all__ = ["per_mixture", "bootstrap_statistic", "bootstrap_ci", "paired_bootstrap_ci", "paired_bootstrap_ratio_ci"]
