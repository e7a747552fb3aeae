"""Bootstrap intervals: they cover the truth, shrink with more data, and pairing matters."""

from __future__ import annotations

import numpy as np
import pytest

from sgn_teach.signal.stats import bootstrap_ci, describe_difference, paired_bootstrap_ci


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
