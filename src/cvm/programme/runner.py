"""`Runner`: how the programme runs its reads and writes on its `Store`.

Each write is one database transaction, retried when a concurrent twin won a race on a
unique key (the rerun replays or refuses it); a broken connection or a lock held too long
becomes an error that says whether the write may have been booked. A member's write
(`Runner._member_op`) locks the member, replays a retried request, books and stores its
answer in five statements on PostgreSQL (`cvm.programme.batching`). The `Programme`
facade is built on it; nothing here is public.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from cvm._time import utcnow
from cvm.config import ProgrammeSettings
from cvm.errors import (
    ConflictError,
    CvmError,
    IdempotencyConflictError,
    ReplayedError,
    StoreBusyError,
    StoreUnavailableError,
)
from cvm.programme import idempotency as ops
from cvm.programme import ledger
from cvm.programme.batching import Tx
from cvm.programme.proofs import MemberNotFoundError
from cvm.store.db import Store
from cvm.store.tables import ledger_entries, operations

__all__ = ["Runner"]

log = logging.getLogger("cvm.programme")


def _connection_lost(exc: OperationalError) -> bool:
    """Whether the database connection broke (not a busy lock, a deadlock or a timeout), as
    SQLAlchemy's dialect tells it (`cvm.programme.batching` asks it too)."""
    return bool(exc.connection_invalidated)


