"""``cvm clv``: fit buy-till-you-die purchase models, the spend model and sBG (on a summary
file or on the workspace), and score every customer's lifetime value."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cvm.cli._common import (
    FigureOpt,
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    check_input_file,
    console,
    emit,
    emit_json,
    open_workspace,
    working,
    write_figure,
)
from cvm.errors import InputError

if TYPE_CHECKING:
    from cvm.clv.report import FitReport

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


@app.command("fit")
def fit(
    summary: Annotated[Path | None, typer.Option(
        "--summary", "-s", callback=check_input_file,
        help="Fit on this file instead of the workspace: .csv, .parquet "
        "or .xlsx, one row per customer with customer_id (or ID), frequency, recency, T; "
        "for bgbb frequency, recency, periods; for gammagamma "
        "frequency and monetary_value (or zbar), fitted on the customers with a repeat "
        "purchase; for sbg a survival table (period column and "
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
        help="Workspace mode: unit of recency and T, days, weeks, months or years (default: "
        "the setting time_unit).")] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Fit a model by maximum likelihood; print parameters with standard errors and 95%
    intervals, log-likelihood, AIC and BIC (and, for sbg, the projection).

    Without --summary it fits on the workspace's transactions (bgnbd, paretonbd, mbgnbd),
    with a hold-out check when --calibration-end is given."""
    from cvm.clv.facade import PURCHASE_MODELS, ClvFacade  # the models load scipy: on use

    if summary is None:
        if model.value not in PURCHASE_MODELS:
            raise InputError(f"--model {model.value} needs --summary FILE; on the workspace's "
                             f"transactions cvm fits {', '.join(PURCHASE_MODELS)}")
        ws = open_workspace(workspace)
        with working(f"fitting {model.value} on the workspace's transactions"):
            report = ws.clv.fit_report(model.value, _day(calibration_end), _day(holdout_end),
                                       unit)
        title = f"{model.value} on {ws.path}"
    else:
        names = [c.strip() for c in covariates.split(",") if c.strip()] if covariates else None
        report = ClvFacade.fit_summary(summary, model.value, weights=weights, cohort=cohort,
                                       calibration_periods=calibration_periods,
                                       covariates=names)
        title = f"{model.value}: {type(report.estimator).__name__}"
    _render(report, title, fmt)


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _render(report: FitReport, title: str, fmt: Format) -> None:
    if fmt is Format.json:
        emit_json(report.to_dict())
        return
    emit(report.parameters(), fmt, title=title)
    if fmt is not Format.table:
        return
    d = report.to_dict()
    on_workspace = report.unit is not None
    console.print(f"log-likelihood {d['log_likelihood']:,.2f}   AIC {d['aic']:,.2f}   "
                  + ("" if on_workspace else f"BIC {d['bic']:,.2f}   ")
                  + f"customers {d['n_customers']:,.0f} ({d['n_unique_rows']:,} distinct rows)")
    for row in report.details.get("projection", []):
        console.print(f"period {row['period']}: projected {row['projected']:,.1f}, "
                      f"actual {row['actual']:,.0f}")
    check = report.details.get("holdout")
    if check:
        console.print(f"hold-out of {check['holdout_length']:.1f} {report.unit}: predicted "
                      f"{check['predicted']:,.1f} purchases, actual {check['actual']:,.0f}; "
                      "mean absolute error per customer "
                      f"{check['mae_per_customer']:.3f}")
        emit(report.details["holdout_by_frequency"], fmt,
             title="Hold-out purchases per customer by calibration frequency")


class ScoreModel(StrEnum):
    """The purchase models `ws.clv.score` fits (cvm.clv.facade.PURCHASE_MODELS)."""

    bgnbd = "bgnbd"
    paretonbd = "paretonbd"
    mbgnbd = "mbgnbd"


@app.command("score")
def score(
    model: Annotated[ScoreModel, typer.Option("--model", "-m", help="The purchase model; "
                                              "spend is always Gamma-Gamma.")]
    = ScoreModel.bgnbd,
    margin: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of spend that is "
                                          "margin (CLV counts margin, not revenue).")] = 1.0,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
    figure: FigureOpt = None,
) -> None:
    """Score every customer (P(alive), expected purchases and spend, discounted CLV) and store
    the scores in the workspace as the result clv_scores.

    --figure charts how the CLV spreads: the share of customers and of total CLV per CLV
    band (log steps), and the share of total CLV the top 1%, 5% and 20% hold."""
    ws = open_workspace(workspace)
    with working(f"scoring every customer's lifetime value ({model.value} and Gamma-Gamma)"):
        table = ws.clv.score(model.value, margin)
    emit(table.sort_by([("clv", "descending")]), fmt, out, title="Customer lifetime value")
    if figure is not None:
        from cvm.clv.figures import clv_distribution_figure

        write_figure(clv_distribution_figure(table.column("clv"), ws.settings.currency,
                                             title="Customer lifetime value"), figure)
