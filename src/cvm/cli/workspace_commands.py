"""Top-level commands on a workspace: init, import, status, demo, summary."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cvm.cli._common import (
    Format,
    FormatOpt,
    OutOpt,
    WorkspaceOpt,
    check_delimiter,
    check_encoding,
    check_folder,
    check_input_file,
    check_output_file,
    console,
    emit,
    emit_json,
    err_console,
    open_workspace,
)
from cvm.errors import InputError

__all__ = ["demo", "import_", "init", "status", "summary"]


def init(directory: Annotated[Path, typer.Argument(
    help="Folder to create the workspace in.", callback=check_folder)]
         = Path(".")) -> None:
    """Create a workspace: a documented cvm.toml and an empty warehouse."""
    from cvm.workspace import Workspace

    ws = Workspace.init(directory)
    console.print(f"Created workspace {ws.path} (settings in {ws.path / 'cvm.toml'}).")


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise InputError(f"--map {item!r}: expected field=Column, e.g. "
                             "--map customer_id=CustNo")
        mapping[field.strip()] = column.strip()
    return mapping


def _parse_map_values(items: list[str]) -> dict[str, dict[str, str]]:
    maps: dict[str, dict[str, str]] = {}
    for item in items:
        field, colon, rest = item.partition(":")
        value, eq, target = rest.rpartition("=")
        if not colon or not eq or not field.strip() or not value.strip() or not target.strip():
            raise InputError(f"--map-value {item!r}: expected FIELD:VALUE=CODE, e.g. "
                             "--map-value relationship_type:企业=business")
        maps.setdefault(field.strip(), {})[value.strip()] = target.strip()
    return maps


def import_(
    table: Annotated[str, typer.Argument(help="customers, transactions, survey_responses, "
                                               "survey_items, interactions or contracts.")],
    file: Annotated[Path, typer.Argument(help="A .csv (any delimiter), .parquet or .xlsx file.",
                                         callback=check_input_file)],
    map_: Annotated[list[str] | None, typer.Option(
        "--map", "-m", help="field=Column: which of your columns holds a canonical field "
                            "(repeatable). Same-named columns are matched automatically.")] = None,
    reject_file: Annotated[Path | None, typer.Option(
        callback=check_output_file,
        help="Store the good rows and write the bad ones here with a reason column (also CSV "
             "rows with another number of fields than the header).")] = None,
    date_format: Annotated[str | None, typer.Option(
        help="strptime format of dates, e.g. %d/%m/%Y (default: ISO or YYYYMMDD).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: sniffed).",
                                                  callback=check_delimiter)]
    = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of a CSV file.",
                                          callback=check_encoding)] = "utf-8",
    sheet: Annotated[str | None, typer.Option(help="Excel sheet (default: the first).")] = None,
    decimal: Annotated[str, typer.Option(
        help="Decimal mark of numbers: . (default) or , (then . or a space groups "
             "thousands: 1.234,50).")] = ".",
    map_value: Annotated[list[str] | None, typer.Option(
        "--map-value", help="FIELD:VALUE=CODE: store your value as a canonical code, e.g. "
                            "relationship_type:企业=business (repeatable).")] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Import a file into one of the workspace's tables (validated; all or nothing).

    A reject file written by --reject-file imports back once corrected (its row and reason
    columns are left out); the same file with other options is read again."""
    ws = open_workspace(workspace)
    start = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed:,} rows"), TimeElapsedColumn(),
                  console=console, transient=True, disable=fmt is not Format.table) as progress:
        task = progress.add_task(f"importing {file.name}", total=None)
        report = ws.import_file(table, file, _parse_map(map_ or []), reject_file=reject_file,
                                date_format=date_format, delimiter=delimiter,
                                encoding=encoding, sheet=sheet, decimal=decimal,
                                value_maps=_parse_map_values(map_value or []),
                                on_rows=lambda k: progress.advance(task, k),
                                on_wait=lambda: err_console.print(
                                    "waiting for another import into this workspace to "
                                    "finish ...", markup=False, highlight=False))
    if fmt is Format.json:
        emit_json(vars(report) | {"seconds": round(time.perf_counter() - start, 3)})
        return
    console.print(f"{report.file} -> {report.table}: {report.rows_added:,} rows added"
                  f" of {report.rows_read:,} read"
                  + (f", {report.rows_already_stored:,} already stored"
                     if report.rows_already_stored else "")
                  + (f", {report.rows_rejected:,} rejected to {report.reject_file}"
                     if report.rows_rejected else "")
                  + f" ({time.perf_counter() - start:.1f} s).")
    if report.ignored_columns:
        console.print(f"[dim]columns not used: {', '.join(report.ignored_columns)}[/dim]")
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


