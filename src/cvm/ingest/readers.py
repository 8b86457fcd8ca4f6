"""Open an input file (CSV, Parquet, Excel) as a stream of Arrow record batches.

Each batch carries a ``__row`` column: the row number a person sees when opening the
file (in a spreadsheet or text editor the header is row 1, so the first data row is 2;
Parquet has no header and counts records from 1). Nothing is read whole into memory.

A CSV row with another number of fields than the header stops the stream, unless the
reader is given a list for such rows (an import with a reject file): then each is left out
of the stream and put in the list with its row number and fields, and the rows after it
keep their own numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cvm.errors import InputError

__all__ = ["Source", "RaggedRow", "open_source", "file_sha256", "ROW"]

ROW = "__row"
_BATCH = 128 * 1024
_DELIMITERS = (",", ";", "\t", "|")


@dataclass
class RaggedRow:
    """A CSV row with another number of fields than the header, left out of the stream."""

    row: int  # numbered as the stream's rows are (the header is row 1)
    fields: list[str]


@dataclass
class Source:
    """An input file's columns and a way to stream it."""

    path: Path
    kind: str
    columns: list[str]
    total_rows: int | None  # known up front for Parquet and Excel, not for CSV
    _open: Callable[[], Iterator[pa.RecordBatch]]
    types: dict[str, pa.DataType] | None = None  # typed sources (Parquet); else all text
    delimiter: str | None = None  # CSV only
    encoding: str | None = None  # CSV only
    failure: str | None = None  # why the stream stopped early (CSV): set by the reader

    def type_of(self, column: str) -> pa.DataType:
        return (self.types or {}).get(column, pa.string())

    def reader(self, on_rows: Callable[[int], None] | None = None,
               ragged: list[RaggedRow] | None = None) -> pa.RecordBatchReader:
        """A one-shot reader of the file's batches, each with the ``__row`` column added.

        With ``ragged`` (a list, CSV only), rows with another number of fields than the
        header are appended to it instead of stopping the reading."""
        first = None

        def batches() -> Iterator[pa.RecordBatch]:
            nonlocal first
            start = 1 if self.kind == "parquet" else 2
            for batch in (self._open(ragged) if ragged is not None else self._open()):
                if on_rows is not None:
                    on_rows(batch.num_rows)
                if ROW in batch.schema.names:
                    yield batch
                    continue
                rows = pa.array(range(start, start + batch.num_rows), pa.int64())
                start += batch.num_rows
                yield pa.RecordBatch.from_arrays([*batch.columns, rows],
                                                 names=[*batch.schema.names, ROW])

        gen = batches()
        try:
            first = next(gen)
        except StopIteration:
            schema = self._empty_schema()
            return pa.RecordBatchReader.from_batches(schema, iter(()))

        def chained() -> Iterator[pa.RecordBatch]:
            yield first
            yield from gen

        return pa.RecordBatchReader.from_batches(first.schema, chained())

    def _empty_schema(self) -> pa.Schema:
        return pa.schema([(c, pa.string()) for c in self.columns] + [(ROW, pa.int64())])


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def open_source(path: str | Path, delimiter: str | None = None, encoding: str = "utf-8",
                sheet: str | None = None) -> Source:
    """Open CSV (any delimiter), Parquet or .xlsx by the file's extension."""
    path = Path(path)
    if not path.is_file():
        from cvm.errors import NotFoundError

        raise NotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return _parquet(path)
    if suffix in (".xlsx", ".xlsm"):
        return _excel(path, sheet)
    if suffix in (".csv", ".txt", ".tsv", ".gz"):
        return _csv(path, delimiter, encoding)
    raise InputError(f"{path}: unknown file type '{suffix}'; cvm reads .csv (also .tsv, .txt), "
                     ".parquet and .xlsx")


def _check_columns(path: Path, columns: list[str]) -> list[str]:
    cleaned = [c.strip() for c in columns]
    seen: set[str] = set()
    for i, c in enumerate(cleaned, 1):
        if not c:
            raise InputError(f"{path}, header: column {i} has no name")
        if c in seen:
            raise InputError(f"{path}, header: column name '{c}' appears twice")
        seen.add(c)
    return cleaned


def _csv(path: Path, delimiter: str | None, encoding: str) -> Source:
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding=encoding, newline="") as fh:
            header_line = fh.readline()
    except UnicodeDecodeError:
        raise InputError(f"{path}: not {encoding} text; give the file's encoding with "
                         "--encoding (e.g. gbk, latin-1)") from None
    if not header_line.strip():
        raise InputError(f"{path}: the file is empty (no header row)")
    header_line = header_line.lstrip("\ufeff")
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else max(
            _DELIMITERS, key=header_line.count)
    columns = _check_columns(path, next(csv.reader([header_line], delimiter=delimiter)))
    read_options, parse_options, convert_options = _csv_options(columns, delimiter, encoding)

    def batches(ragged: list[RaggedRow] | None = None) -> Iterator[pa.RecordBatch]:
        # a malformed row or a bad byte may come in any block, also while DuckDB pulls the
        # stream (where an exception would surface as DuckDB's): the reader stops and says
        # why in source.failure, and the importer locates the row (cvm.ingest.csvcheck)
        try:
            if ragged is None:
                yield from pacsv.open_csv(path, read_options, parse_options, convert_options)
            else:
                yield from _csv_apart(path, columns, delimiter, encoding, ragged)
        except pa.ArrowInvalid as exc:
            source.failure = str(exc)

    source = Source(path, "csv", columns, None, batches, delimiter=delimiter, encoding=encoding)
    return source


