"""``cvm value ...``: Pareto tiers, RFM, concentration and breakdowns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    check_output_file,
    console,
    emit,
    emit_json,
    open_workspace,
    write_figure,
)
from cvm.errors import InputError

app = typer.Typer(help="Who the valuable customers are: tiers, RFM, concentration, breakdowns.",
                  no_args_is_help=True)

FigureOpt = Annotated[Path | None, typer.Option(
    "--figure", callback=check_output_file,
    help="Also write a chart of it to this .html file (opens offline).")]

UntilOpt = Annotated[dt.datetime | None, typer.Option(
    formats=["%Y-%m-%d"], help="Last day of the value window (default: the latest "
                               "transaction's day); the window is value.window_months long.")]


def _until(until: dt.datetime | None) -> dt.date | None:
    return until.date() if until else None


@app.command("tiers")
def tiers(until: UntilOpt = None, customers: Annotated[bool, typer.Option(
        "--customers", help="One row per customer (rank, tier, revenue, profit) instead of "
                            "one per tier.")] = False,
          workspace: WorkspaceOpt = None, fmt: FormatOpt = Format.table,
          out: OutOpt = None, figure: FigureOpt = None) -> None:
    """Pareto value tiers: VIP, major, ordinary, small, with revenue and profit shares."""
    if figure is not None and customers:
        raise InputError("--figure charts the tiers: leave out --customers")
    table = open_workspace(workspace).value.tiers(_until(until), customers=customers)
    emit(table, fmt, out, title="Pareto value tiers")
    if figure is not None:
        from cvm.value.figures import tiers_figure

        write_figure(tiers_figure(table, title="Value tiers: share of customers and of "
                                               "revenue"), figure)


@app.command("rfm")
def rfm(until: UntilOpt = None, segments: Annotated[bool, typer.Option(
        "--segments", help="Count customers per named segment instead of listing them.")]
        = False, workspace: WorkspaceOpt = None, fmt: FormatOpt = Format.table,
        out: OutOpt = None, figure: FigureOpt = None) -> None:
    """RFM quintile scores (5 = best) and named segments (champions, at_risk, ...)."""
    if figure is not None and segments:
        raise InputError("--figure charts customers on the R x F grid: leave out --segments")
    value = open_workspace(workspace).value
    table = value.rfm_segments(_until(until)) if segments else value.rfm(_until(until))
    emit(table, fmt, out, title="RFM")
    if figure is not None:
        from cvm.value.figures import rfm_figure

        write_figure(rfm_figure(table), figure)


@app.command("concentration")
def concentration(until: UntilOpt = None, workspace: WorkspaceOpt = None,
                  fmt: FormatOpt = Format.table, out: OutOpt = None,
                  figure: FigureOpt = None) -> None:
    """Share of revenue of the top 1/5/10/20%, Gini and the Lorenz curve."""
    stats, lorenz = open_workspace(workspace).value.concentration(_until(until))
    if figure is not None:
        from cvm.value.figures import lorenz_figure

        write_figure(lorenz_figure(lorenz, stats), figure)
    if fmt is Format.json:
        emit_json({"statistics": stats, "lorenz": lorenz.to_pylist()})
        return
    stats_table = pa.table({"statistic": list(stats), "value": list(stats.values())})
    emit(stats_table, fmt, None, title="Revenue concentration")
    if out is not None:
        emit(lorenz, fmt, out, title="Lorenz curve")
    elif fmt is Format.table:
        console.print("[dim]Lorenz curve points: --format json, or --out FILE[/dim]")


@app.command("breakdown")
def breakdown(by: Annotated[str, typer.Option(
        help="relationship_type, region, segment, tier, brand, product, channel, or any "
             "further customer attribute.")],
              until: UntilOpt = None, workspace: WorkspaceOpt = None,
              fmt: FormatOpt = Format.table, out: OutOpt = None) -> None:
    """Customer value = number of customers x mean value, per group."""
    emit(open_workspace(workspace).value.breakdown(by, _until(until)), fmt, out,
         title=f"Customer value by {by}")