class Runner:
    """The store, settings and ledger policy of a programme, and the transactions on them."""

    def __init__(self, store: Store, settings: ProgrammeSettings | None = None):
        self.store = store
        self.settings = settings or ProgrammeSettings()
        self.policy = ledger.Policy.from_settings(self.settings)

    def _write(self, work: Callable[[Connection], Any]) -> Any:
        """Run `work` in one write transaction; retry once if a concurrent twin won a race."""
        for attempt in range(3):
            try:
                with self.store.write() as conn:
                    return work(conn)
            except IntegrityError as exc:
                # A unique key (idempotency or natural key, member id) was taken by a
                # concurrent request that committed first: rerun, which replays or refuses.
                if attempt == 2:
                    # the database's text names tables and constraints: logged, not answered
                    log.warning("write refused by the database: %s", exc.orig)
                    raise ConflictError(
                        "the write clashes with stored data or refers to something that "
                        "does not exist; nothing was booked") from None
            except OperationalError as exc:
                text = str(exc.orig).lower()
                if _connection_lost(exc):
                    self.store.drop_connections()
                    # the COMMIT may or may not have reached the database: only a retry with
                    # the same key can tell, and it never books twice
                    raise StoreUnavailableError(
                        "the connection to the programme database broke during the write "
                        f"({exc.orig}); it may or may not have been booked: retry with the "
                        "same Idempotency-Key, which replays a booked write and books an "
                        "unbooked one once") from None
                if "database is locked" in text:
                    raise StoreBusyError(
                        "the programme database stayed locked by other writers for longer "
                        f"than busy_timeout_ms ({self.settings.busy_timeout_ms} ms); nothing "
                        "was booked: retry with the same Idempotency-Key") from None
                if attempt == 2 or "deadlock" not in text:
                    raise
        raise AssertionError("unreachable")

    def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(conn, *args)`` in one read transaction (a REPEATABLE READ snapshot on
        PostgreSQL): reads of several statements see one state of the books."""
        with self.store.read() as conn:
            return fn(conn, *args)

    def _query(self, read: Callable[[Tx], Any]) -> Any:
        """Run a read on `Store.query`; once more on a fresh connection if the first broke
        (a database restart leaves dead connections in the pool; reads are safe to repeat)."""
        for attempt in range(2):
            try:
                with self.store.query() as conn:
                    return read(Tx.reader(conn, self.store.engine.dialect))
            except OperationalError as exc:
                if not _connection_lost(exc):
                    raise
                self.store.drop_connections()
                if attempt == 1:
                    raise StoreUnavailableError(
                        f"the programme database cannot be reached ({exc.orig}); retry "
                        "later") from None
        raise AssertionError("unreachable")

    def _lookup(self, statement, params: dict[str, Any]) -> list:
        """The rows of one read statement, as cheaply as the database allows: the check of
        every API request's key. On SQLite, through the sqlite3 driver's own connection in
        autocommit (the statement is its own snapshot), without SQLAlchemy's BEGIN, COMMIT
        and execution (measured: 16 us of CPU instead of 88); elsewhere as `_query`."""
        if self.store.dialect != "sqlite":
            return self._query(lambda tx: tx.rows(statement, params))
        fairy = self.store.engine.raw_connection()
        try:
            return Tx.reader(fairy.driver_connection, self.store.engine.dialect).rows(
                statement, params)
        finally:
            fairy.close()

    def _member_op(self, kind: str, member_id: str, request: dict[str, Any], idem_key, actor,
                   now, body: Callable[[Tx, Any, ops.Operation], dict],
                   prepare: Callable[[Tx, Any], dict] | None = None,
                   prefetch: tuple[tuple[Any, dict], ...] = (), need: int | None = 0,
                   verify: Callable[[Tx], None] | None = None, **op_cols):
        """One write for a member in one transaction: lock the member (replaying a retry),
        `prepare`, start the operation, book (`body`), store the answer, commit.

        On PostgreSQL it takes five statements (`cvm.programme.batching`): BEGIN; the lock;
        one read of the member's lots, the `prefetch` reads and the ids the rows will take;
        one write of the rows; COMMIT. `need`: the points the write will take from the
        member's lots, when known before `prepare` (`cvm.programme.ledger.state`).
        `verify`: run once the member is locked, before a stored answer is replayed
        (`cvm.programme.idempotency.lock_member_and_replay`).
        """
        found = []
        now = now or utcnow()

        def work(conn):
            tx = Tx(conn, batched=True)
            # what the ledger's housekeeping will read first, for `need` points (as it asks)
            if need is None:
                tx.prefetch(ledger.STATE_ALL, {"member_id": member_id, "now": now})
            else:
                tx.prefetch(ledger.STATE, {"member_id": member_id, "now": now, "need": need})
            for statement, params in prefetch:
                tx.prefetch(statement, params)
            tx.reserve(operations, 1)
            tx.reserve(ledger_entries, 2)
            member, stored = ops.lock_member_and_replay(tx, member_id, kind, request,
                                                        idem_key, verify)
            found.append(True)
            if stored is not None:
                return stored
            extra = prepare(tx, member) if prepare is not None else {}
            op = ops.begin(tx, kind=kind, request=request, actor=actor, idem_key=idem_key,
                           member_id=member_id, now=now, **op_cols, **extra.pop("op", {}))
            result = ops.finish(tx, op, body(tx, member, op, **extra))
            tx.commit()
            return result

        try:
            return self._write(work)
        except (ReplayedError, IdempotencyConflictError, StoreBusyError, StoreUnavailableError):
            raise
        except MemberNotFoundError:
            # a missing or wrong proof of presence is not stored: it is answered as an
            # unknown member, which is not stored either (a replayed answer would tell them
            # apart), and a retry with the proof must be able to succeed
            raise
        except CvmError as exc:
            # a refusal for a business reason is the request's answer: a retry with the same
            # key gets it again (nothing was booked; the transaction rolled back)
            if idem_key is not None and found and 400 <= exc.http_status < 500:
                self._record_failure(kind, request, idem_key, actor, member_id, exc, now)
            raise

    def _record_failure(self, kind, request, idem_key, actor, member_id, exc, now) -> None:
        try:
            with self.store.write() as conn:
                ops.record_failure(conn, kind=kind, request=request, idem_key=idem_key,
                                   actor=actor, member_id=member_id, error=exc, now=now)
        except IntegrityError:
            pass  # a concurrent twin with the same key stored its answer first

    def _config_op(self, kind: str, request: dict[str, Any], fn: Callable[[Connection], Any],
                   *, idem_key: str | None = None, actor: str = "system",
                   partner_id: str | None = None) -> dict[str, Any]:
        """Run a configuration write `fn` once per idempotency key, storing its answer
        (``{"result": ...}`` if it is not a dict) as an operation of `kind`."""
        def work(conn):
            stored = ops.replay(conn, kind, request, idem_key)
            if stored is not None:
                return stored
            result = fn(conn)
            op = ops.begin(conn, kind=kind, request=request, actor=actor, idem_key=idem_key,
                           partner_id=partner_id)
            return ops.finish(conn, op, result if isinstance(result, dict)
                              else {"result": result})
        return self._write(work)
