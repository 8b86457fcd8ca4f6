"""Fitting a lifetime model on a summary table or file, without a workspace.

A summary has one row per customer (or per group of customers, with a weights column): the
columns are found by their usual spellings (``frequency`` or ``x``, ``recency`` or ``t_x``,
...), rows are labelled by customer id so that errors name customers, and the model named
picks the columns it needs. For sbg the file is a survival table instead: active customers per
period, one column per cohort; fitted on the first periods, the rest are projected.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cvm._tables import read_table
from cvm.clv.bgbb import BetaGeoBetaBinomModel
from cvm.clv.bgnbd import BetaGeoModel
from cvm.clv.covariates import BetaGeoCovariateModel, ParetoNBDCovariateModel
from cvm.clv.gammagamma import GammaGammaModel
from cvm.clv.mbgnbd import ModifiedBetaGeoModel
from cvm.clv.paretonbd import ParetoNBDModel
from cvm.clv.report import FitReport
from cvm.clv.sbg import ShiftedBetaGeoModel
from cvm.errors import InputError

__all__ = ["SUMMARY_MODELS", "fit_summary"]

#: Models fitted on a summary, by cvm's name; bgnbd and paretonbd also take covariates.
SUMMARY_MODELS = {"bgnbd": BetaGeoModel, "paretonbd": ParetoNBDModel,
                  "mbgnbd": ModifiedBetaGeoModel, "bgbb": BetaGeoBetaBinomModel,
                  "gammagamma": GammaGammaModel, "sbg": ShiftedBetaGeoModel}
_COVARIATE_MODELS = {"bgnbd": BetaGeoCovariateModel, "paretonbd": ParetoNBDCovariateModel}

# accepted spellings of each column, first match wins (exact, then case-insensitive)
_COLUMNS = {
    "id": ("customer_id", "id"),
    "frequency": ("frequency", "x"),
    "recency": ("recency", "t_x"),
    "T": ("T",),
    "periods": ("periods", "n"),
    "spend": ("monetary_value", "mean_spend", "zbar", "monetary"),
}


class _Summary:
    """A summary table and how messages name it (the file, or "the summary" for a frame)."""

    def __init__(self, source: str | Path | pd.DataFrame):
        if isinstance(source, pd.DataFrame):
            self.frame, self.name, self.label = source, "the summary", "summary"
        else:
            self.frame = read_table(source, "--summary")
            self.name, self.label = str(source), f"--summary {source}"
        # rows by customer id, so that errors name customers, else by 'row N' (1-based)
        id_col = self.column("id", required=False)
        if id_col is not None:
            self.frame = self.frame.set_index(id_col)
        else:
            self.frame = self.frame.set_axis(
                pd.Index([f"row {i + 1}" for i in range(len(self.frame))]), axis=0)

    def column(self, key: str, required: bool = True) -> str | None:
        """The column holding ``key`` (one of `_COLUMNS`), or an error listing those found."""
        df, wanted = self.frame, _COLUMNS[key]
        exact = {c: c for c in df.columns}
        lower = {str(c).lower(): c for c in df.columns}
        for name in wanted:
            if name in exact:
                return exact[name]
        for name in wanted:
            if name.lower() in lower:
                return lower[name.lower()]
        if required:
            found = ([df.index.name] if df.index.name else []) + list(df.columns)
            raise InputError(f"{self.label}: no {key} column; expected one of "
                             f"{', '.join(wanted)}, found {', '.join(map(str, found))}")
        return None

    def get(self, key: str) -> pd.Series:
        return self.frame[self.column(key)]

    def named(self, column: str, option: str) -> pd.Series:
        """A column named by the caller (``option`` names the argument in the message)."""
        if column not in self.frame.columns:
            raise InputError(f"{option} {column}: no such column in {self.name}; found "
                             f"{', '.join(map(str, self.frame.columns))}")
        return self.frame[column]


def fit_summary(summary: str | Path | pd.DataFrame, model: str = "bgnbd", *,
                weights: str | None = None, cohort: str | None = None,
                calibration_periods: int | None = None,
                covariates: Sequence[str] | None = None) -> FitReport:
    """Fit ``model`` by maximum likelihood on a summary file (.csv, .parquet, .xlsx) or table.

    Parameters
    ----------
    summary : path or pandas.DataFrame
        One row per customer with customer_id (or ID), frequency, recency and T; for bgbb
        frequency, recency and periods; for gammagamma frequency and monetary_value (or zbar),
        fitted on the customers with a repeat purchase; for sbg a survival table (a period
        column and one column of active customers per cohort).
    model : str
        One of `SUMMARY_MODELS`.
    weights : str, optional
        Column with the number of customers each row stands for.
    cohort : str, optional
        sbg: the survival table's column to fit (needed if it has several).
    calibration_periods : int, optional
        sbg: fit on periods 0..N and project the rest against the actual counts (default: fit
        on all periods).
    covariates : sequence of str, optional
        bgnbd, paretonbd: numeric columns acting on both the purchase and the dropout process.

    Returns
    -------
    FitReport
        The fitted estimator with, for sbg, the cohort, calibration periods and projection, and
        for gammagamma the number of customers skipped for having no repeat purchase.

    Raises
    ------
    InputError
        For an unreadable file, a missing column or bad rows (naming the customers).
    """
    if model not in SUMMARY_MODELS:
        raise InputError(f"unknown model '{model}'; expected one of {', '.join(SUMMARY_MODELS)}")
    s = _Summary(summary)
    if model == "sbg":
        return _fit_survival(s, weights, cohort, calibration_periods)
    w = None if weights is None else s.named(weights, "--weights")
    freq = s.get("frequency")
    if model == "gammagamma":
        spend = s.get("spend")
        repeat = freq > 0
        fitted = GammaGammaModel().fit(freq[repeat], spend[repeat],
                                       None if w is None else w[repeat])
        return FitReport(model, fitted, {
            "customers_without_repeat_purchases_skipped": int((~repeat).sum())})
    rec = s.get("recency")
    if model == "bgbb":
        return FitReport(model, BetaGeoBetaBinomModel().fit(freq, rec, s.get("periods"), w))
    if covariates:
        if model not in _COVARIATE_MODELS:
            raise InputError(f"--covariates: only {' and '.join(_COVARIATE_MODELS)} take "
                             f"covariates, not {model}")
        missing = [c for c in covariates if c not in s.frame.columns]
        if missing:
            raise InputError(f"--covariates: no column(s) {', '.join(missing)} in {s.name}; "
                             f"found {', '.join(map(str, s.frame.columns))}")
        fitted = _COVARIATE_MODELS[model]().fit(freq, rec, s.get("T"),
                                                s.frame[list(covariates)], w)
        return FitReport(model, fitted)
    return FitReport(model, SUMMARY_MODELS[model]().fit(freq, rec, s.get("T"), w))


def _fit_survival(s: _Summary, weights: str | None, cohort: str | None,
                  calibration_periods: int | None) -> FitReport:
    """sBG on one cohort's survivors in periods 0..n; periods after n are projected."""
    df = s.frame
    period_cols = [c for c in df.columns if str(c).lower() in ("year", "period")]
    cohorts = [c for c in df.columns if c not in period_cols and c != weights]
    if cohort is None:
        if len(cohorts) != 1:
            raise InputError(f"{s.label}: {len(cohorts)} cohort columns "
                             f"({', '.join(map(str, cohorts))}); choose one with --cohort")
        cohort = cohorts[0]
    survivors = s.named(cohort, "--cohort").to_numpy(float)
    last = len(survivors) - 1
    n = last if calibration_periods is None else calibration_periods
    if not 1 <= n <= last:
        raise InputError(f"--calibration-periods {n}: expected 1 to {last} "
                         f"(the file has periods 0 to {last})")
    fitted = ShiftedBetaGeoModel().fit(survivors[:n + 1])
    details: dict[str, Any] = {"cohort": str(cohort), "calibration_periods": n}
    if n < last:
        t = np.arange(n + 1, len(survivors))
        projected = fitted.survival_function(t) * survivors[0]
        details["projection"] = [
            {"period": int(ti), "projected": float(p), "actual": float(a)}
            for ti, p, a in zip(t, projected, survivors[n + 1:], strict=True)]
    return FitReport("sbg", fitted, details)