def _csv_options(columns: list[str], delimiter: str, encoding: str) -> tuple[
        pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    read_options = pacsv.ReadOptions(column_names=columns, skip_rows=1, block_size=16 << 20,
                                     encoding=encoding)
    # empty lines are kept (and skipped later) so that row numbers match the file's lines
    parse_options = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                       ignore_empty_lines=False)
    convert_options = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in columns}, strings_can_be_null=True,
        null_values=[""], quoted_strings_can_be_null=True)
    return read_options, parse_options, convert_options


def _fields(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error:  # e.g. a field longer than the csv module's limit: the line as it is
        return [text]


def _csv_apart(path: Path, columns: list[str], delimiter: str, encoding: str,
               ragged: list[RaggedRow]) -> Iterator[pa.RecordBatch]:
    """The CSV file's batches with their ``__row`` column, rows with another number of fields
    than the header left out and put in ``ragged``.

    Arrow numbers a row it cannot read (the header is row 1) only when it reads serially,
    so this reading uses one thread; the rows of each batch are numbered around the rows
    left out before and within it (Arrow parses a block before handing out its batch).
    """
    left_out: list[int] = []  # numbers of every row left out, ascending

    def handler(row) -> str:
        if row.number is None:  # cannot be placed: stop, as the fast reading does
            return "error"
        left_out.append(row.number)
        fields = _fields(row.text, delimiter)
        if any(fields):  # a line of empty fields (",,") is an empty row, as elsewhere
            ragged.append(RaggedRow(row.number, fields))
        return "skip"

    read_options, parse_options, convert_options = _csv_options(columns, delimiter, encoding)
    read_options.use_threads = False
    parse_options.invalid_row_handler = handler
    start, seen = 2, 0  # the next row number to give; left-out rows already passed
    for batch in pacsv.open_csv(path, read_options, parse_options, convert_options):
        end = start + batch.num_rows
        passed = seen
        while passed < len(left_out) and left_out[passed] < end:
            end += 1  # a row left out within the batch's span moves its end by one
            passed += 1
        numbers = np.arange(start, end, dtype=np.int64)
        if passed > seen:
            out = np.asarray(left_out[seen:passed], dtype=np.int64)
            numbers = numbers[~np.isin(numbers, out, assume_unique=True)]
        start, seen = end, passed
        if batch.num_rows:
            yield pa.RecordBatch.from_arrays([*batch.columns, pa.array(numbers)],
                                             names=[*batch.schema.names, ROW])


def _parquet(path: Path) -> Source:
    try:
        pf = pq.ParquetFile(path)
    except pa.ArrowInvalid as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from None
    columns = _check_columns(path, pf.schema_arrow.names)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=_BATCH):
            yield pa.RecordBatch.from_arrays(batch.columns, names=columns)

    types = {c: f.type for c, f in zip(columns, pf.schema_arrow, strict=True)}
    return Source(path, "parquet", columns, pf.metadata.num_rows, batches, types)


def _excel_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    text = str(v).strip()
    return text or None


def _excel(path: Path, sheet: str | None) -> Source:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad file
        raise InputError(f"{path}: not a readable .xlsx workbook: {exc}") from None
    try:
        ws = wb[sheet] if sheet else wb.worksheets[0]
    except KeyError:
        raise InputError(f"{path}: no sheet named '{sheet}'; sheets: {wb.sheetnames}") from None
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise InputError(f"{path}: the sheet is empty (no header row)")
    while header and header[-1] is None:
        header = header[:-1]
    columns = _check_columns(path, [_excel_text(h) or "" for h in header])
    total = max((ws.max_row or 1) - 1, 0)
    wb.close()

    def batches() -> Iterator[pa.RecordBatch]:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet_rows = (book[sheet] if sheet else book.worksheets[0]).iter_rows(values_only=True)
        next(sheet_rows)
        buf: list[list[str | None]] = [[] for _ in columns]
        row_numbers: list[int] = []

        def flush() -> pa.RecordBatch:
            arrays = [pa.array(c, pa.string()) for c in buf] + [pa.array(row_numbers, pa.int64())]
            return pa.RecordBatch.from_arrays(arrays, names=[*columns, ROW])

        for number, values in enumerate(sheet_rows, start=2):
            cells = [_excel_text(values[i]) if i < len(values) else None
                     for i in range(len(columns))]
            if all(c is None for c in cells):
                continue
            for i, c in enumerate(cells):
                buf[i].append(c)
            row_numbers.append(number)
            if len(row_numbers) >= _BATCH:
                yield flush()
                buf, row_numbers = [[] for _ in columns], []
        if row_numbers:
            yield flush()
        book.close()

    return Source(path, "xlsx", columns, total, batches)
