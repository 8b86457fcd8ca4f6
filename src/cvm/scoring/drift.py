"""How scores moved between two monthly runs: population stability and transitions.

Population stability index (Siddiqi 2006, "Credit risk scorecards", ch. 8):
PSI = sum over bins of (q - p) * ln(q / p), p and q the shares of customers in a bin at the
earlier and the later run; numeric scores are binned at the earlier run's deciles, labels
by value. An empty bin's share is taken as 0.0001 so that the sum stays finite. Common
reading: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a large one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["psi", "psi_labels", "transitions", "reading", "EMPTY_SHARE"]

EMPTY_SHARE = 1e-4


def _index(p: np.ndarray, q: np.ndarray) -> float:
    p = np.where(p > 0, p, EMPTY_SHARE)
    q = np.where(q > 0, q, EMPTY_SHARE)
    return float(np.sum((q - p) * np.log(q / p)))


def psi(before: pd.Series, after: pd.Series, bins: int = 10) -> float:
    """PSI of a numeric score, binned at the deciles (``bins`` quantiles) of ``before``;
    blanks left out. NaN when either side has no value."""
    b, a = before.dropna().to_numpy(float), after.dropna().to_numpy(float)
    if b.size == 0 or a.size == 0:
        return float("nan")
    edges = np.unique(np.quantile(b, np.linspace(0, 1, bins + 1)[1:-1]))
    p = np.bincount(np.searchsorted(edges, b, side="right"), minlength=edges.size + 1)
    q = np.bincount(np.searchsorted(edges, a, side="right"), minlength=edges.size + 1)
    return _index(p / b.size, q / a.size)


def psi_labels(before: pd.Series, after: pd.Series) -> float:
    """PSI of a label score (a tier, a stage): one bin per label."""
    b, a = before.dropna(), after.dropna()
    if b.empty or a.empty:
        return float("nan")
    levels = sorted(set(b) | set(a))
    p = b.value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()
    q = a.value_counts(normalize=True).reindex(levels, fill_value=0).to_numpy()
    return _index(p, q)


def reading(value: float) -> str:
    if np.isnan(value):
        return "no data"
    return "stable" if value < 0.1 else "moderate shift" if value < 0.25 else "large shift"


def transitions(before: pd.Series, after: pd.Series, order: list[str] | None = None
                ) -> pd.DataFrame:
    """Customers by label at the earlier run (rows) and at the later run (columns), over
    the customers in both; a customer missing from one side is counted as ``(none)``."""
    both = pd.concat([before.rename("from"), after.rename("to")], axis=1)
    both = both.fillna("(none)")
    table = pd.crosstab(both["from"], both["to"])
    levels = list(order or sorted(set(table.index) | set(table.columns)))
    extra = sorted((set(table.index) | set(table.columns)) - set(levels))
    levels += extra
    return table.reindex(index=[x for x in levels if x in table.index],
                         columns=[x for x in levels if x in table.columns], fill_value=0)
