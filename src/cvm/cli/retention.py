"""``cvm retention``: retention rates, cohorts, survival by group and churn by reason."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cvm.cli._common import (
    Format,
    FormatOpt,
    WorkspaceOpt,
    console,
    emit,
    emit_json,
    open_workspace,
    write_table,
)
from cvm.errors import InputError

__all__ = ["register", "retention"]


class By(StrEnum):
    relationship_type = "relationship_type"
    segment = "segment"
    region = "region"
    tier = "tier"
    plan = "plan"


class Period(StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"


class View(StrEnum):
    all = "all"
    rates = "rates"
    cohorts = "cohorts"
    survival = "survival"
    reasons = "reasons"
    reasons_by_period = "reasons_by_period"


#: Periods of the cohort matrix printed as a table (csv, json and --out hold them all).
SHOWN_K = 12
_REASON_COLUMNS = ("reason", "kind", "churned", "share", "revenue_lost", "clv_lost",
                   "response", "owner")


def retention(
    workspace: WorkspaceOpt = None,
    by: Annotated[By | None, typer.Option("--by", help=(
        "Compare groups: rates and survival per relationship_type, segment, region, value "
        "tier or plan (of the latest contract)."))] = None,
    period: Annotated[Period, typer.Option("--period", help=(
        "Length of a retention period and of a cohort."))] = Period.month,
    view: Annotated[View, typer.Option("--view", help=(
        "Which table to show: all, or one of them (needed for --format csv)."))] = View.all,
    as_of: Annotated[str | None, typer.Option("--as-of", help=(
        "Measure up to this date, YYYY-MM-DD (default: the latest known day)."))] = None,
    unit: Annotated[str, typer.Option("--unit", help=(
        "Unit of median and restricted mean tenure: days, weeks, months or years."))]
    = "months",
    heatmap: Annotated[Path | None, typer.Option("--heatmap", help=(
        "Also write the cohort retention heatmap to this .html file."))] = None,
    report: Annotated[Path | None, typer.Option("--report", help=(
        "Also write every view as charts in one .html file: cohort heatmap, survival "
        "curves, retention rates and churn by reason."))] = None,
    fmt: FormatOpt = Format.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", help=(
        "Also write the full table(s) to this .csv or .parquet file; with --view all, one "
        "file per view named FILE-<view>.csv."))] = None,
) -> None:
    """Retention rate by period, the cohort table, survival by group and churn by reason.

    Rates: of the customers active at a period's start, the share still customers at its
    end (contracts; for customers without contracts, those who bought in a period and again
    in the next). Cohorts: customers of each start period still customers k periods later,
    and their revenue. Survival: Kaplan-Meier median and restricted mean tenure by group,
    with the log-rank test. Reasons: churned customers, revenue and CLV lost per reason
    class, with the recommended response.
    """
    from cvm.churn import retention as views

    ws = open_workspace(workspace)
    if fmt is Format.csv and view is View.all:
        raise InputError("--format csv prints one table: choose it with --view rates, "
                         "cohorts, survival, reasons or reasons_by_period")
    day = views.as_of_date(ws, as_of)
    group = by.value if by else None
    want = [v for v in View if v is not View.all] if view is View.all else [view]
    skipped = []
    if view is View.all and not ws.has_rows("contracts"):  # buyers only: no tenure, no reasons
        skipped = [View.survival, View.reasons, View.reasons_by_period]
        want = [v for v in want if v not in skipped]

    tables, surv = {}, None
    if View.rates in want:
        tables["rates"] = views.retention_rates(ws, period.value, group, day)
    if View.cohorts in want or heatmap or report:
        tables["cohorts"] = views.cohort_table(ws, period.value, day)
    if View.survival in want or (report and not skipped):
        surv = views.survival_by(ws, group, day, unit)
        tables["survival"] = surv.summary
    if View.reasons in want or View.reasons_by_period in want or (report and not skipped):
        rs = views.churn_reasons(ws, period.value, day)
        tables["reasons"], tables["reasons_by_period"] = rs.summary, rs.by_period
    if heatmap is not None:
        _heatmap(tables["cohorts"]).write_html(heatmap, include_plotlyjs=True)
    if report is not None:
        _report(tables, surv, group, report)
    if out is not None:
        for name in (v.value for v in want):
            path = out if len(want) == 1 else out.with_name(f"{out.stem}-{name}{out.suffix}")
            write_table(tables[name], path)
    if fmt is Format.json:
        doc = {"as_of": day.isoformat(), "period": period.value, "by": group}
        for name in (v.value for v in want):
            if name == "survival":
                doc[name] = {"unit": surv.unit, "horizon": surv.horizon,
                             "groups": surv.summary.to_dict("records"),
                             "logrank": surv.logrank, "hazard_ratio_reference": surv.reference,
                             "note": surv.note}
            else:
                doc[name] = _rows(tables[name])
        emit_json(_finite(doc) if len(want) > 1 else _finite(doc[want[0].value]))
        return
    if fmt is Format.csv:
        emit(tables[want[0].value], fmt)
        return
    if View.reasons_by_period in want and view is View.all:  # long: shown on its own
        want.remove(View.reasons_by_period)
    _print(tables, surv, want, day, period.value, group)
    if skipped:
        console.print("no contracts imported: survival of tenure and churn by reason need "
                      "them (`cvm import contracts FILE`)", markup=False)


def _print(tables, surv, want, day, period, group) -> None:
    from cvm.churn.retention import cohort_matrix

    if View.rates in want:
        rates = tables["rates"]
        for col in ("basis", "group"):  # a column with one value says nothing on screen
            if len(rates[col].unique()) == 1:
                rates = rates.drop_columns([col])
        emit(rates, title=f"retention rate per {period} up to {day}"
             + (f" by {group}" if group else "")
             + ("" if "basis" in rates.column_names
                else f" ({tables['rates']['basis'][0]}s)"))
    if View.cohorts in want:
        buyers = tables["cohorts"].num_rows and tables["cohorts"]["basis"][0].as_py() == "purchase"
        what = (f"first-time buyers who bought again k {period}s later" if buyers
                else f"starters still customers k {period}s later")
        emit(_percent_matrix(cohort_matrix(tables["cohorts"], "rate", SHOWN_K)),
             title=f"% of each {period}'s {what} (k <= {SHOWN_K}; --format csv --view "
                   "cohorts for all, with revenue)")
    if View.survival in want:
        emit(surv.summary, title=f"tenure in {surv.unit} (restricted mean up to "
                                 f"{surv.horizon:.1f})")
        if surv.logrank is not None:
            t = surv.logrank
            console.print(f"log-rank test between {group}s: chi2 = {t['statistic']:.2f} on "
                          f"{t['df']} df, p = {t['p_value']:.3g}", markup=False)
        if surv.reference is not None:
            console.print(f"hazard ratios (Cox) against {group} {surv.reference}, the largest "
                          "group: above 1 leaves sooner", markup=False)
        if surv.note:
            console.print(surv.note, markup=False)
    if View.reasons in want:
        emit(tables["reasons"].select(list(_REASON_COLUMNS)),
             title=f"churn by reason up to {day} (actions: --view reasons --format json)")
    if View.reasons_by_period in want:
        emit(tables["reasons_by_period"], title=f"churn by reason per {period}")


def _percent_matrix(matrix):
    """Cohort rates as whole percentages and cohorts as YYYY-MM, to fit a terminal."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = {"cohort": pa.array([d.isoformat()[:7] for d in matrix["cohort"].to_pylist()]),
            "customers": matrix["customers"]}
    for name in matrix.column_names[2:]:
        cols[name] = pc.round(pc.multiply(matrix[name], 100)).cast(pa.int64())
    return pa.table(cols)


