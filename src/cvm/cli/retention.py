"""``cvm retention``: retention rates, cohorts, survival by group and churn by reason."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cvm.churn.choices import GROUPINGS, PERIODS, VIEWS
from cvm.cli._common import (
    Format,
    FormatOpt,
    WorkspaceOpt,
    check_output_file,
    console,
    emit,
    emit_json,
    open_workspace,
    write_table,
    wrote,
)
from cvm.errors import InputError

__all__ = ["retention"]

By = StrEnum("By", {g: g for g in GROUPINGS})
Period = StrEnum("Period", {p: p for p in PERIODS})
View = StrEnum("View", {v: v for v in ("all", *VIEWS)})

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
    heatmap: Annotated[Path | None, typer.Option("--heatmap", callback=check_output_file, help=(
        "Also write the cohort retention heatmap to this .html file."))] = None,
    report: Annotated[Path | None, typer.Option("--report", callback=check_output_file, help=(
        "Also write every view as charts in one .html file: cohort heatmap, survival "
        "curves, retention rates and churn by reason."))] = None,
    fmt: FormatOpt = Format.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", callback=check_output_file, help=(
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
    if fmt is Format.csv and view is View.all:
        raise InputError("--format csv prints one table: choose it with --view rates, "
                         "cohorts, survival, reasons or reasons_by_period")
    v = open_workspace(workspace).churn.views(
        view.value, period.value, by.value if by else None, as_of, unit, heatmap, report)
    for path in (heatmap, report):
        if path is not None:
            wrote(path)
    if out is not None:
        for name in v.views:
            path = out if len(v.views) == 1 else out.with_name(f"{out.stem}-{name}{out.suffix}")
            write_table(v.tables[name], path)
    if fmt is Format.json:
        doc = v.to_dict()
        emit_json(doc if len(v.views) > 1 else doc[v.views[0]])
        return
    if fmt is Format.csv:
        emit(v.tables[v.views[0]], fmt)
        return
    shown = list(v.views)
    if "reasons_by_period" in shown and view is View.all:  # long: shown on its own
        shown.remove("reasons_by_period")
    _print(v, shown)
    if v.skipped:
        console.print("no contracts imported: survival of tenure and churn by reason need "
                      "them (`cvm import contracts FILE`)", markup=False)


def _print(v, shown: list[str]) -> None:
    tables, surv, day, period, group = v.tables, v.survival, v.as_of, v.period, v.by
    if "rates" in shown:
        rates = tables["rates"]
        for col in ("basis", "group"):  # a column with one value says nothing on screen
            if len(rates[col].unique()) == 1:
                rates = rates.drop_columns([col])
        emit(rates, title=f"retention rate per {period} up to {day}"
             + (f" by {group}" if group else "")
             + ("" if "basis" in rates.column_names
                else f" ({tables['rates']['basis'][0]}s)"))
    if "cohorts" in shown:
        buyers = tables["cohorts"].num_rows and tables["cohorts"]["basis"][0].as_py() == "purchase"
        what = (f"first-time buyers who bought again k {period}s later" if buyers
                else f"starters still customers k {period}s later")
        emit(_percent_matrix(v.cohort_matrix("rate", SHOWN_K)),
             title=f"% of each {period}'s {what} (k <= {SHOWN_K}; --format csv --view "
                   "cohorts for all, with revenue)")
    if "survival" in shown:
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
    if "reasons" in shown:
        emit(tables["reasons"].select(list(_REASON_COLUMNS)),
             title=f"churn by reason up to {day} (actions: --view reasons --format json)")
    if "reasons_by_period" in shown:
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
