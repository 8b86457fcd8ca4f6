"""SQL statement batching: a write transaction in as few statements as its work allows.

On PostgreSQL each statement is a round trip, and a round trip costs the server and the
client more CPU than a small statement itself: a write that sent its ~10 statements one by
one spent most of its time on them (bench/RESULTS.md). `Tx` gives a programme write five
(BEGIN, the member's lock, one read, one write, COMMIT):

* the reads the write will need anyway (`prefetch`: the member's lots, the earning rules)
  and the ids its rows will take (`reserve`, drawn from the tables' sequences) go as one
  statement right after the member's lock, so they see what the lock waited for, and a
  member's entries keep their booking order;
* the rows it books (`insert`, `queue`) wait until the next statement or the COMMIT, and go
  as one statement of data-modifying CTEs (foreign keys are checked at its end).

Statements always run in the order the code issued them: a read (`rows`) or any other
statement (`execute`) first sends what is queued. A prefetched read is answered from
memory once, so prefetch only what the write reads before it books anything.

On SQLite (in-process: no round trips to save) a batched `Tx` runs each statement at once
through the sqlite3 driver, and on a plain connection (`Tx.of`) through SQLAlchemy. Reads
of one statement (`Tx.reader`) run on the driver's connection in autocommit on PostgreSQL.
Statements run on a driver get SQLAlchemy's own bind and result processing, so every path
gives the same rows.
"""

from __future__ import annotations

import contextlib
import re
from collections import namedtuple
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Table, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeDecorator

__all__ = ["Tx"]

#: ids drawn per sequence when a write has used up what it reserved
ID_BLOCK = 8


