"""Bootstrap intervals: they cover the truth, shrink with more data, and pairing matters."""

from __future__ import annotations

import numpy as np
import pytest

from sgn_teach.signal.stats import (
    bootstrap_ci,
    describe_difference,
    hierarchical_bootstrap_ci,
    mixture_groups,
    paired_bootstrap_ci,
)


def test_bootstrap_ci_covers_the_mean_and_shrinks():
    rng = np.random.default_rng(0)
    small = rng.normal(5.0, 2.0, 50)
    big = rng.normal(5.0, 2.0, 2000)
    m, lo, hi = bootstrap_ci(small)
    assert lo < m < hi and lo < 5.0 < hi
    _, lo2, hi2 = bootstrap_ci(big)
    assert (hi2 - lo2) < 0.3 * (hi - lo)
    assert bootstrap_ci([1.0, np.nan, 3.0])[0] == 2.0  # NaNs dropped


def test_pairing_detects_a_small_consistent_gain_that_unpaired_intervals_miss():
    rng = np.random.default_rng(1)
    difficulty = rng.normal(8.0, 4.0, 200)        # mixtures vary a lot ...
    a = difficulty + 0.5 + rng.normal(0, 0.3, 200)  # ... A is consistently 0.5 dB better
    b = difficulty
    d, lo, hi = paired_bootstrap_ci(a, b)
    assert lo > 0 and d == pytest.approx(0.5, abs=0.1)
    _, alo, ahi = bootstrap_ci(a)
    _, blo, bhi = bootstrap_ci(b)
    assert alo < bhi  # the separate intervals overlap: unpaired, the gain looks like noise
    assert "better" in describe_difference(d, lo, hi)
    assert "no measurable difference" in describe_difference(*paired_bootstrap_ci(b + rng.normal(0, 1, 200), b))


def test_groups_resample_whole_mixtures():
    # two sources per mixture, perfectly correlated within a mixture: grouping must widen the interval
    rng = np.random.default_rng(2)
    per_mix = rng.normal(0, 1, 100)
    values = np.repeat(per_mix, 2)
    groups = np.repeat(np.arange(100), 2)
    _, lo_g, hi_g = bootstrap_ci(values, groups=groups)
    _, lo, hi = bootstrap_ci(values)
    assert (hi_g - lo_g) > 1.2 * (hi - lo)
    with pytest.raises(ValueError, match="same shape"):
        paired_bootstrap_ci([1, 2], [1, 2, 3])


def test_hierarchical_interval_widens_when_seeds_disagree():
    """Issue 23: seeds averaged first hide training variance; resampling seeds, then mixtures, shows it."""
    rng = np.random.default_rng(3)
    mixtures = rng.normal(5.0, 2.0, 60)  # the same 60 two-source mixtures for every seed
    per_source = np.repeat(mixtures, 2)
    groups = mixture_groups(120, 2)
    agree = np.stack([per_source + rng.normal(0, 0.1, 120) for _ in range(3)])  # (3 seeds, 120)
    disagree = np.stack([per_source + offset for offset in (-3.0, 0.0, 3.0)])  # seeds 3 dB apart
    _, lo_a, hi_a = hierarchical_bootstrap_ci(agree, groups=groups)
    m_d, lo_d, hi_d = hierarchical_bootstrap_ci(disagree, groups=groups)
    _, lo_flat, hi_flat = bootstrap_ci(disagree.mean(0), groups=groups)  # seeds averaged, mixtures resampled
    assert m_d == pytest.approx(mixtures.mean(), abs=1e-9)
    assert (hi_d - lo_d) > 2 * (hi_flat - lo_flat)  # the seed spread enters the interval
    assert (hi_a - lo_a) == pytest.approx(hi_flat - lo_flat, rel=0.5)  # seeds that agree add little
    # one seed: the mixture bootstrap; NaN scores are dropped
    one = hierarchical_bootstrap_ci(per_source, groups=groups)
    assert one[1] < mixtures.mean() < one[2]
    with_nan = per_source.copy()
    with_nan[::2] = np.nan
    assert hierarchical_bootstrap_ci(with_nan, groups=groups)[0] == pytest.approx(np.nanmean(with_nan))
    assert np.isnan(hierarchical_bootstrap_ci(np.full((2, 4), np.nan))[0])
    with pytest.raises(ValueError, match="seeds, scores"):
        hierarchical_bootstrap_ci(np.zeros((2, 2, 2)))
