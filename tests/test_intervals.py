"""cvm._intervals.wilson against statsmodels' Wilson interval and a hand computation."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from cvm._intervals import wilson


def test_by_hand():
    # 8 of 10, z = 1.96: centre (.8 + 1.96^2/20) / (1 + 1.96^2/10) = .99208 / 1.38416 = .71674;
    # half 1.96 sqrt(.016 + 1.96^2/400) / 1.38416 = .22658 -> (.4902, .9433)
    lo, hi = wilson(8, 10)
    assert (float(lo), float(hi)) == (pytest.approx(0.4902, abs=1e-4),
                                      pytest.approx(0.9433, abs=1e-4))


@pytest.mark.parametrize("level", [0.8, 0.95, 0.99])
def test_equals_statsmodels(level):
    k = np.array([0, 1, 5, 37, 99, 100, 0, 3])
    n = np.array([100, 100, 7, 250, 100, 100, 1, 3])
    lo, hi = wilson(k, n, level)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=1 - level, method="wilson")
    np.testing.assert_allclose(lo, ref_lo, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hi, ref_hi, rtol=1e-12, atol=1e-15)


def test_no_trials_is_nan():
    lo, hi = wilson([0, 4], [0, 8])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert 0 < lo[1] < 0.5 < hi[1] < 1
