"""Says vs does: what customers' answers say against what they do, with intervals.

Respondents are grouped by NPS class (from a 0-10 answer) or by satisfaction quintile, and
each behaviour is summarised per group: a 0/1 behaviour (repeat purchase, churned) as a rate
with Wilson's score interval (Wilson 1927, JASA 22), a numeric one (spend) as a mean with a
Student t interval. Customers who say they are promoters should repeat more, spend more and
churn less; overlapping intervals mean the data cannot tell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from cvm._intervals import wilson
from cvm.errors import InputError
from cvm.survey.nps import nps_classes

__all__ = ["says_vs_does", "wilson_interval"]


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (NaN when ``n`` is 0)."""
    low, high = wilson(successes, n, confidence)
    return float(low), float(high)


def says_vs_does(data: pd.DataFrame, behaviours: Sequence[str], *, nps: str | None = None,
                 satisfaction: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Each behaviour per NPS class (``nps`` column) or satisfaction quintile.

    A behaviour column holding only 0/1 (or booleans) is a rate; any other numbers a mean.
    Returns group, behaviour, kind (rate or mean), n, value, ci_low, ci_high.
    """
    if (nps is None) == (satisfaction is None):
        raise InputError("group by exactly one of nps= (a 0-10 column) or satisfaction=")
    missing = [c for c in (*behaviours, nps or satisfaction) if c not in data.columns]
    if missing:
        raise InputError(f"column(s) {missing} are not in the data")
    if nps is not None:
        groups = nps_classes(data[nps].reset_index(drop=True))
        order = ["detractor", "passive", "promoter"]
    else:
        sat = pd.to_numeric(data[satisfaction], errors="coerce").reset_index(drop=True)
        labels = [f"Q{k}" for k in range(1, 6)]
        groups = pd.qcut(sat.rank(method="first"), 5, labels=labels).astype(object)
        order = labels
    rows = []
    for col in behaviours:
        values = pd.to_numeric(data[col].reset_index(drop=True), errors="coerce")
        known = values.dropna()
        binary = known.isin([0, 1]).all()
        for group in order:
            v = values[(groups == group) & values.notna()]
            n = int(v.size)
            if binary:
                lo, hi = wilson_interval(int(v.sum()), n, confidence)
                value = float(v.mean()) if n else float("nan")
            else:
                value = float(v.mean()) if n else float("nan")
                if n > 1:
                    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * v.std(ddof=1) / np.sqrt(n)
                    lo, hi = value - half, value + half
                else:
                    lo = hi = float("nan")
            rows.append((group, col, "rate" if binary else "mean", n, value, lo, hi))
    return pd.DataFrame(rows, columns=["group", "behaviour", "kind", "n", "value", "ci_low",
                                       "ci_high"])
