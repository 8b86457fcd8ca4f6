"""Wilson's score interval of a proportion, vectorised.

Written out (Wilson 1927; the same formula as statsmodels' ``proportion_confint(method=
"wilson")``, against which tests/test_intervals.py checks it) because importing
statsmodels.stats.proportion pulls in scipy.stats, which costs the short CLI commands that
only need a handful of intervals about half a second of start-up.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

__all__ = ["wilson"]


def wilson(successes, trials, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of successes / trials at ``level`` (two-sided), element-wise;
    NaN where there are no trials."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    low, high = np.full(k.shape, np.nan), np.full(k.shape, np.nan)
    ok = n > 0
    if ok.any():
        kk, nn = k[ok], n[ok]
        p = kk / nn
        denom = 1 + z * z / nn
        centre = (p + z * z / (2 * nn)) / denom
        half = z * np.sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / denom
        low[ok], high[ok] = centre - half, centre + half
    return low, high
