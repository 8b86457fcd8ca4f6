"""`Programme`: the loyalty programme over one store, used by the CLI, the API and tests.

Each write method is one database transaction: lock the member, replay or start the
operation, book its entries, store the answer, commit. A request retried with the same
idempotency key returns the first answer (``"replayed": true``) and books nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from cvm.config import ProgrammeSettings
from cvm.errors import (
    ConflictError,
    CvmError,
    IdempotencyConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    ReplayedError,
    StoreBusyError,
    StoreUnavailableError,
)
from cvm.programme import apikeys, earning, ledger, partners, tiers
from cvm.programme import operations as ops
from cvm.programme.tx import Tx
from cvm.store.db import Store, sqlite_url
from cvm.store.tables import catalogue, ledger_entries, members, operations
from cvm.store.tables import tiers as tiers_t

__all__ = ["Programme"]

E = ledger_entries


# the read paths' statements, built once
_MEMBER_EXISTS = select(members.c.member_id).where(members.c.member_id == bindparam("member_id"))
_STATEMENT = (select(E.c.entry_id, E.c.op_id.label("operation_id"), E.c.kind, E.c.points,
                     E.c.clawback_points, E.c.source_txn.label("transaction_id"), E.c.reason,
                     E.c.partner_id, E.c.booked_at, E.c.matures_at, E.c.expires_at,
                     E.c.reverses_entry_id)
              .where(E.c.member_id == bindparam("member_id"), E.c.entry_id > bindparam("after"))
              .order_by(E.c.entry_id).limit(bindparam("limit")))
_PARTNER_STATEMENT = _STATEMENT.where(E.c.partner_id == bindparam("partner_id"))


def _connection_lost(exc: OperationalError) -> bool:
    """Whether the database connection broke (not a busy lock, a deadlock or a timeout), as
    SQLAlchemy's dialect tells it (`cvm.programme.tx` asks it too)."""
    return bool(exc.connection_invalidated)


