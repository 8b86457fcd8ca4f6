"""Shared CLI pieces: workspace, format and output options, and printing a table."""

from __future__ import annotations

import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table

from cvm._json import dumps
from cvm.errors import InputError

__all__ = ["Format", "FormatOpt", "OutOpt", "WorkspaceOpt", "console", "err_console",
           "emit", "emit_json", "open_workspace"]

console = Console()
err_console = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


WorkspaceOpt = Annotated[Path | None, typer.Option(
    "--workspace", "-w", envvar="CVM_WORKSPACE",
    help="Workspace folder (default: the current folder).")]
FormatOpt = Annotated[Format, typer.Option(
    "--format", "-f", help="table: a readable head; csv, json: the full table on stdout.")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", "-o", help="Also write the full table to this .csv or .parquet file.")]

TABLE_HEAD_ROWS = 40


def open_workspace(path: Path | None):
    from cvm.workspace import Workspace

    return Workspace.open(path or Path.cwd())


def _to_arrow(data: Any) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    return pa.Table.from_pandas(data, preserve_index=False)


def write_table(data: Any, out: Path) -> None:
    """Write a table to CSV or Parquet, chosen by the file's extension."""
    table = _to_arrow(data)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        pacsv.write_csv(table, out)
    elif suffix in (".parquet", ".pq"):
        pq.write_table(table, out)
    else:
        raise InputError(f"--out {out}: unknown extension '{suffix}'; use .csv or .parquet")


def emit_json(obj: Any) -> None:
    """Print a JSON document (NaN and infinities as null, dates as ISO strings)."""
    sys.stdout.write(dumps(obj) + "\n")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:,.4g}" if abs(v) < 1 else f"{v:,.2f}"
    return str(v)


def emit(data: Any, fmt: Format = Format.table, out: Path | None = None,
         title: str | None = None) -> None:
    """Print a table in the chosen format and write it to --out if given."""
    table = _to_arrow(data)
    if out is not None:
        write_table(table, out)
    if fmt is Format.csv:
        buf = pa.BufferOutputStream()
        pacsv.write_csv(table, buf)
        sys.stdout.write(buf.getvalue().to_pybytes().decode())
    elif fmt is Format.json:
        emit_json(table.to_pylist())
    else:
        shown = table.slice(0, TABLE_HEAD_ROWS)
        rich_table = Table(title=title, show_lines=False)
        for name in table.column_names:
            numeric = pa.types.is_integer(table.schema.field(name).type) or pa.types.is_floating(
                table.schema.field(name).type)
            rich_table.add_column(name, justify="right" if numeric else "left")
        for row in shown.to_pylist():
            rich_table.add_row(*(_cell(v) for v in row.values()))
        console.print(rich_table)
        if table.num_rows > TABLE_HEAD_ROWS:
            console.print(f"[dim]{TABLE_HEAD_ROWS} of {table.num_rows:,} rows shown; "
                          "use --format csv or --out FILE for all.[/dim]")
        if out is not None:
            console.print(f"[dim]wrote {table.num_rows:,} rows to {out}[/dim]")