class Tx:
    """The statements of one write transaction on `conn` (a SQLAlchemy connection in a
    transaction). ``batched`` batches them as above on PostgreSQL (through psycopg, on the
    same connection and transaction); elsewhere it changes nothing."""

    def __init__(self, conn: Connection | None, *, batched: bool = False, raw: Any = None,
                 dialect: Any = None):
        self.conn = conn
        self.dialect = conn.dialect if conn is not None else dialect
        # the driver's own connection, in the transaction SQLAlchemy began (batched), or
        # given (`reader`): psycopg's runs statements batched as above, sqlite3's runs them
        # at once without SQLAlchemy's execution overhead
        driver = raw if raw is not None else (
            conn.connection.driver_connection if batched else None)
        self._raw = driver if driver is not None and self.dialect.name == "postgresql" else None
        self._lite = driver if driver is not None and self.dialect.name == "sqlite" else None
        self._queue: list[tuple[Any, list[dict]]] = []        # (statement, rows)
        self._reads: list[tuple[Any, dict]] = []              # prefetches not yet sent
        self._fetched: dict[tuple, list] = {}                 # prefetched results
        self._reserve: dict[Table, int] = {}                  # ids to draw with the reads
        self._ids: dict[str, list[int]] = {}                  # ids drawn, not yet used

    @classmethod
    def reader(cls, conn: Any, dialect) -> Tx:
        """Reads on what `cvm.store.db.Store.query` gives: psycopg's connection in
        autocommit (each `rows` one prepared statement through psycopg), or a SQLAlchemy
        connection."""
        if isinstance(conn, Connection):
            return cls(conn)
        return cls(None, raw=conn, dialect=dialect)

    @classmethod
    def of(cls, conn: Connection | Tx) -> Tx:
        """`conn` itself if it is a `Tx`, else one that runs every statement at once."""
        return conn if isinstance(conn, Tx) else cls(conn)

    # ---- the Connection interface used by the rest of the ledger -----------------------
    def execute(self, statement, parameters=None):
        """Run any statement through SQLAlchemy, after what is queued."""
        self.send()
        return self.conn.execute(statement, parameters)

    # ---- reads --------------------------------------------------------------------
    def prefetch(self, statement, params: dict | None = None) -> None:
        """Send this read with the next one (`rows`), to be answered from memory once.

        Prefetch only what the write reads before it books anything. Statements given to
        a batched `Tx` are module-level constants: their compiled SQL is cached by identity.
        """
        if self._raw is not None:
            self._reads.append((statement, params or {}))

    def reserve(self, table: Table, n: int) -> None:
        """Draw `n` ids of `table` with the next read (PostgreSQL, batched only)."""
        if self._raw is not None:
            self._reserve[table] = self._reserve.get(table, 0) + n

    def rows(self, statement, params: dict | None = None) -> list:
        """The rows of a read: prefetched ones if this read was, else run now (with the
        prefetches asked for so far sent right behind it)."""
        params = params or {}
        if self._raw is None:
            if self._lite is not None:
                return _lite_rows(self._lite, statement, params, self.dialect)
            return self.conn.execute(statement, params).all()
        key = _key(statement, params)
        if key in self._fetched:
            return self._fetched.pop(key)
        return self._send(read=(statement, params))

    # ---- writes -------------------------------------------------------------------
    def insert(self, table: Table, row: dict[str, Any]) -> int:
        """Insert `row` and return its new id: drawn from the sequence and queued on
        PostgreSQL (batched), inserted at once with RETURNING elsewhere."""
        pk = next(iter(table.primary_key.columns))
        if self._raw is None:
            if self._lite is not None:   # an INTEGER PRIMARY KEY is the rowid
                sql, convert = _compiled(_insert(table), self.dialect, tuple(row))
                with _lite_errors(sql, self.dialect, self._lite):
                    return self._lite.execute(sql, convert(row)).lastrowid
            return self.conn.execute(_insert(table, returning=pk), row).scalar_one()
        ids = self._ids.get(table.name)
        if not ids:
            self._reserve[table] = ID_BLOCK
            self._send()
            ids = self._ids[table.name]
        row[pk.name] = ids.pop(0)
        self._queue.append((_insert(table), [row]))
        return row[pk.name]

    def queue(self, statement, rows: dict | list[dict]) -> None:
        """Run a write whose result nobody reads: queued on PostgreSQL (batched), at once
        elsewhere."""
        rows = rows if isinstance(rows, list) else [rows]
        if not rows:
            return
        if self._raw is None:
            if self._lite is not None:
                sql, convert = _compiled(statement, self.dialect, tuple(rows[0]))
                with _lite_errors(sql, self.dialect, self._lite):
                    self._lite.executemany(sql, [convert(r) for r in rows])
                return
            self.conn.execute(statement, rows if len(rows) > 1 else rows[0])
            return
        self._queue.append((statement, rows))

    def pending(self, row: dict) -> bool:
        """Whether `row` (as given to `insert`) is still queued, so it can still be changed
        in place instead of updated later."""
        return any(r is row for _, rows in self._queue for r in rows)

    def send(self) -> None:
        """Send what is queued (and any prefetch), now."""
        if self._raw is not None and (self._queue or self._reads or self._reserve):
            self._send()

    def commit(self) -> None:
        """Send what is queued, then COMMIT, on PostgreSQL (batched); elsewhere the caller's
        transaction commits as usual. The caller's own commit afterwards finds nothing to do
        (psycopg skips a COMMIT outside a transaction)."""
        if self._raw is None:
            return
        self._send(commit=True)

    # ---- the one place that talks to psycopg ------------------------------------------
    def _send(self, read: tuple[Any, dict] | None = None, commit: bool = False):
        """Send the queued writes (each run of INSERTs as one statement), then `read`, then
        the prefetched reads and the id reservations as one statement, then COMMIT if asked.
        Returns `read`'s rows."""
        import psycopg

        raw, dialect = self._raw, self.dialect
        queue, reads, reserve = self._queue, self._reads, self._reserve
        self._queue, self._reads, self._reserve = [], [], {}
        statement, result = "", None
        try:
            cur = raw.cursor()
            for statement, params in _write_statements(queue, dialect):
                cur.execute(statement, params, prepare=True)
            if read is not None:
                statement, convert = _compiled(read[0], dialect, tuple(read[1]))
                result = _rows(read[0], cur.execute(statement, convert(read[1]), prepare=True),
                               dialect)
            if reads or reserve:
                statement, params, decode = _bundle(reads, reserve, dialect)
                fetched, ids = decode(cur.execute(statement, params, prepare=True).fetchone())
            if commit:
                statement = "COMMIT"
                raw.commit()
        except psycopg.Error as exc:
            raise _as_sqlalchemy(exc, statement, dialect, raw) from None
        if reads or reserve:
            for (st, params), rows in zip(reads, fetched, strict=True):
                self._fetched[_key(st, params)] = rows
            for table, value in ids:
                self._ids.setdefault(table, []).append(value)
            for drawn in self._ids.values():
                drawn.sort()   # used in ascending order: booking order
        return result


