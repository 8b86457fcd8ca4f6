"""``ws.churn``: retention, cohorts, survival, churn reasons and the likelihood to cancel.

The one way in to the churn capability: the command line and Python call these methods.
The table-file methods (`fit_table`, `score_table`, `survival_table`) and `responses` need
no workspace, so they are static: ``ChurnFacade.fit_table(...)`` or ``ws.churn.fit_table``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from cvm.churn import history as _history
from cvm.churn import retention as _retention
from cvm.churn import tables as _tables
from cvm.churn import views as _views
from cvm.churn.choices import DEFAULT_MODEL_FILE
from cvm.churn.training import LEAK_AUC, ChurnModel
from cvm.errors import InputError

if TYPE_CHECKING:
    from cvm.churn.snapshot import MissingValues
    from cvm.churn.survival import SurvivalCurves
    from cvm.workspace import Workspace

__all__ = ["ChurnFacade"]


class ChurnFacade:
    """Who stays, who leaves and why, and who is likely to leave next."""

    def __init__(self, ws: Workspace):
        self._ws = ws

    # -- retention views --------------------------------------------------------------
    def retention(self, period: str = "month", by: str | None = None, as_of=None) -> pa.Table:
        """Retention rate per complete period, overall or per group."""
        return _retention.retention_rates(self._ws, period, by, as_of)

    def cohorts(self, period: str = "month", as_of=None) -> pa.Table:
        """Cohorts by start period and the share still customers k periods later."""
        return _retention.cohort_table(self._ws, period, as_of)

    def survival(self, by: str | None = None, as_of=None, unit: str = "months",
                 horizon: float | None = None) -> _retention.SurvivalView:
        """Kaplan-Meier survival of customer tenure by group."""
        return _retention.survival_by(self._ws, by, as_of, unit, horizon)

    def reasons(self, period: str = "month", as_of=None,
                value_months: int = 12) -> _retention.ReasonsView:
        """Why customers left, over time and in total, the value lost and what to do."""
        return _retention.churn_reasons(self._ws, period, as_of, value_months)

    def views(self, views="all", period: str = "month", by: str | None = None, as_of=None,
              unit: str = "months", heatmap: str | Path | None = None,
              report: str | Path | None = None) -> _views.RetentionViews:
        """Several retention views at once, with the cohort heatmap and the report page on
        request (`cvm.churn.views.retention_views`): what ``cvm retention`` shows."""
        return _views.retention_views(self._ws, views, period, by, as_of, unit, heatmap,
                                      report)

    # -- likelihood to cancel on the workspace's history --------------------------------
    @property
    def model_path(self) -> Path:
        """Where the workspace keeps its churn model (``models/churn.joblib``)."""
        return _history.model_path(self._ws)

    def fit(self, cutoff=None, window_days: int = _history.DEFAULT_WINDOW_DAYS,
            folds: int = 5, random_state: int = 0, save: bool | str | Path = True,
            report: str | Path | None = None) -> tuple[ChurnModel, pd.DataFrame]:
        """Train the likelihood-to-cancel model on the workspace's history
        (`cvm.churn.history.fit_workspace`): the model and its training rows.

        ``save``: True writes the model to `model_path`, a path writes it there, False
        keeps it unsaved. ``report`` writes the out-of-fold gains and calibration page.
        """
        model, rows = _history.fit_workspace(self._ws, cutoff, window_days, folds,
                                             random_state)
        if save is not False:
            path = self.model_path if save is True else Path(save)
            path.parent.mkdir(parents=True, exist_ok=True)
            model.save(path)
        if report is not None:
            from cvm.churn.report import model_report

            model_report(model, report)
        return model, rows

    def score(self, model: ChurnModel | str | Path | None = None, reasons: int = 3,
              save: bool = True) -> pa.Table:
        """Likelihood to cancel for every active customer, with its top reasons
        (`cvm.churn.history.score_workspace`), from ``model`` (default: the one saved at
        `model_path`); with ``save``, stored as the ``churn_scores`` result."""
        if not isinstance(model, ChurnModel):
            path = self.model_path if model is None else Path(model)
            if not path.exists():
                raise InputError(f"{path}: no churn model in this workspace yet; train one "
                                 "with `cvm churn fit` (no --table)")
            model = ChurnModel.load(path)
        return _history.score_workspace(self._ws, model, reasons, save)

    # -- on a table file, without a workspace ------------------------------------------
    @staticmethod
    def fit_table(path: str | Path, label: str, id: str, positive: str | None = None,
                  folds: int = 5, random_state: int = 0, leak_auc: float = LEAK_AUC,
                  save: str | Path | None = DEFAULT_MODEL_FILE,
                  report: str | Path | None = None) -> ChurnModel:
        """Fit and save a model on a snapshot table file (`cvm.churn.tables.fit_table`)."""
        return _tables.fit_table(path, label, id, positive, folds, random_state, leak_auc,
                                 save, report)

    @staticmethod
    def score_table(path: str | Path, model: str | Path | ChurnModel = DEFAULT_MODEL_FILE,
                    reasons: int = 3, n_jobs: int | None = 1
                    ) -> tuple[pd.DataFrame, list[MissingValues]]:
        """Score the rows of a table file with a saved model
        (`cvm.churn.tables.score_table`)."""
        return _tables.score_table(path, model, reasons, n_jobs)

    @staticmethod
    def survival_table(path: str | Path, duration: str, event: str, group: str | None = None,
                       positive: str | None = None, horizon: float | None = None,
                       figure: str | Path | None = None) -> tuple[SurvivalCurves, dict | None]:
        """Kaplan-Meier survival of a tenure column by group, with the log-rank test
        (`cvm.churn.tables.survival_table`)."""
        return _tables.survival_table(path, duration, event, group, positive, horizon, figure)

    @staticmethod
    def responses() -> pd.DataFrame:
        """The churn reason classes and the recommended response to each."""
        from cvm.churn.reasons import responses_table

        return responses_table()