def _rows(table) -> list[dict]:
    import pyarrow as pa

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    return table.to_pylist()


def _finite(obj):
    from cvm.cli.churn import _finite as finite

    return finite(obj)


def _heatmap(cohorts):
    from cvm.churn.figures import cohort_heatmap

    return cohort_heatmap(cohorts.to_pandas(), "rate", title="Retention by start cohort")


def _report(tables, surv, group, path: Path) -> None:
    import pandas as pd

    from cvm.churn.figures import rates_figure, reasons_figure, survival_figure

    figs = [_heatmap(tables["cohorts"])]
    if surv is not None:
        figs.append(survival_figure(surv.curves, title=f"Survival of tenure ({surv.unit}) by "
                                                       f"{group or 'all'}"))
    if "rates" in tables:
        figs.append(rates_figure(tables["rates"].to_pandas()))
    by_period = tables["reasons_by_period"].to_pandas() if "reasons" in tables else pd.DataFrame()
    if not by_period.empty:
        figs.append(reasons_figure(by_period, "churned", title="Churned customers by reason"))
        figs.append(reasons_figure(by_period, "revenue_lost",
                                   title="Revenue lost by reason (12 months before leaving)"))
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)]
    path.write_text("<html><head><meta charset='utf-8'><title>cvm retention</title></head>"
                    "<body>" + "".join(parts) + "</body></html>", encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add ``cvm retention`` to the root app."""
    app.command("retention")(retention)
