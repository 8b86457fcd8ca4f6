"""Shared CLI pieces: workspace, format and output options, checks of paths and encodings
given as options, printing a table, writing a figure's page, and the progress line on
stderr."""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import html
import logging
import math
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import click
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table

from cvm._json import dumps
from cvm.errors import InputError

__all__ = ["FigureOpt", "Format", "FormatOpt", "OutOpt", "WorkspaceOpt", "check_delimiter",
           "check_encoding", "check_figure_file", "check_folder", "check_input_file",
           "check_output_file", "command_scope", "console", "emit", "emit_json",
           "err_console", "open_workspace", "working", "write_figure", "write_table", "wrote"]

#: The logger long steps report on (`cvm.store.engines.progress`): shown as the spinner.
PROGRESS_LOGGER = "cvm.progress"

#: The folder of the workspace the running command opened (`open_workspace`), if any
_opened: ContextVar[Path | None] = ContextVar("cvm_opened_workspace", default=None)


class _Spinner:
    """The one transient line on stderr saying what a long command is doing: the innermost
    `working` step and the latest note on the logger cvm.progress (e.g. "starting Spark").
    Shown only on a terminal, and taken down before anything else is printed (`_Console`),
    so it never mixes with a table or a message."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._steps: list[str] = []
        self._note: str | None = None
        self._live: Live | None = None

    def text(self) -> str | None:
        """The line shown, or None when there is nothing to say."""
        parts = [p for p in (self._steps[-1] if self._steps else None, self._note) if p]
        return " - ".join(parts) + " ..." if parts else None

    def _show(self) -> None:
        text = self.text()
        if text is None:
            self.stop()
            return
        spinner = Spinner("dots", text, style="cyan")
        if self._live is not None:
            self._live.update(spinner, refresh=True)
            return
        # a plain console (Live prints through it), made now: Rich decides at creation
        # whether it is interactive (a terminal, not a dumb one)
        live_console = Console(stderr=True)
        if live_console.is_interactive:
            self._live = Live(spinner, console=live_console, transient=True,
                              redirect_stdout=False, redirect_stderr=False,
                              refresh_per_second=10)
            self._live.start(refresh=True)

    def note(self, text: str) -> None:
        with self._lock:
            self._note = text
            self._show()

    @contextlib.contextmanager
    def step(self, text: str) -> Iterator[None]:
        with self._lock:
            self._steps.append(text)
            self._note = None
            self._show()
        try:
            yield
        finally:
            with self._lock:
                self._steps.pop()
                self._note = None
                self._show()

    def stop(self) -> None:
        """Take the line down (it shows again at the next step or note)."""
        with self._lock:
            if self._live is not None:
                live, self._live = self._live, None
                live.stop()

    def reset(self) -> None:
        with self._lock:
            self._steps.clear()
            self._note = None
            self.stop()


_spinner = _Spinner()


class _Console(Console):
    """A Rich console that takes the progress line down before it prints."""

    def print(self, *args: Any, **kwargs: Any) -> None:
        _spinner.stop()
        super().print(*args, **kwargs)

    def log(self, *args: Any, **kwargs: Any) -> None:
        _spinner.stop()
        super().log(*args, **kwargs)


console = _Console()
err_console = _Console(stderr=True)


class _ProgressHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _spinner.note(record.getMessage())


@contextlib.contextmanager
def command_scope() -> Iterator[None]:
    """Around every command (the root command's invoke): show on stderr what long steps
    report on the logger cvm.progress, and forget afterwards which workspace it opened."""
    log = logging.getLogger(PROGRESS_LOGGER)
    handler, level = _ProgressHandler(logging.INFO), log.level
    token = _opened.set(None)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        _spinner.reset()
        _opened.reset(token)


def working(text: str):
    """Context manager: say on stderr that ``text`` is running until the block ends (a
    spinner on a terminal, nothing otherwise); notes such as "starting Spark" show beside
    it."""
    return _spinner.step(text)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _name(param: click.Parameter) -> str:
    """--out for an option, FILE for an argument named file."""
    return param.opts[0] if param.param_type_name == "option" else param.name.upper()


def check_output_file(ctx: typer.Context, param: typer.CallbackParam,
                      value: Path | None) -> Path | None:
    """Option callback of every file cvm writes: refuse, before any work, a folder that is
    missing or not writable, or a path that is a folder (else a library fails late)."""
    if value is None:
        return None
    what = f"{_name(param)} {value}"
    if value.is_dir():
        raise InputError(f"{what}: is a folder; give a file name")
    folder = value.parent
    if not folder.is_dir():
        raise InputError(f"{what}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{what}: folder {folder} is not writable")
    return value


def check_input_file(ctx: typer.Context, param: typer.CallbackParam,
                     value: Path | None) -> Path | None:
    """Option callback of a file cvm reads: a folder is refused (a missing file is reported
    by the reader, which names what it needed)."""
    if value is not None and value.is_dir():
        raise InputError(f"{_name(param)} {value}: is a folder, not a file")
    return value


def check_folder(ctx: typer.Context, param: typer.CallbackParam, value: Path) -> Path:
    """Callback of a folder cvm creates: an existing file of that name is refused."""
    if value.exists() and not value.is_dir():
        raise InputError(f"{_name(param)} {value}: is a file, not a folder")
    return value


def check_encoding(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    """A text encoding Python knows (else LookupError when the file is opened)."""
    try:
        codecs.lookup(value)
    except LookupError:
        raise InputError(f"{_name(param)} {value!r}: unknown text encoding; e.g. utf-8, "
                         "cp1252, latin-1, gbk") from None
    return value


def check_delimiter(ctx: typer.Context, param: typer.CallbackParam,
                    value: str | None) -> str | None:
    """A CSV delimiter is one character (the csv module's TypeError otherwise)."""
    if value is not None and len(value) != 1:
        raise InputError(f"{_name(param)} {value!r}: give one character, e.g. ';' or '|'")
    return value


def check_figure_file(ctx: typer.Context, param: typer.CallbackParam,
                      value: Path | None) -> Path | None:
    """Callback of --figure: an .html file in a folder cvm can write to, checked before any
    work."""
    value = check_output_file(ctx, param, value)
    if value is not None and value.suffix.lower() != ".html":
        raise InputError(f"{_name(param)} {value}: use an .html file")
    return value


FigureOpt = Annotated[Path | None, typer.Option(
    "--figure", callback=check_figure_file,
    help="Also write a chart of it to this .html file (opens offline).")]

def _byline() -> str:
    """Who made a page from what, and when: "cvm, workspace acme, 2026-12-05" (the folder
    name of the workspace the command opened, if it opened one)."""
    folder = _opened.get()
    parts = ["cvm", f"workspace {folder.name}" if folder is not None else None,
             dt.date.today().isoformat()]
    return ", ".join(p for p in parts if p)


def _page_title(title: str) -> str:
    """A page's title in the browser's tab: the figure's title and the workspace's name."""
    folder = _opened.get()
    return f"{title} ({folder.name})" if folder is not None else title


def _say_wrote(path: Path) -> None:
    err_console.print(f"wrote {path}", markup=False, highlight=False)


def wrote(path: Path) -> None:
    """Say which file a --figure, --heatmap or --report option wrote (on stderr: stdout may
    be csv or json). An .html page written elsewhere (the churn and retention pages) gets
    here what `write_figure` gives its pages: the title with the workspace's name in the
    browser's tab, and a heading with the byline (cvm, the workspace, the day)."""
    if path.suffix.lower() in (".html", ".htm"):
        _label_page(path)
    _say_wrote(path)


def _label_page(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    head, body_tag, body = text.partition("<body>")
    if not body_tag or 'name="generator" content="cvm"' in head:
        return  # not a page we know, or one labelled already
    found = re.search(r"<title>(.*?)</title>", head, flags=re.S)
    title = html.unescape(found.group(1)) if found else "cvm"
    tags = (f'<meta name="generator" content="cvm">'
            f"<title>{html.escape(_page_title(title))}</title>")
    head = (head[:found.start()] + tags + head[found.end():] if found
            else re.sub(r"<head[^>]*>", lambda m: m.group(0) + tags, head, count=1))
    heading = ('<header style="font-family: sans-serif">'
               + (f"<h1>{html.escape(title)}</h1>" if found else "")
               + f"<p>{html.escape(_byline())}</p></header>")
    path.write_text(head + body_tag + heading + body, encoding="utf-8")


def write_figure(fig, path: Path) -> None:
    """Write a Plotly figure as a self-contained .html page (opens offline), titled with the
    figure's title, under it the byline (cvm, the workspace's name, the day it was made),
    and say so."""
    if path.suffix.lower() != ".html":
        raise InputError(f"--figure {path}: use an .html file")
    title = fig.layout.title.text or "cvm figure"
    fig.update_layout(title=f"{title}<br><sub>{html.escape(_byline())}</sub>")
    page = fig.to_html(include_plotlyjs=True, full_html=True).replace(
        "<head>", '<head><meta charset="utf-8"><meta name="generator" content="cvm">'
        f"<title>{html.escape(_page_title(title))}</title>", 1)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--figure {path}: cannot write: {exc.strerror or exc}") from None
    _say_wrote(path)


WorkspaceOpt = Annotated[Path | None, typer.Option(
    "--workspace", "-w", envvar="CVM_WORKSPACE",
    help="Workspace folder (default: the current folder).")]
FormatOpt = Annotated[Format, typer.Option(
    "--format", "-f", help="table: a readable head; csv, json: the full table on stdout.")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", "-o", callback=check_output_file,
    help="Also write the full table to this .csv or .parquet file.")]

TABLE_HEAD_ROWS = 40
#: text longer than this folds over lines when the table is too wide
TEXT_FOLD = 24


def open_workspace(path: Path | None):
    """The workspace at ``path`` (default: the current folder); the pages the command
    writes name it."""
    from cvm.workspace import Workspace

    ws = Workspace.open(path or Path.cwd())
    _opened.set(ws.path)
    return ws


def _to_arrow(data: Any) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    return pa.Table.from_pandas(data, preserve_index=False)


CSV_DIGITS = 12  # significant digits a float keeps in CSV: 194723.92000000016 -> 194723.92


def _round_significant(column: pa.ChunkedArray) -> pa.Array:
    """Floats rounded to `CSV_DIGITS` significant digits, written as the shortest decimal:
    binary noise such as 0.1 + 0.2 = 0.30000000000000004 is not data."""
    import numpy as np

    column = column.combine_chunks()
    x = column.to_numpy(zero_copy_only=False).astype(float)
    out = x.copy()
    idx = np.flatnonzero(np.isfinite(x) & (x != 0))
    k = CSV_DIGITS - 1 - np.floor(np.log10(np.abs(x[idx]))).astype(int)
    exact = (k > 0) & (k <= 22)  # 10**k is an exact double: round(x * 10**k) / 10**k is
    idx, k = idx[exact], k[exact]  # then the double nearest the rounded decimal
    scale = 10.0 ** k
    out[idx] = np.round(x[idx] * scale) / scale
    return pa.array(out, type=column.type, mask=column.is_null().to_numpy(zero_copy_only=False))


def _csv_bytes(table: pa.Table) -> bytes:
    """The table as CSV, floats to `CSV_DIGITS` significant digits; Parquet keeps every bit."""
    columns = [_round_significant(c) if pa.types.is_floating(c.type) else c
               for c in table.columns]
    buf = pa.BufferOutputStream()
    pacsv.write_csv(pa.table(columns, names=table.column_names), buf)
    return buf.getvalue().to_pybytes()


def write_table(data: Any, out: Path) -> None:
    """Write a table to CSV or Parquet, chosen by the file's extension. A CSV file starts
    with a byte-order mark, so that Excel reads its Chinese (UTF-8) text correctly."""
    table = _to_arrow(data)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise InputError(f"--out {out}: unknown extension '{suffix}'; use .csv or .parquet")
    try:
        if suffix == ".csv":
            out.write_bytes(b"\xef\xbb\xbf" + _csv_bytes(table))
        else:
            pq.write_table(table, out)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write: {exc.strerror or exc}") from None


def emit_json(obj: Any) -> None:
    """Print a JSON document (NaN and infinities as null, dates as ISO strings)."""
    _spinner.stop()
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


def _widths(names: list[str], rows: list[list[str]], numeric: list[bool],
            room: int) -> list[int]:
    """Width of each column shown, the leftmost first: every number whole, headers and long
    text folded when the table is too wide, then columns dropped from the right until the
    rest fits in ``room`` characters."""
    full, least = [], []
    for i, name in enumerate(names):
        cells = max((len(r[i]) for r in rows), default=0)
        full.append(max(cells, len(name)))
        least.append(max(cells if numeric[i] else min(cells, TEXT_FOLD), min(len(name), 8)))

    def frame(k: int) -> int:  # borders and padding of k columns
        return 3 * k + 1

    if sum(full) + frame(len(names)) <= room:
        return full
    k = len(names)
    while k > 1 and sum(least[:k]) + frame(k) > room:
        k -= 1
    widths = least[:k]
    spare = room - sum(widths) - frame(k)
    for i in range(k):  # give the room left to the columns folded most, left first
        extra = min(spare, full[i] - widths[i])
        widths[i] += max(extra, 0)
        spare -= max(extra, 0)
    return widths


def emit(data: Any, fmt: Format = Format.table, out: Path | None = None,
         title: str | None = None) -> None:
    """Print a table in the chosen format and write it to --out if given.

    The table format never cuts a value: on a narrow terminal headers and long text fold,
    and columns that do not fit are left out, named, rather than shown elided."""
    table = _to_arrow(data)
    if out is not None:
        write_table(table, out)
    if fmt is Format.csv:
        _spinner.stop()
        sys.stdout.write(_csv_bytes(table).decode())
    elif fmt is Format.json:
        emit_json(table.to_pylist())
    else:
        names = table.column_names
        rows = [[_cell(v) for v in row.values()]
                for row in table.slice(0, TABLE_HEAD_ROWS).to_pylist()]
        numeric = [pa.types.is_integer(t) or pa.types.is_floating(t)
                   for t in table.schema.types]
        widths = _widths(names, rows, numeric, console.width)
        rich_table = Table(title=title, show_lines=False)
        for name, width, num in zip(names, widths, numeric, strict=False):
            rich_table.add_column(name, justify="right" if num else "left", width=width,
                                  overflow="fold")
        for row in rows:
            rich_table.add_row(*row[:len(widths)])
        console.print(rich_table)
        if len(widths) < len(names):
            console.print(f"columns left out to fit {console.width} columns: "
                          f"{', '.join(names[len(widths):])} (--format csv or --out FILE "
                          "shows them)", style="dim", markup=False, highlight=False)
        if table.num_rows > TABLE_HEAD_ROWS:
            console.print(f"[dim]{TABLE_HEAD_ROWS} of {table.num_rows:,} rows shown; "
                          "use --format csv or --out FILE for all.[/dim]")
        if out is not None:
            console.print(f"[dim]wrote {table.num_rows:,} rows to {out}[/dim]")
