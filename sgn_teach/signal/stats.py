"""Confidence intervals for separation scores: is a difference a finding or noise?

Scores of two systems on the *same* mixtures are paired: mixture difficulty
varies far more than systems do, so the honest interval for "A − B" resamples
mixtures and takes the difference on each resample (a paired bootstrap), not
two separate intervals. An interval that contains 0 means "no measurable
difference" at that confidence.

Scores come per source; sources of one mixture are not independent, so the
helpers resample *groups* (a mixture's sources together) when `groups` is given.
"""

from __future__ import annotations

import warnings

import numpy as np


def _group_means(values: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Mean per group (e.g. per mixture), or the values themselves: (n,) → (g,)."""
    if groups is None:
        return values
    uniq, inverse = np.unique(groups, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=len(uniq))
    counts = np.bincount(inverse, minlength=len(uniq))
    return sums / counts


def mixture_groups(n_scores: int, n_sources: int) -> np.ndarray:
    """Group id of each per-source score (n_scores,): scores come mixture by mixture, N per mixture, so
    score k belongs to mixture k // N — pass it as `groups` so a mixture's sources resample together."""
    return np.arange(n_scores) // n_sources


def bootstrap_ci(values, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                 groups=None) -> tuple[float, float, float]:
    """(mean, low, high): a percentile bootstrap interval of the mean of `values` (NaNs dropped).

    groups: optional group id per value (e.g. the mixture index of each source);
    whole groups are resampled.
    """
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values)
    g = None if groups is None else np.asarray(groups)[keep]
    units = _group_means(values[keep], g)
    if units.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, units.size, size=(n_boot, units.size))
    means = units[idx].mean(axis=1)
    alpha = (1 - level) / 2
    return float(units.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def paired_bootstrap_ci(a, b, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                        groups=None) -> tuple[float, float, float]:
    """(mean difference a − b, low, high) over paired scores (same mixtures, same order).

    Pairs where either score is NaN are dropped; with `groups`, whole groups
    (mixtures) are resampled.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired scores need the same shape, got {a.shape} and {b.shape}")
    return bootstrap_ci(a - b, n_boot=n_boot, seed=seed, level=level, groups=groups)


def hierarchical_bootstrap_ci(values, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                              groups=None) -> tuple[float, float, float]:
    """(mean, low, high) of scores from several training seeds: resample the seeds, then mixtures within each.

    values: (R, n) — one row of per-source scores per training seed (R ≥ 1), the same n mixtures' sources
    in every row (NaN: undefined, dropped). Averaging the seeds first and resampling only mixtures (what
    :func:`bootstrap_ci` does) treats the seeds' disagreement as if it were no uncertainty; here each
    resample draws R seeds with replacement and, inside each drawn seed, the mixtures (whole `groups`)
    with replacement, so the interval widens when seeds disagree. With R = 1 it is :func:`bootstrap_ci`'s
    interval over mixtures. For a paired difference pass the per-seed differences ``a − b`` (seed r of
    `a` paired with seed r of `b`, the same mixtures).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[None]  # (n,) → (1, n): one seed
    if values.ndim != 2:
        raise ValueError(f"values must be (seeds, scores), got shape {values.shape}")
    R, n = values.shape
    g = np.arange(n) if groups is None else np.asarray(groups)
    uniq, inverse = np.unique(g, return_inverse=True)
    finite = np.isfinite(values)
    # per seed and group: the mean of the group's finite scores, NaN where it has none → (R, G)
    sums = np.stack([np.bincount(inverse, weights=np.where(f, v, 0.0), minlength=len(uniq))
                     for v, f in zip(values, finite)])
    counts = np.stack([np.bincount(inverse, weights=f.astype(np.float64), minlength=len(uniq)) for f in finite])
    units = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)  # (R, G)
    if not np.isfinite(units).any():
        return float("nan"), float("nan"), float("nan")
    G = units.shape[1]
    rng = np.random.default_rng(seed)
    seed_idx = rng.integers(0, R, size=(n_boot, R))  # (n_boot, R): the seeds of each resample
    mix_idx = rng.integers(0, G, size=(n_boot, R, G))  # (n_boot, R, G): the mixtures inside each drawn seed
    draws = units[seed_idx[:, :, None], mix_idx]  # (n_boot, R, G)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample of only undefined scores: NaN, dropped below
        means = np.nanmean(draws.reshape(n_boot, R * G), axis=1)  # (n_boot, R, G) → (n_boot, R·G) → (n_boot,)
    means = means[np.isfinite(means)]
    alpha = (1 - level) / 2
    return float(np.nanmean(units)), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def per_mixture(scores, n_sources: int) -> np.ndarray:
    """Per-source scores in mixture order (n_mixtures·N,) → per-mixture means (n_mixtures,), NaNs ignored
    (a mixture with no finite score gives NaN)."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.size % n_sources:
        raise ValueError(f"{arr.size} scores are not a whole number of {n_sources}-source mixtures")
    rows = arr.reshape(-1, n_sources)  # (n_mixtures · N,) → (n_mixtures, N): one row per mixture
    ok = np.isfinite(rows)
    return np.where(ok.any(1), np.where(ok, rows, 0.0).sum(1) / np.maximum(ok.sum(1), 1), np.nan)


def paired_bootstrap_ratio_ci(a, b, n_boot: int = 2000, seed: int = 0, level: float = 0.95
                              ) -> tuple[float, float, float]:
    """(mean(a) / mean(b), low, high), resampling the items (mixtures) in pairs — e.g. a weak model's share
    of a supervised one's SDR. Pairs where either score is NaN are dropped."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired scores need the same shape, got {a.shape} and {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size == 0:
        return float("nan"), float("nan"), float("nan")
    idx = np.random.default_rng(seed).integers(0, a.size, size=(n_boot, a.size))  # (n_boot, n) resampled items
    ratios = a[idx].mean(axis=1) / b[idx].mean(axis=1)
    alpha = (1 - level) / 2
    return float(a.mean() / b.mean()), float(np.quantile(ratios, alpha)), float(np.quantile(ratios, 1 - alpha))


def describe_difference(mean: float, low: float, high: float, unit: str = "dB") -> str:
    """'+1.23 dB [0.80, 1.70]' and whether the interval excludes 0."""
    verdict = "no measurable difference" if low <= 0 <= high else ("better" if low > 0 else "worse")
    return f"{mean:+.2f} {unit} [{low:+.2f}, {high:+.2f}] ({verdict})"


__all__ = ["bootstrap_ci", "describe_difference", "hierarchical_bootstrap_ci", "mixture_groups", "paired_bootstrap_ci",
           "paired_bootstrap_ratio_ci", "per_mixture"]
