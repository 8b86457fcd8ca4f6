"""``cvm service ...``: compliance with service standards, and complaints."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

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

app = typer.Typer(help="Service standards and complaints: compliance, breaches, complaint "
                       "rates, resolution, repeats and what follows them.",
                  no_args_is_help=True)

StandardsView = StrEnum("StandardsView", {v: v for v in ("compliance", "breaches", "list")})

AsOfOpt = Annotated[str | None, typer.Option("--as-of", help=(
    "Judge as of this time, YYYY-MM-DD[THH:MM[:SS]] in the workspace's time zone (a day: "
    "its end); default: the latest time in the interactions."))]


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


@app.command("standards")
def standards(
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    by: Annotated[list[str] | None, typer.Option("--by", help=(
        "Also per period (week, month, quarter, year), interactions column (touchpoint, "
        "kind, category, outcome) or customer attribute (region, segment, a team column, "
        "...); repeat or separate with commas."))] = None,
    view: Annotated[StandardsView, typer.Option("--view", help=(
        "compliance: per standard; breaches: every breach with its customer and value "
        "tier; list: the standards themselves."))] = StandardsView.compliance,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Compliance with the service standards of cvm.toml ([service.standards]).

    Each interaction a standard covers is met (answered within the limit on the standard's
    clock), breached (answered later, or not answered and the limit has passed at the as-of
    time) or pending. Compliance = met / (met + breached), with Wilson's 95% interval,
    against the standard's target; median and 90th percentile time in seconds on the clock.
    """
    table = open_workspace(workspace).service.standards_view(view.value, as_of, _split(by))
    titles = {"compliance": "compliance with the service standards",
              "breaches": "breaches of the service standards",
              "list": "service standards (service.standards in cvm.toml)"}
    emit(table, fmt, out, title=titles[view.value])


ComplaintsView = StrEnum("ComplaintsView", {v: v for v in (
    "all", "rates", "categories", "resolution", "repeats", "churn", "moments", "silent")})
Period = StrEnum("Period", {p: p for p in ("week", "month", "quarter", "year")})
_TITLES = {
    "rates": "complaints per 1,000 customers and per 1,000 transactions",
    "categories": "complaints by category",
    "resolution": "time to resolve complaints (hours) and share within the standard",
    "repeats": "repeat complaints",
    "churn": "churn after a complaint, against customers without complaints",
    "moments": "moments of truth: breaches and complaint categories followed by churn or a "
               "detractor answer, ranked by relative risk",
    "silent": "silent dissatisfaction: unhappy survey respondents who never complained",
}


@app.command("complaints")
def complaints(
    workspace: WorkspaceOpt = None,
    as_of: AsOfOpt = None,
    period: Annotated[Period | None, typer.Option("--period", help=(
        "Length of a period (default: the setting period)."))] = None,
    view: Annotated[ComplaintsView, typer.Option("--view", help=(
        "Which table: all, or one of them (needed for --format csv and --out)."))]
    = ComplaintsView.all,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Complaints: rates, categories, time to resolve, repeats, churn after complaints,
    moments of truth and silent dissatisfaction.

    A complaint is an interaction of kind complaint. Churn and detractor answers count
    within service.followup_days days after a complaint or breach; relative risks come with
    95% intervals. See docs/service.md for each table's definition.
    """
    if view is ComplaintsView.all and (fmt is Format.csv or out is not None):
        raise InputError("--format csv and --out write one table: choose it with --view "
                         "rates, categories, resolution, repeats, churn, moments or silent")
    v = open_workspace(workspace).service.complaints(
        view.value, period.value if period else None, as_of)
    if fmt is Format.json:
        doc = v.to_dict()
        emit_json(doc if len(v.views) > 1 else doc[v.views[0]])
        return
    if fmt is Format.csv or out is not None:
        emit(v.tables[v.views[0]], fmt, out, title=_TITLES[v.views[0]])
        return
    for name in v.views:
        emit(v.tables[name], title=f"{_TITLES[name]} (as of {v.as_of:%Y-%m-%d %H:%M})")
    for note in v.notes:
        console.print(note, markup=False)
