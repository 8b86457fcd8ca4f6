"""Lifetime models on a workspace: fit on its transactions, check on a hold-out, score all.

The per-customer summary and the hold-out counts are computed in the engine
(`cvm.value.rfm`); only the summary's distinct rows reach the models. Scores are stored
as the workspace result ``clv_scores``, which the scoring and churn views read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cvm.clv.bgnbd import BetaGeoModel
from cvm.clv.clv import score_customers
from cvm.clv.gammagamma import GammaGammaModel
from cvm.clv.mbgnbd import ModifiedBetaGeoModel
from cvm.clv.paretonbd import ParetoNBDModel
from cvm.errors import InputError, WorkspaceError
from cvm.value.rfm import UNIT_DAYS, calibration_holdout

__all__ = ["PURCHASE_MODELS", "fit_purchase_model", "holdout_check", "score_workspace",
           "period_length"]

PURCHASE_MODELS = {"bgnbd": BetaGeoModel, "paretonbd": ParetoNBDModel,
                   "mbgnbd": ModifiedBetaGeoModel}
_PERIOD_DAYS = {"week": 7.0, "month": 365.2425 / 12, "quarter": 365.2425 / 4,
                "year": 365.2425}


def period_length(period: str, unit: str) -> float:
    """Length of one reporting period (settings ``period``) in the summary's time unit."""
    return _PERIOD_DAYS[period] / UNIT_DAYS[unit]


def _model(name: str):
    try:
        return PURCHASE_MODELS[name]()
    except KeyError:
        raise InputError(f"unknown purchase model '{name}'; expected one of "
                         f"{', '.join(PURCHASE_MODELS)}") from None


def _summary(ws, calibration_end: dt.date | None, unit: str) -> pd.DataFrame:
    if not ws.has_rows("transactions"):
        raise WorkspaceError(f"{ws.path}: no transactions imported yet; import some with "
                             "`cvm import transactions FILE`")
    return ws.value.summary(calibration_end, unit).to_pandas()


def fit_purchase_model(ws, model: str = "bgnbd", calibration_end: dt.date | None = None,
                       unit: str | None = None):
    """Fit a purchase model on the workspace's repeat-purchase summary up to calibration_end."""
    unit = unit or ws.settings.time_unit
    s = _summary(ws, calibration_end, unit)
    return _model(model).fit(s["frequency"], s["recency"], s["T"])


def holdout_check(ws, model: str, calibration_end: dt.date, holdout_end: dt.date | None = None,
                  unit: str | None = None) -> tuple[Any, dict[str, float], pd.DataFrame]:
    """Fit on the calibration period and compare predicted with actual hold-out purchases.

    Returns the fitted model, totals (customers, predicted and actual hold-out purchases,
    mean absolute error per customer) and the comparison by calibration frequency (0..7+),
    the table of Fader, Hardie & Lee's calibration/hold-out figure.
    """
    unit = unit or ws.settings.time_unit
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
        "mae_per_customer": float((data["predicted"] - data["holdout_purchases"]).abs().mean()),
    }
    group = np.minimum(data["frequency"], 7)
    by_freq = data.groupby(group).agg(customers=("frequency", "size"),
                                      actual=("holdout_purchases", "mean"),
                                      predicted=("predicted", "mean")).reset_index()
    by_freq = by_freq.rename(columns={"frequency": "calibration_frequency"})
    by_freq["calibration_frequency"] = by_freq["calibration_frequency"].map(
        lambda f: "7+" if f >= 7 else str(int(f)))
    return fitted, totals, by_freq


def score_workspace(ws, model: str = "bgnbd", margin: float = 1.0,
                    unit: str | None = None, save: bool = True) -> pa.Table:
    """Fit on all history and score every customer: P(alive), expected purchases next period
    and over the horizon, expected spend (Gamma-Gamma on the repeat buyers) and discounted CLV
    (settings ``clv.discount_rate`` per ``period``, over ``clv.horizon_periods``).
    Saved as the result ``clv_scores`` unless ``save`` is false."""
    unit = unit or ws.settings.time_unit
    s = _summary(ws, None, unit)
    purchase = _model(model).fit(s["frequency"], s["recency"], s["T"])
    repeat = s[s["frequency"] > 0]
    spend = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
    scores = score_customers(
        purchase, spend, s["frequency"].to_numpy(), s["recency"].to_numpy(), s["T"].to_numpy(),
        s["monetary_value"].to_numpy(), period_length=period_length(ws.settings.period, unit),
        margin=margin, settings=ws.settings.clv)
    scores.index = s["customer_id"].to_numpy()
    out = scores.reset_index(names="customer_id")
    out["model"] = model
    out["scored_at"] = ws.latest_day()
    table = pa.Table.from_pandas(out, preserve_index=False)
    if save:
        ws.save_result("clv_scores", table, note=f"{model} + gammagamma, margin {margin}")
    return table