def _as_sqlalchemy(exc: Exception, statement: str, dialect, raw) -> DBAPIError:
    """A driver's error as SQLAlchemy raises it (IntegrityError, OperationalError...), so
    that callers handle it like the failure of any statement; a broken connection flagged
    ``connection_invalidated`` as the dialect judges it."""
    lost = bool(dialect.is_disconnect(exc, raw, None))
    return DBAPIError.instance(statement, None, exc, raw.Error, connection_invalidated=lost)


@contextlib.contextmanager
def _lite_errors(statement: str, dialect, lite):
    import sqlite3

    try:
        yield
    except sqlite3.Error as exc:
        raise _as_sqlalchemy(exc, statement, dialect, lite) from None


_INSERTS: dict[tuple[str, bool], Any] = {}


def _insert(table: Table, returning=None):
    """One INSERT statement per table (with or without RETURNING its key), built once."""
    key = (table.name, returning is not None)
    stmt = _INSERTS.get(key)
    if stmt is None:
        stmt = _INSERTS[key] = (insert(table) if returning is None
                                else insert(table).returning(returning))
    return stmt


def _key(statement, params: dict) -> tuple:
    return (id(statement), tuple(sorted(params.items())))


# SQL built from the statements (module constants, built once), by the parameter names given
_COMPILED: dict[tuple, tuple[str, Any]] = {}
_SHAPES: dict[tuple, Any] = {}
_KEEP: list[Any] = []   # the statements whose ids key the caches, kept alive
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _compiled(statement, dialect, names: tuple[str, ...]):
    """(the statement's SQL for the driver, with %(name)s placeholders for psycopg and :name
    for sqlite3; a function applying SQLAlchemy's bind processing to a parameter dict: UTC
    datetimes, JSON, exact decimals, SQLite's text forms)."""
    key = (dialect.name, id(statement), names)
    hit = _COMPILED.get(key)
    if hit is not None:
        return hit
    target = type(dialect)(paramstyle="named") if dialect.name == "sqlite" else dialect
    # for_executemany: no RETURNING of a generated key that nobody reads
    compiled = statement.compile(dialect=target, column_keys=list(names),
                                 for_executemany=isinstance(statement, Insert))
    defaults = {k: v for k, v in compiled.construct_params(_check=False).items()
                if v is not None and k not in names}
    procs = {name: p for name, bind in compiled.binds.items()
             if (p := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None}

    def convert(params: dict) -> dict:
        out = dict(defaults)
        for k, v in params.items():
            proc = procs.get(k)
            out[k] = proc(v) if proc is not None and v is not None else v
        return out

    _KEEP.append(statement)
    hit = _COMPILED[key] = (compiled.string, convert)
    return hit


def _renamed(sql: str, prefix: str) -> str:
    return _PLACEHOLDER.sub(lambda m: f"%({prefix}{m.group(1)})s", sql)


def _write_statements(queue, dialect):
    """The queued writes as (SQL, parameters), each run of INSERTs as one statement of
    data-modifying CTEs (their foreign keys are checked at its end). Anything else (an
    UPDATE of a row queued earlier) goes on its own, after them, so that it sees them."""
    out, run = [], []
    for item in queue + [None]:
        if item is not None and isinstance(item[0], Insert):
            run.append(item)
            continue
        if run:
            out.append(_insert_run(run, dialect))
            run = []
        if item is not None:
            sql, convert = _compiled(item[0], dialect, tuple(item[1][0]))
            out += [(sql, convert(r)) for r in item[1]]
    return out


def _insert_run(run, dialect):
    shape = tuple((id(st), tuple(rows[0]), len(rows)) for st, rows in run)
    sql = _SHAPES.get(shape)
    if sql is None:
        parts = []
        for i, (st, rows) in enumerate(run):
            one, _ = _compiled(st, dialect, tuple(rows[0]))
            head, values = one.split(" VALUES ", 1)
            many = ", ".join(_renamed(values, f"q{i}r{j}_") for j in range(len(rows)))
            parts.append(f"{head} VALUES {many}")
        sql = parts[0] if len(parts) == 1 else (
            "WITH " + ", ".join(f"q{i} AS ({p})" for i, p in enumerate(parts[:-1]))
            + " " + parts[-1])
        _SHAPES[shape] = sql
    params = {}
    for i, (st, rows) in enumerate(run):
        _, convert = _compiled(st, dialect, tuple(rows[0]))
        for j, row in enumerate(rows):
            params.update({f"q{i}r{j}_{k}": v for k, v in convert(row).items()})
    return sql, params


def _bundle(reads, reserve: dict[Table, int], dialect):
    """The prefetched reads and the id reservations as one statement of one row: each read's
    rows as a JSON array, the ids as (table, id) pairs. Returns (SQL, parameters, decode);
    decode(row) gives ([rows of each read], [(table, id)...])."""
    shape = (tuple((id(st), tuple(p)) for st, p in reads), tuple(reserve))
    hit = _SHAPES.get(shape)
    if hit is None:
        cols = []
        for i, (st, p) in enumerate(reads):
            sql, _ = _compiled(st, dialect, tuple(p))
            cols.append(f"(SELECT coalesce(json_agg(x), '[]'::json) FROM "
                        f"({_renamed(sql, f'r{i}_')}) AS x) AS r{i}")
        for table in reserve:   # sequence names from the tables' metadata, not from input
            pk = next(iter(table.primary_key.columns)).name
            cols.append(f"array(SELECT nextval('{table.name}_{pk}_seq') FROM "
                        f"generate_series(1, %(ids_{table.name})s::int)) AS ids_{table.name}")
        decoders = [_json_rows(st, dialect) for st, _ in reads]

        tables = [table.name for table in reserve]

        def decode(row):
            fetched = [dec(value) for dec, value in zip(decoders, row, strict=False)]
            ids = [(table, value) for table, values in zip(tables, row[len(decoders):],
                                                           strict=True) for value in values]
            return fetched, ids

        hit = _SHAPES[shape] = ("SELECT " + ", ".join(cols), decode)
    sql, decode = hit
    params = {}
    for i, (st, p) in enumerate(reads):
        _, convert = _compiled(st, dialect, tuple(p))
        params.update({f"r{i}_{k}": v for k, v in convert(p).items()})
    params.update({f"ids_{table.name}": n for table, n in reserve.items()})
    return sql, params, decode


def _json_rows(statement, dialect):
    """Rows of `statement` sent as a JSON array of objects -> named tuples with the values
    SQLAlchemy would give (datetimes in UTC, dates, exact decimals)."""
    columns = list(statement.selected_columns)
    names = [c.key for c in columns]
    cls = namedtuple("Row", names, rename=True)
    convs = []
    for c in columns:
        typ = c.type
        base = typ.impl if isinstance(typ, TypeDecorator) else typ
        parse = (datetime.fromisoformat if isinstance(base, DateTime)
                 else date.fromisoformat if isinstance(base, Date) else None)
        proc = typ.process_result_value if isinstance(typ, TypeDecorator) else None
        convs.append(_chain(parse, proc, dialect))

    def decode(values: list[dict]) -> list:
        return [cls._make([v if conv is None or v is None else conv(v)
                           for conv, v in zip(convs, (d[n] for n in names), strict=True)])
                for d in values]

    return decode


def _chain(parse, proc, dialect):
    if parse is None and proc is None:
        return None
    if proc is None:
        return parse
    if parse is None:
        return lambda v: proc(v, dialect)
    return lambda v: proc(parse(v), dialect)


def _lite_rows(lite, statement, params: dict, dialect) -> list:
    """SQLite: a read's rows, run through the sqlite3 driver."""
    sql, convert = _compiled(statement, dialect, tuple(params))
    with _lite_errors(sql, dialect, lite):
        return _rows(statement, lite.execute(sql, convert(params)), dialect)


def _rows(statement, cur, dialect) -> list:
    """A driver cursor's rows as named tuples, with the result processing SQLAlchemy would
    apply to the statement's columns (UTC datetimes, exact decimals, JSON and datetimes
    from SQLite's text)."""
    fetched = cur.fetchall()
    key = (dialect.name, id(statement))
    spec = _SHAPES.get(key)
    if spec is None:
        names = [d[0] for d in cur.description]
        procs = [(i, p) for i, c in enumerate(statement.selected_columns)
                 if (p := c.type.dialect_impl(dialect).result_processor(dialect, None))
                 is not None]
        spec = _SHAPES[key] = (namedtuple("Row", names, rename=True), procs)
    cls, procs = spec
    out = []
    for r in fetched:
        if procs:
            r = list(r)
            for i, proc in procs:
                r[i] = proc(r[i])
        out.append(cls._make(r))
    return out
