"""``ws.clv``: lifetime value on a workspace: fit, check on a hold-out, score every customer.

The per-customer summary and the hold-out counts are computed in the engine
(`cvm.value.rfm`); only the summary's distinct rows reach the models. Scores are stored
as the workspace result ``clv_scores``, which the scoring and churn views read. Fitting on a
summary file needs no workspace: `ClvFacade.fit_summary` (a static method).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cvm._time import period_length
from cvm.clv.bgnbd import BetaGeoModel
from cvm.clv.clv import score_customers
from cvm.clv.gammagamma import GammaGammaModel
from cvm.clv.mbgnbd import ModifiedBetaGeoModel
from cvm.clv.paretonbd import ParetoNBDModel
from cvm.clv.report import FitReport
from cvm.clv.summary_file import fit_summary
from cvm.errors import InputError, WorkspaceError
from cvm.value.rfm import calibration_holdout

if TYPE_CHECKING:
    from cvm.workspace import Workspace

__all__ = ["PURCHASE_MODELS", "ClvFacade"]

#: Purchase models fitted on a workspace's transactions, by cvm's name.
PURCHASE_MODELS = {"bgnbd": BetaGeoModel, "paretonbd": ParetoNBDModel,
                   "mbgnbd": ModifiedBetaGeoModel}


def _model(name: str):
    try:
        return PURCHASE_MODELS[name]()
    except KeyError:
        raise InputError(f"unknown purchase model '{name}'; expected one of "
                         f"{', '.join(PURCHASE_MODELS)}") from None


class ClvFacade:
    """Purchase and spend models fitted on the workspace's transactions."""

    #: Fit a model on a summary file or table, no workspace needed (`cvm.clv.summary_file`).
    fit_summary = staticmethod(fit_summary)

    def __init__(self, ws: Workspace):
        self._ws = ws

    def _unit(self, unit: str | None) -> str:
        return unit or self._ws.settings.time_unit

    def _summary(self, calibration_end: dt.date | None, unit: str) -> pd.DataFrame:
        ws = self._ws
        if not ws.has_rows("transactions"):
            raise WorkspaceError(f"{ws.path}: no transactions imported yet; import some with "
                                 "`cvm import transactions FILE`")
        return ws.value.summary(calibration_end, unit).to_pandas()

    def fit(self, model: str = "bgnbd", calibration_end: dt.date | None = None,
            unit: str | None = None):
        """A purchase model (one of `PURCHASE_MODELS`) fitted on the repeat-purchase summary
        up to ``calibration_end`` (default: all history), in ``unit`` (default: the setting
        ``time_unit``)."""
        s = self._summary(calibration_end, self._unit(unit))
        return _model(model).fit(s["frequency"], s["recency"], s["T"])

    def holdout(self, model: str, calibration_end: dt.date, holdout_end: dt.date | None = None,
                unit: str | None = None) -> tuple[Any, dict[str, float], pd.DataFrame]:
        """Fit on the calibration period and compare predicted with actual hold-out purchases.

        Returns the fitted model, totals (customers, hold-out length, predicted and actual
        hold-out purchases, mean absolute error per customer) and the comparison by
        calibration frequency (0..7+), the table of Fader, Hardie & Lee's calibration/hold-out
        figure. The hold-out ends on ``holdout_end`` (default: the latest transaction's day).
        """
        ws = self._ws
        unit = self._unit(unit)
        holdout_end = holdout_end or ws.latest_day()
        data = calibration_holdout(ws.table("transactions"), calibration_end, holdout_end,
                                   unit).to_pandas()
        if data.empty:
            raise WorkspaceError(f"no customer bought on or before {calibration_end}")
        fitted = _model(model).fit(data["frequency"], data["recency"], data["T"])
        length = float(data["holdout_length"].iloc[0])
        data["predicted"] = fitted.conditional_expected_purchases(
            length, data["frequency"], data["recency"], data["T"])
        totals = {
            "customers": float(len(data)),
            "holdout_length": length,
            "predicted": float(data["predicted"].sum()),
            "actual": float(data["holdout_purchases"].sum()),
            "mae_per_customer": float((data["predicted"] - data["holdout_purchases"]).abs()
                                      .mean()),
        }
        group = np.minimum(data["frequency"], 7)
        by_freq = data.groupby(group).agg(customers=("frequency", "size"),
                                          actual=("holdout_purchases", "mean"),
                                          predicted=("predicted", "mean")).reset_index()
        by_freq = by_freq.rename(columns={"frequency": "calibration_frequency"})
        by_freq["calibration_frequency"] = by_freq["calibration_frequency"].map(
            lambda f: "7+" if f >= 7 else str(int(f)))
        return fitted, totals, by_freq

    def fit_report(self, model: str = "bgnbd", calibration_end: dt.date | None = None,
                   holdout_end: dt.date | None = None, unit: str | None = None) -> FitReport:
        """What `cvm clv fit` reports on a workspace: the model fitted on all history, or with
        ``calibration_end`` on the calibration period with the `holdout` check (details
        ``holdout`` and ``holdout_by_frequency``, None without a hold-out)."""
        unit = self._unit(unit)
        check = by_freq = None
        if calibration_end is not None:
            fitted, check, by_freq = self.holdout(model, calibration_end, holdout_end, unit)
        else:
            fitted = self.fit(model, None, unit)
        return FitReport(model, fitted, {"holdout": check, "holdout_by_frequency": by_freq},
                         unit=unit)

    def score(self, model: str = "bgnbd", margin: float = 1.0, unit: str | None = None,
              save: bool = True) -> pa.Table:
        """Fit on all history and score every customer: P(alive), expected purchases next
        period and over the horizon, expected spend (Gamma-Gamma on the repeat buyers) and
        discounted CLV (settings ``clv.discount_rate`` per ``period``, over
        ``clv.horizon_periods``). Saved as the result ``clv_scores`` unless ``save`` is false.
        """
        ws = self._ws
        unit = self._unit(unit)
        s = self._summary(None, unit)
        purchase = _model(model).fit(s["frequency"], s["recency"], s["T"])
        repeat = s[s["frequency"] > 0]
        spend = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
        scores = score_customers(
            purchase, spend, s["frequency"].to_numpy(), s["recency"].to_numpy(),
            s["T"].to_numpy(), s["monetary_value"].to_numpy(),
            period_length=period_length(ws.settings.period, unit), margin=margin,
            settings=ws.settings.clv)
        scores.index = s["customer_id"].to_numpy()
        out = scores.reset_index(names="customer_id")
        out["model"] = model
        out["scored_at"] = ws.latest_day()
        table = pa.Table.from_pandas(out, preserve_index=False)
        if save:
            ws.save_result("clv_scores", table, note=f"{model} + gammagamma, margin {margin}")
        return table