def demo(
    directory: Annotated[Path, typer.Argument(
        help="Folder for the demo workspace.", callback=check_folder)]
    = Path("cvm-demo"),
    customers: Annotated[int, typer.Option(min=100, max=2_000_000,
                                           help="Number of customers.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    jobs: Annotated[bool, typer.Option(
        help="Run the month's jobs for the last two complete months: scores, "
             "opportunities, cases, the loyalty programme, KPIs.")] = True,
) -> None:
    """Build a seeded synthetic company, import it, run the month's jobs and show who its
    valuable customers are."""
    from cvm.demo import DemoParams, build_demo, last_month_end

    start = time.perf_counter()
    ws = _built_demo(directory)
    if ws is None:
        console.print(f"Building a demo company of {customers:,} customers in {directory} ...")
        ws, _ = build_demo(directory, DemoParams(customers=customers, seed=seed),
                           on_table=lambda r: console.print(
                               f"  imported {r.rows_added:>10,} {r.table}"),
                           jobs=jobs, on_job=lambda text, s: console.print(
                               f"  {text} ({s:.1f} s)", markup=False, highlight=False))
    window = ws.value.window()
    console.print(f"\nValue over {window.start} .. {window.end} "
                  f"({ws.settings.currency}, by {ws.settings.value.tier_by}):")
    emit(ws.value.tiers().select(["tier", "customers", "revenue", "profit", "revenue_share",
                                  "profit_share"]), title="Pareto value tiers")
    stats, _ = ws.value.concentration()
    console.print(f"Top 1% of customers bring {stats['top_1pct_share']:.1%} of revenue, "
                  f"top 20% bring {stats['top_20pct_share']:.1%}; Gini {stats['gini']:.3f}.")
    emit(ws.value.breakdown("relationship_type").select(
        ["relationship_type", "customers", "mean_value", "customer_value", "revenue_share"]),
         title="Customer value = customers x mean value, by relationship type")
    emit(ws.value.rfm_segments().select(["segment", "customers"]), title="RFM segments")
    month_end = last_month_end(ws.latest_day())  # the last complete month
    if ws.kpi.months():
        console.print(f"Done in {time.perf_counter() - start:.1f} s. Next, with "
                      f"--workspace {directory}:\n"
                      f"  cvm kpi --as-of {month_end}   the month's KPIs, NPS at the root\n"
                      f"  cvm report --as-of {month_end} --out report.html   the monthly "
                      "report, one file\n"
                      f"  cvm opportunities list --as-of {month_end}   the month's work for "
                      "staff\n"
                      f"  cvm score drift --from {_month_before(month_end)} --to {month_end}"
                      "   how the scores moved")
        return
    console.print(f"Done in {time.perf_counter() - start:.1f} s. Next, with "
                  f"--workspace {directory}:\n"
                  "  cvm value tiers            who the valuable customers are\n"
                  "  cvm clv fit --model bgnbd  what they will bring (then: cvm clv score)\n"
                  f"  cvm score run --as-of {month_end}  every customer scored, then "
                  "opportunities\n"
                  "  cvm programme init --demo  a loyalty programme with 1,000 of them enrolled")


def _month_before(day: dt.date) -> dt.date:
    return day.replace(day=1) - dt.timedelta(days=1)


def _built_demo(directory: Path):
    """The workspace at `directory` if it holds customers already (a demo built before, or
    someone's own data: either way shown, never imported into again), else None."""
    if not (directory / "cvm.toml").is_file():
        return None
    ws = open_workspace(directory)
    n = ws.warehouse.row_count("customers")
    if not n:
        return None
    console.print(f"{directory} already holds a workspace with {n:,} customers; showing it "
                  "(to build the demo again, give a new folder).", markup=False)
    return ws


def summary(
    calibration_end: Annotated[dt.datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="Last day of the calibration period (default: the latest "
                                   "transaction's day).")] = None,
    unit: Annotated[str | None, typer.Option(help="days, weeks or months (default: the "
                                                  "setting time_unit).")] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = Format.table,
    out: OutOpt = None,
) -> None:
    """Per-customer repeat-purchase summary: frequency, recency, T, monetary value."""
    ws = open_workspace(workspace)
    end = calibration_end.date() if calibration_end else None
    emit(ws.value.summary(end, unit), fmt, out, title="Repeat-purchase summary")


def status(workspace: WorkspaceOpt = None, fmt: FormatOpt = Format.table) -> None:
    """What the workspace holds: rows per table, imports and the engine in use."""
    import pyarrow as pa

    from cvm.schema import TABLES

    ws = open_workspace(workspace)
    rows = []
    for name in TABLES:
        entries = ws.warehouse.imports(name)
        rows.append({"table": name, "rows": ws.warehouse.row_count(name), "imports": len(entries),
                     "last_import": entries[-1]["imported_at"] if entries else None,
                     "last_file": entries[-1]["file"] if entries else None})
    if fmt is Format.table:
        console.print(f"Workspace {ws.path}: engine {ws.settings.engine}, currency "
                      f"{ws.settings.currency}")
    emit(pa.Table.from_pylist(rows), fmt, None, title="Tables")
