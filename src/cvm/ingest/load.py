"""Import a file into a canonical table: map columns, parse, validate, store atomically.

The file is streamed through an embedded DuckDB connection (never whole into pandas):
it is parsed into a staging table, every check runs as SQL over it, and only then are
the good rows written to one new Parquet part that the manifest lists. A file with bad
rows stores nothing, unless a reject file is given: then the good rows are stored and
the bad ones written to the reject file with a ``reason`` column; so are CSV rows with
another number of fields than the header (their fields in the header's columns, the
surplus in the last one). Rows whose key is already stored with the same values are
skipped, so importing a file twice adds nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from cvm.errors import InputError, Problem, ValidationError
from cvm.ingest import csvcheck
from cvm.ingest.readers import ROW, RaggedRow, Source, file_sha256, open_source
from cvm.schema import FieldSpec, TableSpec, table_spec

__all__ = ["ImportReport", "import_file"]

_SUSPECT = "__suspect"
_REASON = "__reason"
# how the reason of a ragged row starts in a reject file (see _Importer._ragged_table)
_RAGGED_REASON = r"^row has \d+ fields?, the header has \d+"
_SQL_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMP", "date": "DATE", "float": "DOUBLE"}
# Layouts read without --date-format: only those whose year, month and day cannot be confused
# (a four-digit year first). 05/01/24 could be any of three dates, so it needs --date-format.
_SLASHED = r"\d{4}/\d{1,2}/\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?"
_SLASHED_FORMATS = ("%Y/%m/%d", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S")
# A plain decimal number: no NaN, infinity, hexadecimal or 1_000 (which DuckDB would accept)
_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"


@dataclass
class ImportReport:
    """What an import did."""

    table: str
    file: str
    rows_read: int = 0
    rows_added: int = 0
    rows_already_stored: int = 0
    rows_rejected: int = 0
    reject_file: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped_same_file: bool = False


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def resolve_mapping(spec: TableSpec, source: Source, mapping: dict[str, str]) -> dict[str, str]:
    """Canonical field -> source column, from --map plus same-name columns."""
    for fld, col in mapping.items():
        if fld not in spec.names:
            raise InputError(f"--map {fld}={col}: '{fld}' is not a field of {spec.name}; "
                             f"fields are: {', '.join(spec.names)}")
        if col not in source.columns:
            raise InputError(f"--map {fld}={col}: {source.path} has no column '{col}'; its "
                             f"columns are: {', '.join(source.columns)}")
    resolved = dict(mapping)
    taken = set(mapping.values())
    for f in spec.fields:
        if f.name in resolved:
            continue
        if f.name in source.columns:  # the exact name wins over look-alikes
            candidates = [f.name]
        else:
            candidates = [c for c in source.columns if _norm(c) == f.name]
        candidates = [c for c in candidates if c not in taken]
        if len(candidates) > 1:
            raise InputError(f"{source.path}: columns {', '.join(map(repr, candidates))} could "
                             f"each be the field '{f.name}'; say which with --map "
                             f"{f.name}=COLUMN")
        if candidates:
            resolved[f.name] = candidates[0]
            taken.add(candidates[0])
    return resolved


def _parse_expr(f: FieldSpec, raw: str, date_format: str | None, tz: str,
                decimal: str = ".") -> str:
    if f.kind == "string" and f.choices:
        norm = f"regexp_replace(lower({raw}), '[\\s/\\-]+', '_', 'g')"
        cases = " ".join(f"WHEN {_lit(a)} THEN {_lit(v)}" for a, v in f.choices.items())
        return f"CASE {norm} {cases} END"
    if f.kind == "string":
        return raw
    if f.kind == "float":
        if decimal == ",":  # 1.234,50 or 1 234,50: drop the thousands separators first
            raw = (f"replace(regexp_replace({raw}, '[.\\s\u00a0\u202f]', '', 'g'), "
                   "',', '.')")
        # a plain number only; non-finite values and underflow are refused by the checks
        return (f"CASE WHEN regexp_full_match({raw}, {_lit(_NUMBER)}) "
                f"THEN TRY_CAST({raw} AS DOUBLE) END")
    if date_format is not None:
        ts = f"TRY_STRPTIME({raw}, {_lit(date_format)})"
        if "%z" in date_format or "%Z" in date_format:  # an instant: to the workspace's zone
            ts = f"timezone({_lit(tz)}, {ts})"
        # an unambiguous ISO date is read too: a workbook's real date cells arrive so
        ts = (f"coalesce({ts}, CASE WHEN regexp_full_match({raw}, "
              f"'\\d{{4}}-\\d{{2}}-\\d{{2}}( \\d{{2}}:\\d{{2}}:\\d{{2}})?') "
              f"THEN TRY_CAST({raw} AS TIMESTAMP) END)")
    else:
        # cheap tests route each value to one parser; DuckDB's cast reads ISO year-first
        # dates only, and a time zone after the time (Z, +08:00, -05:00, UTC) makes it an
        # instant, converted to the workspace's zone (the slower path, taken only then); a
        # tab or line break inside (a shifted delimiter, a broken line) is refused, though
        # DuckDB's cast would read past it
        slashed = "[" + ", ".join(_lit(x) for x in _SLASHED_FORMATS) + "]"
        zoned = f"length({raw}) > 10 AND regexp_matches(substr({raw}, 11), '[^0-9:. T]')"
        ts = (f"CASE WHEN NOT (ascii({raw}) BETWEEN 48 AND 57) THEN NULL "
              f"WHEN regexp_matches({raw}, '[\\t\\n\\r\\v\\f]') THEN NULL "
              f"WHEN contains({raw}, '/') THEN CASE WHEN regexp_full_match({raw}, "
              f"{_lit(_SLASHED)}) THEN TRY_STRPTIME({raw}, {slashed}) END "
              f"WHEN NOT contains({raw}, '-') THEN CASE WHEN length({raw}) = 8 "
              f"THEN TRY_STRPTIME({raw}, '%Y%m%d') END "
              f"WHEN {zoned} THEN timezone({_lit(tz)}, TRY_CAST({raw} AS TIMESTAMPTZ)) "
              f"ELSE TRY_CAST({raw} AS TIMESTAMP) END")
    return f"CAST({ts} AS DATE)" if f.kind == "date" else ts


def _expected(f: FieldSpec, date_format: str | None, decimal: str = ".") -> str:
    if f.choices:
        return ("one of " + ", ".join(sorted(set(f.choices.values())))
                + " (map your own values with --map-value FIELD:VALUE=CODE)")
    if f.kind == "float":
        example = "1234.50" if decimal == "." else "1234,50 or 1.234,50"
        return f"a number such as {example} (finite: not NaN, infinity or 1_000)"
    if date_format is None:
        example = "a date such as 2024-01-31 or 20240131"
        if f.kind == "timestamp":
            example = example.replace("a date", "a date or date-time")
        return (example + "; other layouts, such as 05/01/24, are ambiguous: give "
                "--date-format, e.g. %d/%m/%y")
    return f"a date in the format {date_format} (or ISO, 2024-01-31)"


def check_date_format(date_format: str) -> None:
    """Refuse a --date-format that is not a strptime format DuckDB knows."""
    con = duckdb.connect()
    try:
        con.execute("SELECT TRY_STRPTIME('2024-01-31', ?)", [date_format])
    except duckdb.Error as exc:
        raise InputError(f"--date-format {date_format!r} is not a strptime format ({exc}); "
                         "use codes such as %d/%m/%Y or %Y-%m-%d %H:%M (not dd/mm/yyyy)") from None
    finally:
        con.close()
    if "%" not in date_format:
        raise InputError(f"--date-format {date_format!r} has no strptime code; use codes such "
                         "as %d/%m/%Y (day/month/year) or %m/%d/%Y, not dd/mm/yyyy")


class _Importer:
    def __init__(self, ws, spec: TableSpec, source: Source, mapping: dict[str, str],
                 date_format: str | None, max_examples: int, sha256: str, *,
                 decimal: str = ".", value_maps: dict[str, dict[str, str]] | None = None,
                 skip: frozenset[str] = frozenset(), options: dict | None = None):
        self.ws = ws
        self.sha256 = sha256
        self.spec = spec
        self.source = source
        self.mapping = mapping
        self.date_format = date_format
        self.decimal = decimal
        self.value_maps = value_maps or {}
        self.options = options or {}
        self.tz = ws.settings.timezone
        self.max_examples = max_examples
        self.con = duckdb.connect(config={
            "memory_limit": ws.settings.duckdb_memory_limit,
            "temp_directory": str(ws.warehouse.scratch_dir),
            "preserve_insertion_order": False,
            "autoinstall_known_extensions": False,  # never download at run time
        })
        self.con.execute("SET enable_progress_bar = false")  # the CLI shows its own
        # times without an offset are read in the workspace's zone, never the machine's
        self.con.execute(f"SET TimeZone = {_lit(self.tz)}")
        # CSV rows with another number of fields than the header, kept apart for the reject
        # file (None: such a row refuses the file)
        self.ragged: list[RaggedRow] | None = None
        # columns are named by position (c0, c1, ...): DuckDB matches names without regard
        # to case, so 'amount' and 'AMOUNT' would otherwise read the same column
        self.pos = {c: f"c{i}" for i, c in enumerate(source.columns)}
        self.present = [f for f in spec.fields if f.name in mapping]
        mapped = set(mapping.values())
        self.skip = skip  # a reject file's row and reason columns
        self.extras = ([c for c in source.columns if c not in mapped and c not in skip]
                       if spec.keep_extra else [])
        self.extras = [c for c in self.extras if _norm(c) not in {_norm(n) for n in spec.names}]

    def _scalar(self, sql: str):
        return self.con.execute(sql).fetchall()[0][0]

    # -- staging ------------------------------------------------------------------------
    def _typed(self, f: FieldSpec, column: str) -> bool:
        """The source column already has the field's type (e.g. a Parquet timestamp)."""
        t = self.source.type_of(column)
        if f.kind in ("timestamp", "date"):
            return pa.types.is_timestamp(t) or pa.types.is_date(t)
        if f.kind == "float":
            return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        return False

    def stage(self, on_rows: Callable[[int], None] | None) -> int:
        """Parse the file into the staging table: one row per record, raw and parsed values.

        A field keeps its raw text (``raw_<field>``) only where parsing can fail.
        """
        aliases = ", ".join(self.pos[c] for c in self.source.columns)
        if self.source.kind == "parquet":  # DuckDB reads it natively, in parallel
            src = (f"(SELECT *, file_row_number + 1 AS {ROW} FROM read_parquet("
                   f"{_lit(str(self.source.path))}, file_row_number = true) AS p({aliases}))"
                   " AS src")
        else:
            self.con.register("src_stream", self.source.reader(on_rows, ragged=self.ragged))
            src = f"src_stream AS src({aliases}, {ROW})"
        cols = []
        self.raw_col = {}
        for f in self.present:
            col = f"src.{self.pos[self.mapping[f.name]]}"
            if self._typed(f, self.mapping[f.name]):
                cols.append(f"CAST({col} AS {_SQL_TYPES[f.kind]}) AS {_q(f.name)}")
                self.raw_col[f.name] = _q(f.name)
                continue
            raw = f"NULLIF(trim(CAST({col} AS VARCHAR)), '')"
            if f.name in self.value_maps:  # the company's own words for a value
                cases = " ".join(f"WHEN {_lit(a)} THEN {_lit(b)}"
                                 for a, b in self.value_maps[f.name].items())
                raw = f"(CASE {raw} {cases} ELSE {raw} END)"
            if f.kind == "string" and not f.choices:
                cols.append(f"{raw} AS {_q(f.name)}")
                self.raw_col[f.name] = _q(f.name)
                continue
            cols.append(f"{raw} AS {_q('raw_' + f.name)}")
            cols.append(f"{_parse_expr(f, raw, self.date_format, self.tz, self.decimal)} "
                        f"AS {_q(f.name)}")
            self.raw_col[f.name] = _q("raw_" + f.name)
        cols += [f"src.{self.pos[c]} AS {_q('x_' + c)}" for c in self.extras]
        if "reason" in self.skip:  # a reject file imported back: its reasons, checked
            cols.append(f"CAST(src.{self.pos['reason']} AS VARCHAR) AS {_REASON}")
        if self.source.kind == "csv":  # values a lenient reading may have got wrong
            cols.append(" OR ".join(
                f"coalesce(contains({v}, chr(10)) OR contains({v}, chr(13)) OR "
                f"contains({v}, '\"') OR ends_with({v}, '\\'), false)"
                for v in (f"src.{self.pos[c]}" for c in self.source.columns))
                + f" AS {_SUSPECT}")
        all_null = " AND ".join(f"src.{self.pos[c]} IS NULL" for c in self.source.columns)
        self.con.execute(
            f"CREATE TEMP TABLE staged AS SELECT src.{ROW} AS {ROW}, {', '.join(cols)} "
            f"FROM {src} WHERE NOT ({all_null})")
        if self.source.kind != "parquet":
            self.con.unregister("src_stream")
        if self.source.kind == "csv":
            self._check_structure()
        n = self._scalar("SELECT count(*) FROM staged")
        if self.source.kind == "parquet" and on_rows is not None:
            on_rows(n)
        key_field = self.spec.key[0]
        if self.spec.derived_key and key_field not in self.mapping:
            self._derive_key(key_field)
        return n

    def _check_structure(self) -> None:
        """Refuse a CSV file that is not well-formed, naming its rows: when the fast reader
        stopped, left out rows with another number of fields than the header, or read a
        value spanning lines, holding a quote or ending in a backslash, the file is read
        again strictly (`cvm.ingest.csvcheck.scan`). With a reject file, rows whose only
        fault is their number of fields go there, when both readings agree on which they are."""
        src = self.source
        if src.failure is None and not self.ragged and not self._scalar(
                f"SELECT count(*) FROM staged WHERE {_SUSPECT}"):
            return
        apart = self.ragged is not None
        found = csvcheck.scan(src.path, src.delimiter, src.encoding, len(src.columns),
                              every_ragged=apart)
        if apart and src.failure is None and not found.malformed:
            fast = [r.row for r in self.ragged]
            if found.ragged == fast:
                return  # each ragged row goes to the reject file
            differ = sorted(set(fast) ^ set(found.ragged))[:5]
            raise InputError(f"{src.path}: rows {', '.join(map(str, differ))}: the two readings "
                             "of this CSV file disagree on which rows have another number of "
                             "fields than the header, so they cannot be told apart reliably; "
                             "nothing was stored. Check the quoting of these rows.")
        if found.problems:
            if found.malformed or apart:
                hint = ("Nothing was stored: rows of a file that is not well-formed CSV "
                        "cannot be told apart reliably.")
            else:
                hint = ("Nothing was stored. Check the delimiter (--delimiter) and the quoting "
                        "of these rows, or import with --reject-file BAD.csv to store the "
                        "other rows and write these there.")
            raise ValidationError(str(src.path), self.spec.name,
                                  found.problems[:self.max_examples], len(found.problems),
                                  hint=hint)
        if src.failure is not None:
            raise InputError(f"{src.path}: cannot be read as CSV with delimiter "
                             f"{src.delimiter!r}: {src.failure}. Check the delimiter "
                             "(--delimiter) and quoting.")

    def _derive_key(self, key_field: str) -> None:
        """Key = hash of the row's canonical field values plus its occurrence among identical
        rows. Every canonical field counts, in the schema's order, whether the file has it or
        not, and an empty value counts as absent: so an added empty column, or a column the
        table does not keep, derives the same ids."""
        present = {f.name for f in self.present}
        content = [f.name for f in self.spec.fields if f.name != key_field]
        parts = ", ".join(f"coalesce(CAST({_q(n)} AS VARCHAR), '')" if n in present else "''"
                          for n in content)
        digest = f"substr(md5(concat_ws(chr(31), {parts})), 1, 20)"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE staged AS SELECT *, {digest} || '-' || "
            f"CAST(row_number() OVER (PARTITION BY {digest} ORDER BY {ROW}) AS VARCHAR) "
            f"AS {_q(key_field)} FROM staged")
        self.raw_col[key_field] = _q(key_field)
        self.present = [self.spec.field(key_field), *self.present]
        self.mapping = {key_field: "(derived)", **self.mapping}

    # -- checks -------------------------------------------------------------------------
    def problem_queries(self) -> list[str]:
        """SQL selects of (row, field, value, expected), one per check."""
        qs = []

        def add(fld: str, cond: str, expected: str, value: str | None = None) -> None:
            value = value or self.raw_col[fld]
            qs.append(f"SELECT {ROW} AS row, {_lit(fld)} AS field, CAST({value} AS VARCHAR) "
                      f"AS value, {expected} AS expected FROM staged WHERE {cond}")

        for f in self.present:
            raw, val = self.raw_col[f.name], _q(f.name)
            is_key = f.name in self.spec.key
            if (f.required or is_key) and self.mapping.get(f.name) != "(derived)":
                add(f.name, f"{raw} IS NULL", _lit("a value (the field is required)"))
            if raw != val:  # the value was parsed from text, which can fail
                add(f.name, f"{raw} IS NOT NULL AND {val} IS NULL",
                    _lit(_expected(f, self.date_format, self.decimal)))
            if f.kind == "string":
                add(f.name, f"contains({val}, chr(0))", _lit("text without NUL characters"))
            if f.min_value is not None:
                add(f.name, f"{val} < {f.min_value}", _lit(f"a value >= {f.min_value:g}"))
            if f.kind == "float":  # NaN, infinity (1e400) and underflow to 0 (1e-400)
                mantissa = f"regexp_extract(CAST({raw} AS VARCHAR), '^[+-]?([0-9.,\\s]*)', 1)"
                add(f.name, f"NOT isfinite({val}) OR ({val} = 0 AND regexp_matches({mantissa}, "
                    "'[1-9]'))", _lit(_expected(f, self.date_format, self.decimal)))
            if f.kind in ("timestamp", "date"):
                lo, hi = self.ws.settings.imports.min_year, self.ws.settings.imports.max_year
                add(f.name, f"{val} < make_date({lo}, 1, 1) OR {val} >= make_date({hi + 1}, 1, 1)",
                    _lit(f"a date from {lo}-01-01 to {hi}-12-31 (settings imports.min_year "
                         "and imports.max_year); is the layout misread? Give --date-format"))
        for c in self.extras:
            text = f"CAST({_q('x_' + c)} AS VARCHAR)"
            qs.append(f"SELECT {ROW} AS row, {_lit(c)} AS field, {text} AS value, "
                      f"'text without NUL characters' AS expected FROM staged "
                      f"WHERE contains({text}, chr(0))")
        if "reason" in self.skip:
            # a ragged row written to a reject file has its fields in the header's columns by
            # position, which may be the wrong ones: it imports once its reason is emptied
            qs.append(f"SELECT {ROW} AS row, 'reason' AS field, {_REASON} AS value, 'an "
                      "empty reason: the row had another number of fields than the header, "
                      "so its values may be in the wrong columns; once each is in its column, "
                      f"empty the reason' AS expected FROM staged WHERE regexp_matches("
                      f"{_REASON}, {_lit(_RAGGED_REASON)})")
        names = {f.name for f in self.present}
        for early, late in self.spec.ordered_pairs:
            if early in names and late in names:
                add(late, f"{_q(late)} < {_q(early)}",
                    f"'a value not before {early} (' || CAST({_q(early)} AS VARCHAR) || ')'")
        qs += self._key_checks()
        qs += self._reference_checks()
        if self.spec.name == "contracts":
            qs += self._overlap_checks()
        return qs

    def _overlap_checks(self) -> list[str]:
        """A customer's contracts for the same plan must not overlap in time (in the file, or
        with stored ones). Different plans may run side by side (mobile and broadband)."""
        far = "DATE '9999-12-31'"
        same_plan = "plan" in self.mapping
        # (alias, its end expression): the file may have no end column (all contracts open)
        new = ("b", 'b."end"' if "end" in self.mapping else "NULL::DATE")
        other_new = ("a", 'a."end"' if "end" in self.mapping else "NULL::DATE")
        stored = ("a", 'a."end"')

        def overlap(x: tuple[str, str], y: tuple[str, str]) -> str:
            plan = f" AND {x[0]}.plan IS NOT DISTINCT FROM {y[0]}.plan" if same_plan else ""
            return (f"{x[0]}.customer_id = {y[0]}.customer_id{plan} AND {y[0]}.start <= "
                    f"coalesce({x[1]}, {far}) AND {x[0]}.start <= coalesce({y[1]}, {far})")

        def shown(x: tuple[str, str]) -> str:
            return (f"CAST({x[0]}.start AS VARCHAR) || '..' || coalesce(CAST({x[1]} AS VARCHAR), "
                    f"'open')")

        out = [f"SELECT b.{ROW} AS row, 'start' AS field, {shown(new)} AS value, "
               f"'no overlap with the same customer''s contract on row ' || CAST(a.{ROW} AS "
               f"VARCHAR) || ' (' || {shown(other_new)} || ')' AS expected FROM staged a JOIN "
               f"staged b ON a.{ROW} < b.{ROW} AND {overlap(other_new, new)}"]
        if self.stored_parts:
            out.append(
                f"SELECT b.{ROW} AS row, 'start' AS field, {shown(new)} AS value, "
                f"'no overlap with the customer''s stored contract ' || a.contract_id || ' (' || "
                f"{shown(stored)} || ')' AS expected FROM stored a JOIN staged b ON "
                f"{overlap(stored, new)} AND a.contract_id IS DISTINCT FROM b.contract_id")
        return out

    def _key_checks(self) -> list[str]:
        key = self.spec.key
        if not all(k in self.mapping for k in key):
            return []
        kcols = ", ".join(_q(k) for k in key)

        def shown(prefix: str = "") -> str:
            return " || '/' || ".join(f"coalesce(CAST({prefix}{_q(k)} AS VARCHAR), '')"
                                      for k in key)

        label = "/".join(key)
        out = [
            f"SELECT {ROW} AS row, {_lit(label)} AS field, {shown()} AS value, "
            f"'a unique id (the same id is on row ' || CAST(first_row AS VARCHAR) || ')' "
            f"AS expected FROM staged JOIN (SELECT {kcols}, min({ROW}) AS first_row FROM staged "
            f"GROUP BY {kcols} HAVING count(*) > 1) USING ({kcols}) WHERE {ROW} <> first_row"
        ]
        if self.stored_parts:
            # a stored row may not change: neither a canonical field nor a further attribute
            # (a new attribute counts as a change where the row gives it a value)
            stored_cols = {r[0] for r in self.con.execute("DESCRIBE stored").fetchall()}
            changes = [f"s.{_q(f.name)} IS DISTINCT FROM t.{_q(f.name)}" for f in self.present
                       if f.name not in key]
            changes += [f"CAST(s.{_q('x_' + c)} AS VARCHAR) IS DISTINCT FROM "
                        f"CAST(t.{_q(c)} AS VARCHAR)" if c in stored_cols
                        else f"s.{_q('x_' + c)} IS NOT NULL" for c in self.extras]
            differs = " OR ".join(changes)
            on = " AND ".join(f"s.{_q(k)} = t.{_q(k)}" for k in key)
            out.append(
                f"SELECT s.{ROW} AS row, {_lit(label)} AS field, {shown('s.')} "
                f"AS value, 'an id not already stored with other values (give the row a new id)' "
                f"AS expected FROM staged s JOIN stored t ON {on} WHERE {differs or 'FALSE'}")
        return out

    def _reference_checks(self) -> list[str]:
        out = []
        ws, spec = self.ws, self.spec
        if (spec.references_customers and "customer_id" in self.mapping
                and ws.settings.imports.check_customers and ws.has_rows("customers")):
            self._view("known_customers", ws.warehouse.parts("customers"))
            required = self.spec.field("customer_id").required
            cond = "customer_id NOT IN (SELECT customer_id FROM known_customers)"
            if not required:
                cond = "customer_id IS NOT NULL AND " + cond
            out.append(f"SELECT {ROW} AS row, 'customer_id' AS field, customer_id AS value, "
                       f"'a customer_id present in the customers table' AS expected "
                       f"FROM staged WHERE {cond}")
        if spec.name == "survey_responses" and ws.has_rows("survey_items"):
            self._view("items", ws.warehouse.parts("survey_items"))
            out.append(
                f"SELECT s.{ROW} AS row, 'answer' AS field, CAST(s.answer AS VARCHAR) AS value, "
                f"'an answer between ' || i.scale_min || ' and ' || i.scale_max || ' (the scale "
                f"of item ' || s.item || ')' AS expected FROM staged s JOIN items i "
                f"ON s.survey = i.survey AND s.item = i.item "
                f"WHERE s.answer < i.scale_min OR s.answer > i.scale_max")
            out.append(
                f"SELECT s.{ROW} AS row, 'item' AS field, s.item AS value, 'an item defined for "
                f"survey ' || s.survey || ' in survey_items' AS expected FROM staged s "
                f"WHERE s.survey IN (SELECT survey FROM items) AND NOT EXISTS (SELECT 1 FROM "
                f"items i WHERE i.survey = s.survey AND i.item = s.item)")
        return out

    def _view(self, name: str, parts: list[Path]) -> None:
        files = "[" + ", ".join(_lit(str(p)) for p in parts) + "]"
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM "
                         f"read_parquet({files}, union_by_name = true)")

    # -- run --------------------------------------------------------------------------------
    def run(self, report: ImportReport, reject_file: Path | None,
            on_rows: Callable[[int], None] | None) -> ImportReport:
        self.stored_parts = self.ws.warehouse.parts(self.spec.name)
        if self.stored_parts:
            self._view("stored", self.stored_parts)
        if reject_file is not None and self.source.kind == "csv":
            self.ragged = []
        report.rows_read = self.stage(on_rows)
        ragged = self.ragged or []
        report.rows_read += len(ragged)
        problems_sql = " UNION ALL ".join(self.problem_queries())
        self.con.execute(f"CREATE TEMP TABLE problems AS {problems_sql}")
        total = self._scalar("SELECT count(*) FROM problems")
        if total and reject_file is None:
            rows = self.con.execute(
                f"SELECT row, field, value, expected FROM problems ORDER BY row, field "
                f"LIMIT {self.max_examples}").fetchall()
            raise ValidationError(str(self.source.path), self.spec.name,
                                  [Problem(*r) for r in rows], total)
        if total or ragged:
            report.rows_rejected = self._write_rejects(reject_file, total)
            report.reject_file = str(reject_file)
        if ragged and len(ragged) == report.rows_read:
            report.notes.append(f"every row has another number of fields than the header "
                                f"({len(self.source.columns)}); is the delimiter "
                                f"{self.source.delimiter!r} right? Give it with --delimiter")
        good = f"{ROW} NOT IN (SELECT row FROM problems)"
        if self.stored_parts:
            on = " AND ".join(f"staged.{_q(k)} = stored.{_q(k)}" for k in self.spec.key)
            already = f"EXISTS (SELECT 1 FROM stored WHERE {on})"
            report.rows_already_stored = self._scalar(
                f"SELECT count(*) FROM staged WHERE {good} AND {already}")
            good += f" AND NOT {already}"
        added = self._scalar(f"SELECT count(*) FROM staged WHERE {good}")
        if added:
            self._store(good, added, report)
        report.rows_added = added
        return report

    def _write_rejects(self, path: Path, total: int) -> int:
        """Write the rejected rows to ``path`` as the file has them, between their row number
        and the reason; ``total`` is the number of problems with values."""
        names = [_q(c) for c in self.source.columns]
        parts = []
        if total:  # the file read again, for the rejected rows' values as written
            original = ", ".join(f"src_cols.{self.pos[c]} AS {n}"
                                 for c, n in zip(self.source.columns, names, strict=True))
            aliases = ", ".join(self.pos[c] for c in self.source.columns)
            again = None if self.ragged is None else []
            self.con.register("src_stream", self.source.reader(ragged=again))
            parts.append(
                f"SELECT src_cols.{ROW} AS row, {original}, r.reason FROM src_stream AS "
                f"src_cols({aliases}, {ROW}) JOIN "
                f"(SELECT row, string_agg(field || ': expected ' || expected || ', got ' || "
                f"coalesce('''' || value || '''', '(empty)'), '; ' ORDER BY field) AS reason "
                f"FROM problems GROUP BY row) r ON src_cols.{ROW} = r.row")
        if self.ragged:
            self.con.register("ragged_rows", self._ragged_table())
            fields = ", ".join(f"{self.pos[c]} AS {n}"
                               for c, n in zip(self.source.columns, names, strict=True))
            parts.append(f"SELECT {ROW} AS row, {fields}, reason FROM ragged_rows")
        self.con.execute(
            f"COPY (SELECT * FROM ({' UNION ALL '.join(parts)}) ORDER BY row) "
            f"TO {_lit(str(path))} (HEADER, DELIMITER ',')")
        rejected = self._scalar("SELECT count(DISTINCT row) FROM problems") if total else 0
        return rejected + len(self.ragged or [])

    def _ragged_table(self) -> pa.Table:
        """The ragged rows as the reject file has them: each field in the header's column of
        its position; surplus fields in the last column as the file has them (joined by the
        delimiter, quoted where needed); missing ones empty. The reason starts as
        ``_RAGGED_REASON`` matches, so that the row imports back only once it is emptied."""
        columns, delimiter = self.source.columns, self.source.delimiter or ","
        n = len(columns)
        cells: list[list[str | None]] = [[] for _ in columns]
        reasons = []
        for r in self.ragged or []:
            got = len(r.fields)
            values: list[str | None] = list(r.fields[:n]) + [None] * (n - got)
            if got > n:
                out = io.StringIO()
                csv.writer(out, delimiter=delimiter, lineterminator="\n").writerow(
                    r.fields[n - 1:])
                values[n - 1] = out.getvalue()[:-1]
                where = f"fields {n} to {got} are in {columns[-1]} as the file has them"
            else:
                where = ("the last column is left empty" if n - got == 1 else
                         f"the last {n - got} columns are left empty")
            reasons.append(f"row has {got} field{'s' if got != 1 else ''}, the header has {n}: "
                           f"{where}; put each value in its column, then empty this reason")
            for i, v in enumerate(values):
                cells[i].append(v or None)
        return pa.table([pa.array([r.row for r in self.ragged or []], pa.int64()),
                         *(pa.array(c, pa.string()) for c in cells),
                         pa.array(reasons, pa.string())],
                        names=[ROW, *(self.pos[c] for c in columns), "reason"])

    def _store(self, good: str, added: int, report: ImportReport) -> None:
        cols = [f"CAST({_q(f.name)} AS {_SQL_TYPES[f.kind]}) AS {_q(f.name)}"
                for f in self.spec.fields if f.name in self.mapping]
        cols += [f"NULL::{_SQL_TYPES[f.kind]} AS {_q(f.name)}" for f in self.spec.fields
                 if f.name not in self.mapping]
        cols += [f"{_q('x_' + c)} AS {_q(c)}" for c in self.extras]
        staged = self.ws.warehouse.scratch_dir / f"staged-{self.spec.name}-{id(self)}.parquet"
        order = ""
        if self.spec.stored_order:  # the source's row order breaks ties
            order = f" ORDER BY {', '.join(_q(c) for c in self.spec.stored_order)}, {ROW}"
        try:
            self.con.execute(
                f"COPY (SELECT {', '.join(cols)} FROM staged WHERE {good}{order}) "
                f"TO {_lit(str(staged))} (FORMAT parquet, COMPRESSION zstd)")
            entry = {"file": str(self.source.path), "sha256": self.sha256, "rows": added,
                 "options": self.options}
            if self.spec.name == "transactions":  # the workspace's latest day, cheaply
                latest = self._scalar(f"SELECT max(timestamp) FROM staged WHERE {good}")
                entry["max_timestamp"] = latest.isoformat()
            self.ws.warehouse.add_part(self.spec.name, staged, entry)
        finally:
            staged.unlink(missing_ok=True)  # moved into the warehouse, or not to be kept


