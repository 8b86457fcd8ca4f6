"""``cvm clv``: fit buy-till-you-die purchase models, the spend model and sBG from a file."""

from __future__ import annotations

import datetime as dt
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    console,
    emit,
    emit_json,
    open_workspace,
)
from cvm.errors import InputError

__all__ = ["app"]

app = typer.Typer(help="Customer lifetime value: purchase, spend and retention models.",
                  no_args_is_help=True)


class ModelName(StrEnum):
    bgnbd = "bgnbd"
    paretonbd = "paretonbd"
    mbgnbd = "mbgnbd"
    bgbb = "bgbb"
    gammagamma = "gammagamma"
    sbg = "sbg"


# accepted spellings of each column, first match wins (case-insensitive)
_COLUMNS = {
    "id": ("customer_id", "id"),
    "frequency": ("frequency", "x"),
    "recency": ("recency", "t_x"),
    "T": ("T",),
    "periods": ("periods", "n"),
    "spend": ("monetary_value", "mean_spend", "zbar", "monetary"),
}


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputError(f"--summary {path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, OSError) as exc:
        kind = "Parquet" if suffix in (".parquet", ".pq") else "CSV"
        raise InputError(f"--summary {path}: cannot read it as {kind}: {exc}") from None


def _column(df: pd.DataFrame, key: str, path: Path, required: bool = True) -> str | None:
    wanted = _COLUMNS[key]
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
        raise InputError(f"--summary {path}: no {key} column; expected one of "
                         f"{', '.join(wanted)}, found {', '.join(map(str, found))}")
    return None


def _weights(df: pd.DataFrame, column: str | None, path: Path) -> pd.Series | None:
    if column is None:
        return None
    if column not in df.columns:
        raise InputError(f"--weights {column}: no such column in {path}; found "
                         f"{', '.join(map(str, df.columns))}")
    return df[column]


def _indexed(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Index rows by customer id (so errors name customers), else by 'row N' (1-based)."""
    id_col = _column(df, "id", path, required=False)
    if id_col is not None:
        return df.set_index(id_col)
    return df.set_axis(pd.Index([f"row {i + 1}" for i in range(len(df))]), axis=0)


def _fit_model(model: ModelName, path: Path, weights: str | None, cohort: str | None,
               calibration_periods: int | None, covariates: list[str] | None = None
               ) -> tuple[Any, dict[str, Any]]:
    from cvm import clv as m

    df = _indexed(_read(path), path)
    extra: dict[str, Any] = {}
    if model is ModelName.sbg:
        period_cols = [c for c in df.columns if str(c).lower() in ("year", "period")]
        cohorts = [c for c in df.columns if c not in period_cols and c != weights]
        if cohort is None:
            if len(cohorts) != 1:
                raise InputError(f"--summary {path}: {len(cohorts)} cohort columns "
                                 f"({', '.join(map(str, cohorts))}); choose one with --cohort")
            cohort = cohorts[0]
        if cohort not in df.columns:
            raise InputError(f"--cohort {cohort}: no such column in {path}; found "
                             f"{', '.join(map(str, df.columns))}")
        survivors = df[cohort].to_numpy(float)
        n = len(survivors) - 1 if calibration_periods is None else calibration_periods
        if not 1 <= n <= len(survivors) - 1:
            raise InputError(f"--calibration-periods {n}: expected 1 to {len(survivors) - 1} "
                             f"(the file has periods 0 to {len(survivors) - 1})")
        fitted = m.ShiftedBetaGeoModel().fit(survivors[:n + 1])
        extra["cohort"] = str(cohort)
        extra["calibration_periods"] = n
        if n < len(survivors) - 1:
            t = np.arange(n + 1, len(survivors))
            projected = fitted.survival_function(t) * survivors[0]
            extra["projection"] = [
                {"period": int(ti), "projected": float(p), "actual": float(a)}
                for ti, p, a in zip(t, projected, survivors[n + 1:], strict=True)]
        return fitted, extra
    w = _weights(df, weights, path)
    freq = df[_column(df, "frequency", path)]
    if model is ModelName.gammagamma:
        spend = df[_column(df, "spend", path)]
        repeat = freq > 0
        extra["customers_without_repeat_purchases_skipped"] = int((~repeat).sum())
        return m.GammaGammaModel().fit(freq[repeat], spend[repeat],
                                       None if w is None else w[repeat]), extra
    rec = df[_column(df, "recency", path)]
    if model is ModelName.bgbb:
        return m.BetaGeoBetaBinomModel().fit(freq, rec, df[_column(df, "periods", path)],
                                             w), extra
    if covariates:
        if model not in (ModelName.bgnbd, ModelName.paretonbd):
            raise InputError(f"--covariates: only bgnbd and paretonbd take covariates, not "
                             f"{model.value}")
        missing = [c for c in covariates if c not in df.columns]
        if missing:
            raise InputError(f"--covariates: no column(s) {', '.join(missing)} in {path}; "
                             f"found {', '.join(map(str, df.columns))}")
        cls = m.BetaGeoCovariateModel if model is ModelName.bgnbd else m.ParetoNBDCovariateModel
        return cls().fit(freq, rec, df[_column(df, "T", path)], df[covariates], w), extra
    cls = {ModelName.bgnbd: m.BetaGeoModel, ModelName.paretonbd: m.ParetoNBDModel,
           ModelName.mbgnbd: m.ModifiedBetaGeoModel}[model]
    return cls().fit(freq, rec, df[_column(df, "T", path)], w), extra


def _finite(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


@app.command("fit")
def fit(
    summary: Annotated[Path | None, typer.Option(
        "--summary", "-s", help="Fit on this file instead of the workspace. CSV or Parquet "
        "file: one row per customer with customer_id "
        "(or ID), frequency, recency, T; for bgbb frequency, recency, periods; for gammagamma "
        "frequency and monetary_value (or zbar); for sbg a survival table (period column and "
        "one column of active customers per cohort).")] = None,
    model: Annotated[ModelName, typer.Option(
        "--model", "-m", help="bgnbd, paretonbd, mbgnbd (purchases), bgbb (discrete "
        "opportunities), gammagamma (spend), sbg (contract renewals).")] = ModelName.bgnbd,
    weights: Annotated[str | None, typer.Option(
        "--weights", help="Column with the number of customers each row stands for.")] = None,
    cohort: Annotated[str | None, typer.Option(
        "--cohort", help="sbg: the survival table's column to fit.")] = None,
    calibration_periods: Annotated[int | None, typer.Option(
        "--calibration-periods", help="sbg: fit on periods 0..N and project the rest.")] = None,
    covariates: Annotated[str | None, typer.Option(
        "--covariates", help="bgnbd, paretonbd: comma-separated numeric columns acting on "
        "both the purchase and the dropout process (code categories as 0/1 columns).")] = None,
    calibration_end: Annotated[dt.datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="Workspace mode: fit on transactions up to this day and "
        "check the forecast on the days after it (the hold-out).")] = None,
    holdout_end: Annotated[dt.datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="Workspace mode: last day of the hold-out (default: the "
        "latest transaction's day).")] = None,
    unit: Annotated[str | None, typer.Option(
        help="Workspace mode: days, weeks or months (default: the setting time_unit).")] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Fit a model by maximum likelihood; print parameters, standard errors, LL, AIC, BIC.

    Without --summary it fits on the workspace's transactions (bgnbd, paretonbd, mbgnbd),
    with a hold-out check when --calibration-end is given."""
    if summary is None:
        _fit_workspace(model, workspace, calibration_end, holdout_end, unit, fmt)
        return
    names = [c.strip() for c in covariates.split(",") if c.strip()] if covariates else None
    fitted, extra = _fit_model(model, summary, weights, cohort, calibration_periods, names)
    d = fitted.to_dict()
    result = {
        "model": model.value,
        "estimator": d["model"],
        "parameters": d["parameters"],
        "standard_errors": {k: _finite(v) for k, v in d["standard_errors"].items()},
        "log_likelihood": d["log_likelihood"],
        "aic": d["aic"],
        "bic": d["bic"],
        "n_customers": d["n_customers"],
        "n_unique_rows": d["n_unique_rows"],
        **extra,
    }
    if fmt is Format.json:
        emit_json(result)
        return
    table = fitted.summary().reset_index(names="parameter")
    emit(table, fmt, title=f"{model.value}: {d['model']}")
    if fmt is Format.table:
        console.print(f"log-likelihood {d['log_likelihood']:,.2f}   AIC {d['aic']:,.2f}   "
                      f"BIC {d['bic']:,.2f}   customers {d['n_customers']:,.0f} "
                      f"({d['n_unique_rows']:,} distinct rows)")
        for row in extra.get("projection", []):
            console.print(f"period {row['period']}: projected {row['projected']:,.1f}, "
                          f"actual {row['actual']:,.0f}")


def _fit_workspace(model: ModelName, workspace: Path | None, calibration_end, holdout_end, unit,
                   fmt: Format) -> None:
    from cvm.clv.workspace import PURCHASE_MODELS, fit_purchase_model, holdout_check

    if model.value not in PURCHASE_MODELS:
        raise InputError(f"--model {model.value} needs --summary FILE; on the workspace's "
                         f"transactions cvm fits {', '.join(PURCHASE_MODELS)}")
    ws = open_workspace(workspace)
    check, by_freq = None, None
    if calibration_end is not None:
        fitted, check, by_freq = holdout_check(
            ws, model.value, calibration_end.date(),
            holdout_end.date() if holdout_end else None, unit)
    else:
        fitted = fit_purchase_model(ws, model.value, None, unit)
    d = fitted.to_dict()
    result = {"model": model.value, "estimator": d["model"], "parameters": d["parameters"],
              "standard_errors": {k: _finite(v) for k, v in d["standard_errors"].items()},
              "log_likelihood": d["log_likelihood"], "aic": d["aic"], "bic": d["bic"],
              "n_customers": d["n_customers"], "n_unique_rows": d["n_unique_rows"],
              "holdout": check,
              "holdout_by_frequency": None if by_freq is None else by_freq.to_dict("records")}
    if fmt is Format.json:
        emit_json(result)
        return
    emit(fitted.summary().reset_index(names="parameter"), fmt,
         title=f"{model.value} on {ws.path}")
    if fmt is Format.table:
        console.print(f"log-likelihood {d['log_likelihood']:,.2f}   AIC {d['aic']:,.2f}   "
                      f"customers {d['n_customers']:,.0f} ({d['n_unique_rows']:,} distinct rows)")
        if check:
            console.print(f"hold-out of {check['holdout_length']:.1f} "
                          f"{unit or ws.settings.time_unit}: predicted "
                          f"{check['predicted']:,.1f} purchases, actual "
                          f"{check['actual']:,.0f}; mean absolute error per customer "
                          f"{check['mae_per_customer']:.3f}")
            emit(by_freq, fmt, title="Hold-out purchases per customer by calibration frequency")


@app.command("score")
def score(
    model: Annotated[ModelName, typer.Option("--model", "-m", help="bgnbd, paretonbd or "
                                             "mbgnbd; spend is always Gamma-Gamma.")]
    = ModelName.bgnbd,
    margin: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of spend that is "
                                          "margin (CLV counts margin, not revenue).")] = 1.0,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Score every customer (P(alive), expected purchases and spend, discounted CLV) and store
    the scores in the workspace as the result clv_scores."""
    from cvm.clv.workspace import score_workspace

    ws = open_workspace(workspace)
    table = score_workspace(ws, model.value, margin)
    emit(table.sort_by([("clv", "descending")]), fmt, out, title="Customer lifetime value")
