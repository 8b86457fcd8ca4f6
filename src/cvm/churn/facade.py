"""``ws.churn``: retention, cohorts, survival, churn reasons and the likelihood to cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from cvm.churn import history as _history
from cvm.churn import retention as _retention

if TYPE_CHECKING:
    from cvm.workspace import Workspace

__all__ = ["ChurnFacade"]


class ChurnFacade:
    """Who stays, who leaves and why, and who is likely to leave next."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    def retention(self, period: str = "month", by: str | None = None, as_of=None) -> pa.Table:
        """Retention rate per complete period, overall or per group."""
        return _retention.retention_rates(self._ws, period, by, as_of)

    def cohorts(self, period: str = "month", as_of=None) -> pa.Table:
        """Cohorts by start period and the share still customers k periods later."""
        return _retention.cohort_table(self._ws, period, as_of)

    def survival(self, by: str | None = None, as_of=None, unit: str = "months",
                 horizon: float | None = None):
        """Kaplan-Meier survival of customer tenure by group."""
        return _retention.survival_by(self._ws, by, as_of, unit, horizon)

    def reasons(self, period: str = "month", as_of=None, value_months: int = 12):
        """Why customers left, over time and in total, the value lost and what to do."""
        return _retention.churn_reasons(self._ws, period, as_of, value_months)

    def fit(self, cutoff=None, window_days: int = _history.DEFAULT_WINDOW_DAYS,
            folds: int = 5, random_state: int = 0) -> tuple[object, pd.DataFrame]:
        """Train the likelihood-to-cancel model on the workspace's history."""
        return _history.fit_workspace(self._ws, cutoff, window_days, folds, random_state)

    def score(self, model=None, reasons: int = 3, save: bool = True) -> pa.Table:
        """Likelihood to cancel for every active customer, with its top reasons."""
        return _history.score_workspace(self._ws, model, reasons, save)