class Programme:
    """The programme: members, ledger, tiers, partners and keys over a `Store`.

    Examples
    --------
    >>> prog = Programme.from_url("sqlite:///p.db")                 # doctest: +SKIP
    >>> prog.init()                                                  # doctest: +SKIP
    >>> prog.create_member("m1")                                     # doctest: +SKIP
    >>> prog.earn("m1", "sale-1", "250.00")["points"]                # doctest: +SKIP
    """

    #: How long a verified API key is trusted without asking the database again.
    AUTH_CACHE_SECONDS = 5.0

    def __init__(self, store: Store, settings: ProgrammeSettings | None = None):
        self.store = store
        self.settings = settings or ProgrammeSettings()
        self.policy = ledger.Policy.from_settings(self.settings)
        self._auth_cache: dict[str, tuple[apikeys.Principal, float]] = {}

    @classmethod
    def from_url(cls, url: str, settings: ProgrammeSettings | None = None) -> Programme:
        settings = settings or ProgrammeSettings()
        return cls(Store(url, busy_timeout_ms=settings.busy_timeout_ms), settings)

    @classmethod
    def from_workspace(cls, ws) -> Programme:
        """The workspace's programme: its database_url, or programme.db in its folder."""
        s = ws.settings.programme
        return cls.from_url(s.database_url or sqlite_url(Path(ws.path) / "programme.db"), s)

    def init(self) -> None:
        """Create or upgrade the tables (Alembic ``upgrade head``)."""
        self.store.upgrade()

    def close(self) -> None:
        self.store.dispose()

    # ---- plumbing -------------------------------------------------------------------
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
                    raise ConflictError(f"the write clashed with stored data: {exc.orig}") from None
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

    def _member_op(self, kind: str, member_id: str, request: dict[str, Any], idem_key, actor,
                   now, body: Callable[[Tx, Any, ops.Operation], dict],
                   prepare: Callable[[Tx, Any], dict] | None = None,
                   prefetch: tuple[tuple[Any, dict], ...] = (), need: int | None = 0,
                   **op_cols):
        """One write for a member in one transaction: lock the member (replaying a retry),
        `prepare`, start the operation, book (`body`), store the answer, commit.

        On PostgreSQL it takes five statements (`cvm.programme.tx`): BEGIN; the lock; one
        read of the member's lots, the `prefetch` reads and the ids the rows will take; one
        write of the rows; COMMIT. `need`: the points the write will take from the member's
        lots, when known before `prepare` (`cvm.programme.ledger.state`).
        """
        found = []
        now = now or ops.utcnow()

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
                                                        idem_key)
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

    # ---- members --------------------------------------------------------------------
    def create_member(self, member_id: str, joined_on: date | None = None, *,
                      idem_key: str | None = None, actor: str = "system",
                      now: datetime | None = None) -> dict[str, Any]:
        """Enrol a member (409 if the id is taken, unless this is a replay)."""
        if not member_id or len(member_id) > 64:
            raise InputError("member_id must be 1 to 64 characters")
        now = now or ops.utcnow()
        request = {"member_id": member_id, "joined_on": joined_on}

        def work(conn):
            stored = ops.replay(conn, "member", request, idem_key)
            if stored is not None:
                return stored
            if conn.execute(_MEMBER_EXISTS, {"member_id": member_id}).first():
                raise ConflictError(f"member {member_id!r} already exists")
            conn.execute(insert(members).values(
                member_id=member_id, joined_on=joined_on or now.date(), status="active",
                created_at=now))
            op = ops.begin(conn, kind="member", request=request, actor=actor,
                           idem_key=idem_key, member_id=member_id, now=now)
            return ops.finish(conn, op, {"member_id": member_id,
                                         "joined_on": joined_on or now.date(), "tier": None})
        return self._write(work)

    def member(self, member_id: str) -> dict[str, Any]:
        with self.store.read() as conn:
            row = conn.execute(select(members).where(members.c.member_id == member_id)).first()
            if row is None:
                raise NotFoundError(f"member {member_id!r} not found")
            return {**row._asdict(), "benefits": tiers.benefits(conn, member_id)}

    # ---- ledger ---------------------------------------------------------------------
    def earn(self, member_id: str, transaction_id: str, amount: Any, *,
             product: str | None = None, channel: str | None = None,
             partner_id: str | None = None, idem_key: str | None = None,
             actor: str = "system", now: datetime | None = None) -> dict[str, Any]:
        """Book the points a purchase earns (pending for the return window)."""
        cents = earning.to_cents(amount)
        if cents < 0:
            raise InputError(f"amount {amount} is negative; send a refund instead")
        request = {"member_id": member_id, "transaction_id": transaction_id, "amount": cents,
                   "product": product, "channel": channel, "partner_id": partner_id}
        natural_key = f"transaction:{partner_id or '-'}:{transaction_id}"
        return self._member_op(
            "earn", member_id, request, idem_key, actor, now,
            lambda conn, m, op: earning.earn(conn, op, m, transaction_id, cents, self.policy,
                                             product=product, channel=channel,
                                             partner_id=partner_id),
            partner_id=partner_id, source_txn=transaction_id, amount_cents=cents,
            natural_key=natural_key,
            prefetch=((earning.ACTIVE_RULES, {}), (earning.TIER_MULTIPLIERS, {}),
                      (ops.NATURAL, {"natural_key": natural_key})))

    def redeem(self, member_id: str, points: int | None = None, *, item: str | None = None,
               reason: str | None = None, partner_id: str | None = None,
               idem_key: str | None = None, actor: str = "system",
               now: datetime | None = None) -> dict[str, Any]:
        """Spend active points, oldest lots first, or buy a catalogue item; 409 when short."""
        request = {"member_id": member_id, "points": points, "item": item, "reason": reason,
                   "partner_id": partner_id}

        def prepare(conn, member):
            pts, why = points, reason
            if item is not None and points is not None:
                raise InputError("give points or a catalogue item to redeem, not both")
            if item is not None:
                row = conn.execute(select(catalogue).where(catalogue.c.code == item,
                                                           catalogue.c.active.is_(True))).first()
                if row is None:
                    raise NotFoundError(f"catalogue item {item!r} not found or inactive")
                if row.min_tier_code is not None:
                    ranks = dict(conn.execute(select(tiers_t.c.code, tiers_t.c.rank)).all())
                    if ranks.get(member.tier_code, -1) < ranks[row.min_tier_code]:
                        raise PermissionDeniedError(
                            f"catalogue item {item!r} needs tier {row.min_tier_code} or "
                            f"higher; member {member_id!r} is {member.tier_code or 'untiered'}")
                pts, why = row.points, reason or f"catalogue item {item}: {row.name}"
            if pts is None:
                raise InputError("give points or a catalogue item to redeem")
            return {"points": pts, "why": why or "redemption"}

        return self._member_op(
            "redeem", member_id, request, idem_key, actor, now,
            lambda conn, m, op, points, why: ledger.redeem(conn, op, m.member_id, points, why,
                                                           partner_id=partner_id),
            partner_id=partner_id, prepare=prepare,
            need=points if item is None and isinstance(points, int) else 0)

    def refund(self, member_id: str, transaction_id: str, amount: Any = None, *,
               refund_id: str | None = None, partner_id: str | None = None,
               idem_key: str | None = None, actor: str = "system",
               now: datetime | None = None) -> dict[str, Any]:
        """Reverse a purchase's points (all, or in proportion to a partial amount)."""
        request = {"member_id": member_id, "transaction_id": transaction_id, "amount": amount,
                   "refund_id": refund_id, "partner_id": partner_id}

        def prepare(conn, member):
            earn_op = conn.execute(select(operations).where(
                operations.c.natural_key == f"transaction:{partner_id or '-'}:{transaction_id}",
                operations.c.member_id == member_id)).first()
            if earn_op is None:
                raise NotFoundError(f"no purchase {transaction_id!r} earned points for member "
                                    f"{member_id!r}" + (f" at partner {partner_id!r}"
                                                        if partner_id else ""))
            before = -int(conn.execute(select(func.coalesce(func.sum(
                operations.c.amount_cents), 0)).where(
                operations.c.kind == "refund", operations.c.member_id == member_id,
                operations.c.source_txn == transaction_id,
                operations.c.partner_id.is_(None) if partner_id is None
                else operations.c.partner_id == partner_id)).scalar_one())
            left = earn_op.amount_cents - before
            cents = left if amount is None else earning.to_cents(amount)
            if left <= 0:
                raise ConflictError(f"purchase {transaction_id!r} of member {member_id!r} was "
                                    "already refunded in full; nothing is reversed twice")
            if not 0 < cents <= left:
                raise InputError(f"refund amount {cents / 100:.2f} must be above 0 and at "
                                 f"most the {left / 100:.2f} not yet refunded")
            key = f"refund:{partner_id or '-'}:{refund_id}" if refund_id else None
            return {"op": {"amount_cents": -cents, "natural_key": key},
                    "earn_op": earn_op, "cents": cents, "before": before}

        return self._member_op(
            "refund", member_id, request, idem_key, actor, now,
            lambda conn, m, op, earn_op, cents, before: ledger.refund(
                conn, op, m.member_id, earn_op, cents, before, self.policy),
            partner_id=partner_id, source_txn=transaction_id, prepare=prepare, need=None)

    def reverse(self, member_id: str, operation_id: int, reason: str = "cancelled", *,
                partner_id: str | None = None, idem_key: str | None = None,
                actor: str = "system", now: datetime | None = None) -> dict[str, Any]:
        """Cancel a redemption: its points come back as a lot (once only)."""
        request = {"member_id": member_id, "operation_id": operation_id, "reason": reason}

        def prepare(conn, member):
            row = conn.execute(select(operations.c.partner_id).where(
                operations.c.op_id == operation_id, operations.c.member_id == member_id,
                operations.c.kind == "redeem")).first()
            if row is None or (partner_id is not None and row.partner_id != partner_id):
                raise NotFoundError(f"no redemption {operation_id} of member {member_id!r}"
                                    + (f" at partner {partner_id!r}" if partner_id else ""))
            return {"op": {"natural_key": f"reversal:{operation_id}"}}

        return self._member_op(
            "reverse", member_id, request, idem_key, actor, now,
            lambda conn, m, op: ledger.reverse_redemption(conn, op, m.member_id,
                                                          operation_id, reason),
            partner_id=partner_id, prepare=prepare)

    def adjust(self, member_id: str, points: int, reason: str, *,
               idem_key: str | None = None, actor: str = "system",
               now: datetime | None = None) -> dict[str, Any]:
        """A staff correction with its reason; a debit cannot exceed the active balance."""
        if not reason or not reason.strip():
            raise InputError("an adjustment needs a reason (who asked and why)")
        request = {"member_id": member_id, "points": points, "reason": reason}
        return self._member_op(
            "adjust", member_id, request, idem_key, actor, now,
            lambda conn, m, op: ledger.adjust(conn, op, m.member_id, points,
                                              f"{reason} (by {actor})", self.policy),
            need=max(-points, 0) if isinstance(points, int) else 0)

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

    def balance(self, member_id: str, now: datetime | None = None) -> dict[str, Any]:
        # one statement reads lots and sums together: consistent without a transaction
        at = now or ops.utcnow()

        def read(tx):
            _, _, sums, held = ledger.state(tx, member_id, at)
            if not sums:  # no entries: does the member exist at all?
                self._check_member(tx, member_id)
            return {"member_id": member_id, **ledger.balance(tx, member_id, at, held, sums)}
        return self._query(read)

    @staticmethod
    def _check_member(tx: Tx, member_id: str) -> None:
        if not tx.rows(_MEMBER_EXISTS, {"member_id": member_id}):
            raise NotFoundError(f"member {member_id!r} not found")

    def statement(self, member_id: str, *, partner_id: str | None = None, limit: int = 100,
                  after: int = 0) -> dict[str, Any]:
        """The member's entries in booking order (a partner sees only its own)."""
        def read(tx):   # one statement: consistent in itself
            params = {"member_id": member_id, "after": after, "limit": limit}
            if partner_id is None:
                rows = tx.rows(_STATEMENT, params)
            else:
                rows = tx.rows(_PARTNER_STATEMENT, {**params, "partner_id": partner_id})
            rows = [r._asdict() for r in rows]
            if not rows:  # no entries (after `after`): does the member exist at all?
                self._check_member(tx, member_id)
            return {"member_id": member_id, "entries": rows,
                    "next_after": rows[-1]["entry_id"] if len(rows) == limit else None}
        return self._query(read)

    # ---- jobs -----------------------------------------------------------------------
    def expire(self, now: datetime | None = None) -> dict[str, int]:
        """Expire every lot past its date (each member in its own transaction)."""
        now = now or ops.utcnow()
        with self.store.read() as conn:
            due = conn.execute(select(E.c.member_id).distinct().where(
                E.c.points > 0, E.c.expires_at <= now)).scalars().all()
        points = changed = 0
        for member_id in due:
            def work(conn, member_id=member_id):
                ops.lock_member(conn, member_id)
                if not any(lot.expires_at is not None and lot.expires_at <= now
                           for lot in ledger.lots(conn, member_id)):
                    return 0
                op = ops.begin(conn, kind="expire", request={"member_id": member_id,
                                                              "at": now.isoformat()},
                               actor="expiry job", member_id=member_id, now=now)
                done: dict[str, int] = {}
                ledger.housekeep(conn, op, member_id, done)
                ops.finish(conn, op, done)
                return done["expired"]
            n = self._write(work)
            points += n
            changed += n > 0
        return {"members": changed, "points_expired": points}

    def run_tiers(self, on: date | None = None, batch: int = 500) -> list[dict[str, Any]]:
        """The tier job for day `on`: upgrades, grace and downgrades for every member."""
        on = on or ops.utcnow().date()
        now = ops.utcnow()
        with self.store.read() as conn:
            ids = conn.execute(select(members.c.member_id)
                               .order_by(members.c.member_id)).scalars().all()
        changes = []
        for i in range(0, len(ids), batch):
            def work(conn, chunk=ids[i:i + batch]):
                rows = conn.execute(select(members).where(members.c.member_id.in_(chunk))
                                    .order_by(members.c.member_id).with_for_update()).all()
                values = tiers.qualifying_values(conn, rows, on, self.settings)
                table = tiers.ranks(conn)
                writes = tiers.TierWrites()
                out = []
                for member in rows:
                    change = tiers.evaluate(conn, member, on, self.settings, now,
                                            value=values.get(member.member_id, 0),
                                            table=table, writes=writes)
                    if change is not None:
                        out.append(change)
                writes.flush(conn)
                return out
            changes += self._write(work)
        return changes

    def audit(self) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return ledger.audit(conn)

    def write_op(self, kind: str, request: dict[str, Any], fn: Callable[[Connection], Any],
                 *, idem_key: str | None = None, actor: str = "system",
                 partner_id: str | None = None) -> dict[str, Any]:
        """Run a configuration write `fn` once per idempotency key, storing its answer."""
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

    # ---- configuration ----------------------------------------------------------------
    def configure(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a configuration function (``tiers.define_tier``, ``earning.define_rule``,
        ``partners.add_partner``...) in one write transaction."""
        return self._write(lambda conn: fn(conn, *args, **kwargs))

    def read(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self.store.read() as conn:
            return fn(conn, *args, **kwargs)

    def create_api_key(self, role: str, partner_id: str | None = None, name: str = "") -> str:
        return self._write(lambda conn: apikeys.create_key(
            conn, role, ops.utcnow(), partner_id=partner_id, name=name))

    def authenticate(self, token: str | None) -> apikeys.Principal:
        """The key's principal (401 if missing, unknown or revoked).

        A verified key is remembered for `AUTH_CACHE_SECONDS` to spare a query per request;
        a key revoked through this object is forgotten at once, one revoked elsewhere (another
        process) is refused at the latest that many seconds later.
        """
        principal = self.cached_principal(token)
        if principal is not None:
            return principal
        with self.store.engine.connect() as conn:
            principal = apikeys.authenticate(conn, token)
        if len(self._auth_cache) > 10_000:
            self._auth_cache.clear()
        self._auth_cache[token] = (principal, time.monotonic() + self.AUTH_CACHE_SECONDS)
        return principal

    def cached_principal(self, token: str | None) -> apikeys.Principal | None:
        """The principal of a key verified less than `AUTH_CACHE_SECONDS` ago, else None
        (no database access: the API answers it on its event loop)."""
        hit = self._auth_cache.get(token) if token else None
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return None

    def revoke_api_key(self, key_id: str) -> None:
        self._write(lambda conn: apikeys.revoke_key(conn, key_id, ops.utcnow()))
        self._auth_cache.clear()

    def settle(self, partner_id: str, month: str, now: datetime | None = None) -> dict:
        return self._write(lambda conn: partners.settle(conn, partner_id, month,
                                                        now or ops.utcnow()))
