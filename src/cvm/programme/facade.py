"""`Programme`: the loyalty programme over one store, its one way in (``ws.programme``).

Used by the CLI, the API and tests. Each write method is one database transaction: lock the
member, replay or start the operation, book its entries, store the answer, commit. A request
retried with the same idempotency key returns the first answer (``"replayed": true``) and
books nothing. Members and the ledger are here; configuration, partners, reports and keys
come from `cvm.programme.admin.Administration`, transactions from `cvm.programme.runner`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, insert, select

from cvm._time import utcnow
from cvm.config import ProgrammeSettings
from cvm.errors import ConflictError, InputError, NotFoundError
from cvm.programme import catalogue, earning, ledger, proofs, tiers
from cvm.programme import idempotency as ops
from cvm.programme.admin import Administration
from cvm.programme.batching import Tx
from cvm.store.db import Store, sqlite_url
from cvm.store.tables import ledger_entries, members, operations

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
_DUE = select(E.c.member_id).distinct().where(E.c.points > 0,
                                              E.c.expires_at <= bindparam("now"))


class Programme(Administration):
    """The programme: members, ledger, tiers, partners and keys over a `Store`.

    Examples
    --------
    >>> prog = Programme.from_url("sqlite:///p.db")                 # doctest: +SKIP
    >>> prog.init()                                                  # doctest: +SKIP
    >>> prog.create_member("m1")                                     # doctest: +SKIP
    >>> prog.earn("m1", "sale-1", "250.00")["points"]                # doctest: +SKIP
    """

    #: the workspace whose customers ``init(demo=True)`` enrols (`from_workspace`), or None
    workspace: Any = None

    @classmethod
    def from_url(cls, url: str, settings: ProgrammeSettings | None = None) -> Programme:
        """The programme in the database at a SQLAlchemy URL (SQLite or PostgreSQL)."""
        settings = settings or ProgrammeSettings()
        return cls(Store(url, busy_timeout_ms=settings.busy_timeout_ms), settings)

    @classmethod
    def from_workspace(cls, ws) -> Programme:
        """The workspace's programme: its database_url, or programme.db in its folder."""
        s = ws.settings.programme
        prog = cls.from_url(s.database_url or sqlite_url(Path(ws.path) / "programme.db"), s)
        prog.workspace = ws
        return prog

    def init(self, *, demo: bool = False, members: int = 0,
             on_progress: Callable[[int, int], Any] | None = None) -> dict[str, int] | None:
        """Create or upgrade the tables (Alembic ``upgrade head``).

        With `demo`, also load the demo tiers, rules, catalogue and partner
        (`seed_demo`) and enrol `members` of the workspace's customers with their last 12
        months of purchases (`cvm.programme.demo.enrol_customers`), if it has any; returns
        the enrolment's counts, else None.
        """
        self.store.upgrade()
        if not demo:
            return None
        self.seed_demo()
        ws = self.workspace
        if not members or ws is None or not ws.has_rows("customers") or ws.latest_day() is None:
            return None
        from cvm.programme.demo import enrol_customers

        return enrol_customers(self, ws, members, on_progress=on_progress)

    def seed_demo(self) -> bool:
        """Load the demo configuration (`cvm.programme.demo.define`) in one transaction;
        False, changing nothing, if the programme already has it."""
        from cvm.programme.demo import define

        return self._write(define)

    def close(self) -> None:
        """Close the database connections."""
        self.store.dispose()

    # ---- members --------------------------------------------------------------------
    def create_member(self, member_id: str, joined_on: date | None = None, *,
                      idem_key: str | None = None, actor: str = "system",
                      now: datetime | None = None) -> dict[str, Any]:
        """Enrol a member (409 if the id is taken, unless this is a replay)."""
        if not member_id or len(member_id) > 64:
            raise InputError("member_id must be 1 to 64 characters")
        now = now or utcnow()
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
        """A member's row (tier, floor, status) with its tier's benefits (404 if unknown)."""
        with self.store.read() as conn:
            row = conn.execute(select(members).where(members.c.member_id == member_id)).first()
            if row is None:
                raise proofs.no_member(member_id)
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
        natural_key = ops.natural_key("transaction", partner_id, transaction_id)
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
               proof: str | None = None, require_proof: bool = False,
               idem_key: str | None = None, actor: str = "system",
               now: datetime | None = None) -> dict[str, Any]:
        """Spend active points, oldest lots first, or buy a catalogue item; 409 when short.

        With `require_proof`, `proof` must be the member's card token or a live one-time
        code (which the redemption spends), else the answer is that of an unknown member
        (`cvm.programme.proofs`), whatever the idempotency key already answered. A retry
        with the same key replays the first answer with the code it spent."""
        if isinstance(points, int):
            ledger.check_points(points, "a redemption")
        request = {"member_id": member_id, "points": points, "item": item, "reason": reason,
                   "partner_id": partner_id}
        now = now or utcnow()
        checked = ((proofs.PROOF, proofs.params(member_id, proof, now)),) if (
            require_proof and proof) else ()
        shown: dict[str, Any] = {}

        def verify(conn):
            shown["proof"] = proofs.find(conn, member_id, proof, now)
            if shown["proof"] is None:
                raise proofs.no_member(member_id, write=True)

        def prepare(conn, member):
            if require_proof:
                proofs.spend(conn, member_id, shown["proof"], now)
            pts, why = points, reason
            if item is not None and points is not None:
                raise InputError("give points or a catalogue item to redeem, not both")
            if item is not None:
                pts, name = catalogue.price(conn, item, member)
                why = reason or f"catalogue item {item}: {name}"
            if pts is None:
                raise InputError("give points or a catalogue item to redeem")
            return {"points": pts, "why": why or "redemption"}

        return self._member_op(
            "redeem", member_id, request, idem_key, actor, now,
            lambda conn, m, op, points, why: ledger.redeem(conn, op, m.member_id, points, why,
                                                           partner_id=partner_id),
            partner_id=partner_id, prepare=prepare, prefetch=checked,
            verify=verify if require_proof else None,
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
                operations.c.natural_key == ops.natural_key("transaction", partner_id,
                                                            transaction_id),
                operations.c.member_id == member_id)).first()
            if earn_op is None:
                raise NotFoundError(f"no purchase {transaction_id!r} earned points for member "
                                    f"{member_id!r}" + (f" at partner {partner_id!r}"
                                                        if partner_id else ""))
            # the refunds of this sale: its member's, at its own partner (or till)
            owner = earn_op.partner_id
            before = -int(conn.execute(select(func.coalesce(func.sum(
                operations.c.amount_cents), 0)).where(
                operations.c.kind == "refund", operations.c.member_id == earn_op.member_id,
                operations.c.source_txn == earn_op.source_txn,
                operations.c.partner_id.is_(None) if owner is None
                else operations.c.partner_id == owner)).scalar_one())
            left = earn_op.amount_cents - before
            cents = left if amount is None else earning.to_cents(amount)
            if left <= 0:
                raise ConflictError(f"purchase {transaction_id!r} of member {member_id!r} was "
                                    "already refunded in full; nothing is reversed twice")
            if not 0 < cents <= left:
                raise InputError(f"refund amount {cents / 100:.2f} must be above 0 and at "
                                 f"most the {left / 100:.2f} not yet refunded")
            key = ops.natural_key("refund", partner_id, refund_id) if refund_id else None
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
        if isinstance(points, int):
            ledger.check_points(points, "an adjustment")
        request = {"member_id": member_id, "points": points, "reason": reason}
        return self._member_op(
            "adjust", member_id, request, idem_key, actor, now,
            lambda conn, m, op: ledger.adjust(conn, op, m.member_id, points,
                                              f"{reason} (by {actor})", self.policy),
            need=max(-points, 0) if isinstance(points, int) else 0)

    def balance(self, member_id: str, now: datetime | None = None, *, proof: str | None = None,
                require_proof: bool = False) -> dict[str, Any]:
        """Active, pending, spent, expired, lapsed and negative points at `now`. With
        `require_proof`, `proof` must be the member's card token or a live one-time code,
        else the answer is that of an unknown member."""
        # one statement reads lots and sums together: consistent without a transaction
        at = now or utcnow()

        def read(tx):
            if require_proof:
                proofs.check(tx, member_id, proof, at)
            _, _, sums, held = ledger.state(tx, member_id, at)
            if not sums:  # no entries: does the member exist at all?
                self._check_member(tx, member_id)
            return {"member_id": member_id, **ledger.balance(tx, member_id, at, held, sums)}
        return self._query(read)

    @staticmethod
    def _check_member(tx: Tx, member_id: str) -> None:
        if not tx.rows(_MEMBER_EXISTS, {"member_id": member_id}):
            raise proofs.no_member(member_id)

    def statement(self, member_id: str, *, partner_id: str | None = None, limit: int = 100,
                  after: int = 0, proof: str | None = None,
                  require_proof: bool = False) -> dict[str, Any]:
        """The member's entries in booking order (a partner sees only its own). With
        `require_proof`, as `balance`."""
        def read(tx):   # one statement: consistent in itself
            if require_proof:
                proofs.check(tx, member_id, proof, utcnow())
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
        now = now or utcnow()
        due = self._read(lambda conn: conn.execute(_DUE, {"now": now}).scalars().all())
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

    def audit(self) -> list[dict[str, Any]]:
        """What does not hold in the books, one row per problem (`cvm.programme.ledger.audit`);
        empty when they balance."""
        return self._read(ledger.audit)