def _check_value_maps(spec: TableSpec, value_maps: dict[str, dict[str, str]]) -> None:
    for fld, pairs in value_maps.items():
        if fld not in spec.names:
            raise InputError(f"--map-value {fld}:...: '{fld}' is not a field of {spec.name}; "
                             f"fields are: {', '.join(spec.names)}")
        f = spec.field(fld)
        if f.choices:
            codes = set(f.choices.values())
            for source_value, target in pairs.items():
                if target not in codes:
                    raise InputError(f"--map-value {fld}:{source_value}={target}: '{target}' is "
                                     f"not a code of {fld}; codes are: "
                                     f"{', '.join(sorted(codes))}")


def import_file(ws, table: str, path: str | Path, mapping: dict[str, str] | None = None, *,
                reject_file: str | Path | None = None, date_format: str | None = None,
                delimiter: str | None = None, encoding: str = "utf-8", sheet: str | None = None,
                decimal: str = ".", value_maps: dict[str, dict[str, str]] | None = None,
                on_rows: Callable[[int], None] | None = None,
                on_wait: Callable[[], None] | None = None) -> ImportReport:
    """Import one file into a canonical table of the workspace; see the module docstring.

    ``decimal`` is the decimal mark of numbers ("." or ","; with "," a "." or a space groups
    thousands). ``value_maps`` maps, per field, a value of the file onto the value to store,
    e.g. ``{"relationship_type": {"企业": "business"}}``. A file already imported with the
    same options adds nothing; with other options it is read again, and rows already
    stored are skipped. A reject file written by an earlier import (first column ``row``,
    last ``reason``) imports back without those two columns; a row of it whose reason says
    it had another number of fields than the header is refused until that reason is
    emptied (its values may be in the wrong columns). ``on_rows(n)`` is told of rows
    read; ``on_wait()`` once if another import holds the workspace's write lock.
    """
    spec = table_spec(table)
    if date_format is not None:
        check_date_format(date_format)
    if decimal not in (".", ","):
        raise InputError(f"--decimal {decimal!r}: the decimal mark must be '.' or ','")
    value_maps = value_maps or {}
    _check_value_maps(spec, value_maps)
    source = open_source(path, delimiter=delimiter, encoding=encoding, sheet=sheet)
    mapping = mapping or {}
    skip: frozenset[str] = frozenset()
    if (len(source.columns) > 2 and source.columns[0] == "row"
            and source.columns[-1] == "reason" and not {"row", "reason"} & set(mapping.values())):
        skip = frozenset({"row", "reason"})
    resolved = resolve_mapping(spec, source, mapping)
    report = ImportReport(table, str(source.path))
    if skip:
        report.notes.append("a reject file: its row and reason columns are not imported")
    missing = [f.name for f in spec.fields if f.required and f.name not in resolved]
    if missing:
        problems = [Problem(None, m, None, f"a column named {m} (or map yours with "
                            f"--map {m}=YourColumn)") for m in missing]
        raise ValidationError(str(source.path), table, problems, len(problems),
                              hint=f"The file's columns are: {', '.join(source.columns)}.")
    if spec.keep_extra:
        report.ignored_columns = []
    else:
        report.ignored_columns = [c for c in source.columns
                                  if c not in resolved.values() and c not in skip]
    sha = file_sha256(source.path)
    # what decides how the file is read: the same file read otherwise is a new import
    options = {"map": dict(sorted(mapping.items())), "date_format": date_format,
               "delimiter": source.delimiter, "encoding": encoding, "sheet": sheet,
               "decimal": decimal,
               "map_value": {k: dict(sorted(v.items())) for k, v in sorted(value_maps.items())}}
    with ws.warehouse.write_lock(on_wait):
        previous = [e for e in ws.warehouse.imports(table)
                    if e.get("sha256") == sha and e.get("options", options) == options]
        if previous:
            report.skipped_same_file = True
            report.notes.append(f"this file was already imported on "
                                f"{previous[0]['imported_at']} with the same options; nothing "
                                "added")
            return report
        if (spec.references_customers and not ws.has_rows("customers")
                and "customer_id" in resolved):
            report.notes.append("no customers are loaded yet, so customer ids were not checked")
        importer = _Importer(ws, spec, source, resolved, date_format,
                             ws.settings.imports.max_examples, sha, decimal=decimal,
                             value_maps=value_maps, skip=skip, options=options)
        try:
            return importer.run(report, Path(reject_file) if reject_file else None, on_rows)
        finally:
            importer.con.close()
