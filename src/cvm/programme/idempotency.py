"""Idempotency of writes: one operation row per request, its key and its first answer.

Every write to the programme (create a member, earn, redeem, refund, reverse, adjust,
expire) is an *operation*: a row in ``operations`` made in the same transaction as the
ledger entries it books. Its ``idem_key`` is unique, so a request retried with the same
key finds the first answer and books nothing; the same key with a different request is
refused. A ``natural_key`` (e.g. the sale a purchase earned on) makes a second earn for the
same sale a conflict even without an idempotency key.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from cvm._time import utcnow
from cvm.errors import (
    ConflictError,
    CvmError,
    IdempotencyConflictError,
    NotFoundError,
    ReplayedError,
)
from cvm.programme.batching import Tx
from cvm.programme.proofs import no_member
from cvm.store.tables import members, operations

__all__ = ["Operation", "replay", "begin", "finish", "lock_member", "request_hash",
           "record_failure", "FAILED_KIND", "lock_member_and_replay", "LOCK_MEMBER_SEEN",
           "NATURAL", "natural_key", "http_status"]


def natural_key(kind: str, partner_id: str | None, ident: str) -> str:
    """The key of a sale (``transaction``) or a refund (``refund``) of a partner (None: the
    company's own tills): ``kind:partner:id``, each part escaped so that no two pairs share
    a key: ``\\`` and ``:`` get a backslash, no partner is ``-`` and a partner named
    ``-`` is ``\\-``. Ordinary ids keep their text (``transaction:-:s1``)."""
    return f"{kind}:{_part(partner_id)}:{_part(ident)}"


def _part(value: str | None) -> str:
    if value is None:
        return "-"
    if value == "-":
        return "\\-"
    return value.replace("\\", "\\\\").replace(":", "\\:")


def request_hash(request: dict[str, Any]) -> str:
    """SHA-256 of the request's canonical JSON: what makes two retries "the same request"."""
    text = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Operation:
    """An operation being written: its id and booking time.

    ``sums`` are the member's entry sums by kind and sign (``"earn+"``, ``"redeem-"``...) as
    read by the ledger's housekeeping at the start of the operation and kept current by every
    entry it books since, so that its answer's balance needs no second read; None until read.
    """

    op_id: int | None
    now: datetime
    sums: dict[str, int] | None = None
    sums_member: str | None = None
    #: the member's points left in open lots at `now`, ``{"active": ..., "pending": ...,
    #: "lapsed": ...}`` (`cvm.programme.ledger.state`), read and kept current like `sums`
    held: dict[str, int] | None = None
    #: the operations row as queued (`cvm.programme.batching.Tx.insert`), completed in place
    #: by `finish` if unsent
    row: dict[str, Any] | None = None

    def booked(self, member_id: str, kind: str, points: int) -> None:
        """Count an entry this operation booked into `sums`."""
        if self.sums is not None and self.sums_member == member_id:
            key = kind + ("+" if points > 0 else "-")
            self.sums[key] = self.sums.get(key, 0) + points

    def moved(self, member_id: str, bucket: str, points: int) -> None:
        """Count points this operation put into (+) or took from (-) an open lot, in its
        `bucket` of `held` at `now`."""
        if self.held is not None and self.sums_member == member_id:
            self.held[bucket] += points

    def held_of(self, member_id: str) -> dict[str, int] | None:
        return dict(self.held) if self.held is not None and self.sums_member == member_id \
            else None

    def sums_of(self, member_id: str) -> dict[str, int] | None:
        return dict(self.sums) if self.sums is not None and self.sums_member == member_id \
            else None


# statements of every write, built once (see cvm.programme.ledger)
_LOCK_MEMBER = (select(members).where(members.c.member_id == bindparam("member_id"))
                .with_for_update())
# the member's row, locked, with what its idempotency key already answered (one statement)
LOCK_MEMBER_SEEN = (
    select(members, operations.c.request_hash.label("seen_hash"),
           operations.c.result.label("seen_result"),
           operations.c.status_code.label("seen_status"))
    .select_from(members.outerjoin(operations,
                                   operations.c.idem_key == bindparam("idem_key")))
    .where(members.c.member_id == bindparam("member_id"))
    .with_for_update(of=members))
_SEEN = (select(operations.c.request_hash, operations.c.result, operations.c.status_code)
         .where(operations.c.idem_key == bindparam("idem_key")))
#: the operation that booked a natural key (a sale, a refund, a reversal), if any
NATURAL = (select(operations.c.op_id, operations.c.member_id)
           .where(operations.c.natural_key == bindparam("natural_key")))
_INSERT_OP = insert(operations).returning(operations.c.op_id)
_FINISH = (update(operations).where(operations.c.op_id == bindparam("b_op_id"))
           .values(result=bindparam("b_result"), status_code=bindparam("b_status")))


def lock_member(conn: Connection, member_id: str) -> Any:
    """The member's row, locked for the rest of the transaction (FOR UPDATE on PostgreSQL).

    On SQLite the write transaction already holds the database's one write lock.
    """
    rows = Tx.of(conn).rows(_LOCK_MEMBER, {"member_id": member_id})
    row = rows[0] if rows else None
    if row is None:
        raise _no_member(member_id)
    return row


def _no_member(member_id: str) -> NotFoundError:
    return no_member(member_id, write=True)


def lock_member_and_replay(conn: Connection, member_id: str, kind: str,
                           request: dict[str, Any], idem_key: str | None,
                           verify: Callable[[Any], None] | None = None
                           ) -> tuple[Any, dict[str, Any] | None]:
    """`lock_member` and `replay` in one statement: (the locked member row, the stored answer
    or None). `verify(conn)` runs once the member is found and before its stored answer is
    looked at (a partner's proof of presence: without it, neither a replay nor a clash of
    keys may tell that the member exists)."""
    if idem_key is None:
        row = lock_member(conn, member_id)
        if verify is not None:
            verify(conn)
        return row, None
    rows = Tx.of(conn).rows(LOCK_MEMBER_SEEN, {"member_id": member_id, "idem_key": idem_key})
    row = rows[0] if rows else None
    if row is None:
        raise _no_member(member_id)
    if verify is not None:
        verify(conn)
    if row.seen_hash is None:
        return row, None
    return row, _stored_answer(row.seen_hash, row.seen_result, row.seen_status, kind, request,
                               idem_key)


def _stored_answer(seen_hash: str, result: Any, status: int | None, kind: str,
                   request: dict[str, Any], idem_key: str) -> dict[str, Any]:
    if seen_hash != request_hash(dict(request, kind=kind)):
        raise IdempotencyConflictError(
            f"Idempotency-Key {idem_key.split(':', 1)[-1]!r} was already used for a "
            "different request; use a new key for a new request")
    if status is not None and status >= 400:
        raise ReplayedError(status, result)
    return dict(result, replayed=True)


def replay(conn: Connection, kind: str, request: dict[str, Any],
           idem_key: str | None) -> dict[str, Any] | None:
    """The stored answer when `idem_key` was already used for this request, else None.

    Raises `IdempotencyConflictError` when the key was used for a different request, and
    `ReplayedError` (the stored status and error) when the first request was refused.
    """
    if idem_key is None:
        return None
    seen = conn.execute(_SEEN, {"idem_key": idem_key}).first()
    if seen is None:
        return None
    return _stored_answer(seen.request_hash, seen.result, seen.status_code, kind, request,
                          idem_key)


#: what a refused write is stored as: no entries, no amount, so that nothing that reads
#: operations by kind (spend for tiers, refunds, reversals) ever counts it
FAILED_KIND = "failed"


def record_failure(conn: Connection, *, kind: str, request: dict[str, Any], idem_key: str,
                   actor: str, member_id: str | None, error: CvmError,
                   now: datetime | None = None) -> None:
    """Remember a refused write under its idempotency key, so that a retry gets the same
    refusal (`replay` raises it again) instead of being tried afresh."""
    conn.execute(_INSERT_OP, dict(
        idem_key=idem_key, natural_key=None, request_hash=request_hash(dict(request, kind=kind)),
        kind=FAILED_KIND, member_id=member_id, partner_id=None, source_txn=None,
        amount_cents=None, actor=actor, created_at=now or utcnow(),
        status_code=http_status(error), result=error.to_dict()))


def http_status(error: CvmError) -> int:
    """The status the API answers an error with: its own, except that a request refused for
    its content (`InputError` and any other 400) is 422, as the API's validation of the
    request's shape is; 400 is left to requests the HTTP layer cannot read."""
    return 422 if error.http_status == 400 else error.http_status


def begin(conn: Connection | Tx, *, kind: str, request: dict[str, Any], actor: str,
          idem_key: str | None = None, member_id: str | None = None,
          partner_id: str | None = None, source_txn: str | None = None,
          amount_cents: int | None = None, natural_key: str | None = None,
          now: datetime | None = None) -> Operation:
    """Start an operation: refuse a natural key already booked, then add its row.

    Call `replay` first, after locking the member, so that two retries of one request
    queue behind each other and the second finds the first's answer. The unique indexes on
    ``idem_key`` and ``natural_key`` refuse a twin that raced past both checks: its
    transaction fails with an IntegrityError and `Programme` runs it again, which then
    replays or refuses it.
    """
    tx = Tx.of(conn)
    now = now or utcnow()
    if natural_key is not None:
        _refuse_if_booked(tx, natural_key)
    row = dict(
        idem_key=idem_key or f"auto:{uuid.uuid4().hex}", natural_key=natural_key,
        request_hash=request_hash(dict(request, kind=kind)), kind=kind, member_id=member_id,
        partner_id=partner_id, source_txn=source_txn, amount_cents=amount_cents, actor=actor,
        created_at=now, status_code=None, result=None)
    return Operation(tx.insert(operations, row), now, row=row)


def _refuse_if_booked(tx: Tx, natural_key: str) -> None:
    # the refusal names neither the operation nor the member that booked the key: the
    # caller may be another member's till or another partner
    if tx.rows(NATURAL, {"natural_key": natural_key}):
        kind, ident = _describe(natural_key)
        raise ConflictError(
            f"{kind} {ident!r} was already booked; it is not booked twice. Resend with the "
            "same Idempotency-Key to get the first answer.")


def _describe(key: str) -> tuple[str, str]:
    """A natural key's kind and its last part, unescaped (`natural_key`)."""
    parts, part, escaped = [], "", False
    for ch in key:
        if escaped:
            part, escaped = part + ch, False
        elif ch == "\\":
            escaped = True
        elif ch == ":":
            parts.append(part)
            part = ""
        else:
            part += ch
    parts.append(part)
    return parts[0], parts[-1]


def finish(conn: Connection | Tx, op: Operation, result: dict[str, Any],
           status_code: int = 201) -> dict[str, Any]:
    """Store the operation's answer (what a retry will get) and return it."""
    tx = Tx.of(conn)
    result = json.loads(json.dumps(dict(result, operation_id=op.op_id), default=_jsonable))
    if op.row is not None and tx.pending(op.row):
        op.row.update(result=result, status_code=status_code)  # still queued: sent with it
    else:
        tx.queue(_FINISH, {"b_op_id": op.op_id, "b_result": result, "b_status": status_code})
    return dict(result, replayed=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    raise TypeError(f"cannot store {type(value).__name__} in an operation's result")
