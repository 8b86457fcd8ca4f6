"""Engine factory and transactions for the programme's database.

SQLite (the default, a file in the workspace) runs in WAL mode with foreign keys on and a
busy timeout; a write transaction starts with ``BEGIN IMMEDIATE`` so writers queue for the
one database lock instead of failing half-way. PostgreSQL is reached through psycopg 3;
writers lock the member row (``SELECT ... FOR UPDATE``) they change.

The caller owns the transaction: `Store.write` and `Store.read` hand out a connection
inside one transaction, committed when the block ends and rolled back if it raises.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from cvm.errors import ConfigError

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler alone
    fcntl = None

__all__ = ["Store", "make_engine", "upgrade", "downgrade", "current_revision",
           "sqlite_url"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{Path(path).resolve()}"


def make_engine(url: str, *, busy_timeout_ms: int = 30000, pool_size: int = 20,
                echo: bool = False) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, configured for the ledger.

    Parameters
    ----------
    url : str
        ``sqlite:///path/programme.db`` or ``postgresql+psycopg://user@host:port/db``
        (``?options=-csearch_path%3Dschema`` selects a schema).
    busy_timeout_ms : int, default=30000
        SQLite: how long a connection waits for the write lock.
    pool_size : int, default=20
        PostgreSQL: connections kept open (plus as many again on demand).
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"programme.database_url {url!r} is not a database URL; expected e.g. "
            "sqlite:///programme.db or postgresql+psycopg://user@host:5432/db") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ConfigError(
                "an in-memory SQLite database cannot hold a ledger shared between "
                "connections; give a file, e.g. sqlite:///programme.db")
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False,
                                                             "timeout": busy_timeout_ms / 1000})
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            raise ConfigError(
                f"PostgreSQL URL {url!r} uses driver {parsed.get_driver_name()!r}; use "
                "postgresql+psycopg://... (psycopg 3)")
        return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
                             pool_recycle=3600)
    raise ConfigError(f"programme.database_url {url!r}: backend {backend!r} is not supported; "
                      "use sqlite or postgresql+psycopg")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" event below emit BEGIN, not the driver.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # FULL: a commit is on disk before it is acknowledged, even across a power cut.
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Store:
    """The programme's database: an engine plus read and write transactions.

    Examples
    --------
    >>> store = Store("sqlite:///programme.db")       # doctest: +SKIP
    >>> store.upgrade()                                # doctest: +SKIP
    >>> with store.read() as conn:                     # doctest: +SKIP
    ...     ledger.audit(conn)                         # [] when the books balance
    """

    def __init__(self, url: str, *, busy_timeout_ms: int = 30000, echo: bool = False):
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms, echo=echo)
        # SQLite has one writer at a time. Threads of this process queue on a lock, in
        # order, instead of polling the database lock through SQLite's busy handler (which
        # sleeps up to 100 ms between tries and makes tail latency long); other processes
        # still wait through busy_timeout.
        self._writer = threading.Lock() if self.dialect == "sqlite" else None
        # Across processes (`cvm programme serve --workers N`), writers queue on an advisory
        # lock of a file beside the database: the kernel wakes the next one when it is free,
        # where SQLite's busy handler would poll with sleeps (seconds of tail latency, seen
        # with two server processes).
        database = self.engine.url.database if self.dialect == "sqlite" else None
        self._lock_path = (f"{database}-writer.lock" if database and database != ":memory:"
                           and fcntl is not None else None)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: serialised on SQLite, row-locked by the ledger on PostgreSQL."""
        if self._writer is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._writer, self._file_lock(), self.engine.execution_options(
                sqlite_begin="IMMEDIATE").begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """An exclusive advisory lock of the database's writer lock file (POSIX), else none."""
        if self._lock_path is None:
            yield
            return
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (a consistent snapshot on both dialects)."""
        if self.dialect == "postgresql":
            # psycopg sends these with the BEGIN itself: no extra round trip.
            with self.engine.connect().execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True) as conn:
                with conn.begin():
                    yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextlib.contextmanager
    def query(self) -> Iterator[Any]:
        """A connection for reads that each need one statement.

        On PostgreSQL, psycopg's own connection (from the pool) in autocommit: every
        statement runs on its own, consistent in itself, without the BEGIN and COMMIT round
        trips of `read` or SQLAlchemy's execution overhead (`cvm.programme.batching.Tx.reader`
        runs statements on it). On SQLite, the SQLAlchemy connection of `read`.
        """
        if self.dialect != "postgresql":
            with self.read() as conn:
                yield conn
            return
        import psycopg

        fairy = self.engine.raw_connection()
        raw: psycopg.Connection = fairy.driver_connection
        try:
            raw.autocommit = True
            yield raw
        finally:
            if raw.broken or raw.closed:
                fairy.invalidate()   # the pool must not hand a broken connection out again
            else:
                raw.autocommit = False   # as the pool's other users expect it
            fairy.close()

    def drop_connections(self) -> None:
        """Forget every pooled connection (after one was found broken: a database restart
        breaks them all); connections in use close when they come back."""
        self.engine.dispose()

    def upgrade(self, revision: str = "head") -> None:
        upgrade(self.engine, revision)

    def downgrade(self, revision: str = "base") -> None:
        downgrade(self.engine, revision)

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"


def _alembic_config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the programme's migrations up to `revision` (no alembic.ini needed)."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Undo the programme's migrations down to `revision` (``base``: drop every table)."""
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The migration revision the database is at, or None before the first upgrade."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        if "alembic_version" not in inspect(conn).get_table_names():
            return None
        return MigrationContext.configure(conn).get_current_revision()
