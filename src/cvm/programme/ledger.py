r"""The points ledger: append-only entries, lots consumed first in first out.

Model
-----
Every change to a member's points is an entry with signed ``points``. A *credit* (earn,
positive adjust, the reversal of a redemption) is a **lot**: it matures at ``matures_at``
(pending until then: the purchase's return window) and expires at ``expires_at``.
A *debit* (redeem, expire, negative adjust, the reversal of an earn) is linked to the lots
it consumed by **allocations**; a lot's remaining points are its points less its
allocations, so nothing is ever updated in place. For a member at time :math:`t`

.. math::

    r_\ell = p_\ell - \sum_{a \in A(\ell)} q_a, \qquad
    \text{active} = \sum_{\ell: m_\ell \le t} r_\ell, \quad
    \text{pending} = \sum_{\ell: m_\ell > t} r_\ell, \quad
    \text{negative} = \sum_{d} \Big(|p_d| - \sum_{a \in A(d)} q_a\Big)

and the ledger sum :math:`\sum_e p_e = \text{active} + \text{pending} - \text{negative}`
holds by construction (`audit` checks it). *negative* is the part of a debit no lot
covered: only a refund of already-spent points can leave one, and only under the
``negative`` refund policy; later credits pay it off first.

Debits take the oldest lots first (FIFO, by booking order). Expiry takes what is left of
each lot past its ``expires_at``, so an expiry never touches points already spent and never
collapses a balance. Every function here runs inside the caller's transaction and commits
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    union_all,
)

from cvm._time import add_months
from cvm.errors import (
    ConflictError,
    InputError,
    InsufficientPointsError,
    NotFoundError,
    PointsLimitError,
)
from cvm.programme.batching import Tx
from cvm.programme.idempotency import Operation
from cvm.store.tables import allocations, ledger_entries, operations

__all__ = ["Policy", "Lot", "lots", "state", "balance", "book_credit", "book_debit", "housekeep",
           "bucket", "current_balance", "redeem", "adjust", "refund", "reverse_redemption", "audit",
           "CREDIT_KINDS", "STATE", "STATE_ALL", "MAX_POINTS", "check_points"]

E = ledger_entries
CREDIT_KINDS = ("earn", "adjust", "reverse")
#: the most points one entry may hold, and the most a member may be credited in all (every
#: credit it ever had, spent or not): 2^53 - 1, exact as a double too (JSON clients). Debits
#: never exceed a member's credits, so every sum of a member's points (balances, the audit)
#: stays within 64-bit integers.
MAX_POINTS = 2**53 - 1


def check_points(points: int, what: str) -> None:
    """Refuse a number of points beyond `MAX_POINTS` either way (`PointsLimitError`)."""
    if abs(points) > MAX_POINTS:
        raise PointsLimitError(f"{what} of {points} points is more than the {MAX_POINTS} "
                               "one entry may hold; nothing was booked")


@dataclass(frozen=True)
class Policy:
    """The ledger's rules, from `cvm.config.ProgrammeSettings`."""

    expiry_months: int = 24
    return_window_days: int = 30
    refund_shortfall: str = "negative"
    point_value: float = 0.01

    @classmethod
    def from_settings(cls, s) -> Policy:
        return cls(s.expiry_months, s.return_window_days, s.refund_shortfall, s.point_value)

    def expires(self, earned: datetime) -> datetime | None:
        return add_months(earned, self.expiry_months) if self.expiry_months else None


@dataclass
class Lot:
    """A credit entry and what is left of it."""

    entry_id: int
    kind: str
    points: int
    remaining: int
    booked_at: datetime
    matures_at: datetime
    expires_at: datetime | None


# The statements of every write, built once: SQLAlchemy then reuses their cache keys and
# compiled forms, and a request spends its time in the database, not in building queries.
_MEMBER = bindparam("member_id")
_LOT_COLUMNS = (E.c.entry_id, E.c.kind, E.c.points, E.c.booked_at, E.c.matures_at,
                E.c.expires_at)
_LOT_USE = (select(allocations.c.lot_entry_id, func.sum(allocations.c.points).label("used"))
            .where(allocations.c.member_id == _MEMBER)
            .group_by(allocations.c.lot_entry_id).subquery())
_USED = func.coalesce(_LOT_USE.c.used, 0)
_LOTS = (select(*_LOT_COLUMNS, _USED.label("used"))
         .outerjoin(_LOT_USE, _LOT_USE.c.lot_entry_id == E.c.entry_id)
         .where(E.c.member_id == _MEMBER, E.c.points > 0)
         .order_by(E.c.entry_id))
_OPEN_LOTS = _LOTS.where(E.c.points > _USED)
_DEBIT_COVER = (select(allocations.c.debit_entry_id, func.sum(allocations.c.points).label("c"))
                .where(allocations.c.member_id == _MEMBER)
                .group_by(allocations.c.debit_entry_id).subquery())
_UNCOVERED = -E.c.points - func.coalesce(_DEBIT_COVER.c.c, 0)
_OPEN_DEBITS = (select(E.c.entry_id, _UNCOVERED.label("open"))
                .outerjoin(_DEBIT_COVER, _DEBIT_COVER.c.debit_entry_id == E.c.entry_id)
                .where(E.c.member_id == _MEMBER, E.c.points < 0, _UNCOVERED > 0)
                .order_by(E.c.entry_id))
_POSITIVE = case((E.c.points > 0, 1), else_=0)
_SUMS = (select(E.c.kind, _POSITIVE.label("positive"), func.sum(E.c.points).label("points"))
         .where(E.c.member_id == _MEMBER).group_by(E.c.kind, _POSITIVE))
# A write's lots, bounded by what it needs: each open lot with whether it is mature (active)
# and due to expire at `now`, and the spendable points of the older lots before it (FIFO).
_NOW = bindparam("now", type_=E.c.booked_at.type)
_NEED = bindparam("need", type_=BigInteger)   # up to MAX_POINTS: not int4
_MATURE = func.coalesce(E.c.matures_at, E.c.booked_at) <= _NOW
_DUE = and_(E.c.expires_at.is_not(None), E.c.expires_at <= _NOW)
_SPENDABLE = case((and_(_MATURE, not_(_DUE)), E.c.points - _USED), else_=0)
_OPEN = (select(*_LOT_COLUMNS, _USED.label("used"),
                case((_MATURE, 1), else_=0).label("mature"),
                case((_DUE, 1), else_=0).label("due"),
                (func.sum(_SPENDABLE).over(order_by=E.c.entry_id, rows=(None, 0))
                 - _SPENDABLE).label("before"))
         .outerjoin(_LOT_USE, _LOT_USE.c.lot_entry_id == E.c.entry_id)
         .where(E.c.member_id == _MEMBER, E.c.points > 0, E.c.points > _USED)
         .cte("open_lots"))
_O = _OPEN.c
_LOT_ROWS = select(literal(0).label("tag"), _O.entry_id, _O.kind, _O.points, _O.booked_at,
                   _O.matures_at, _O.expires_at, _O.used.label("n"))
_LEFT = _O.points - _O.used
_HELD = select(literal(3), null(), null(),
               func.sum(case((and_(_O.mature == 1, _O.due == 0), _LEFT), else_=0)),
               null(), null(), null(),
               func.sum(case((and_(_O.mature == 0, _O.due == 0), _LEFT), else_=0)))


def _state(lot_rows):
    return union_all(
        lot_rows,
        _OPEN_DEBITS.with_only_columns(literal(1), *_LOT_COLUMNS, _UNCOVERED).order_by(None),
        _SUMS.with_only_columns(literal(2), _POSITIVE, E.c.kind, func.sum(E.c.points), null(),
                                null(), null(), literal(0)),
        _HELD,
    ).order_by("tag", "entry_id")


#: what every write reads first (`state`), `Tx.prefetch`ed with the member's lock: the lots
#: due to expire at `now` and the oldest spendable ones holding `need` points (tag 0),
#: uncovered debits (tag 1), entry sums (tag 2, the sign in the entry_id column: 1 for +,
#: 0 for -) and the points held in the open lots not due to expire, active and pending at
#: `now` (tag 3)
STATE = _state(_LOT_ROWS.where(or_(_O.due == 1, and_(_O.mature == 1, _O.before < _NEED))))
#: the same with every open lot (a refund may take a pending one)
STATE_ALL = _state(_LOT_ROWS)
_INSERT_ALLOCATIONS = insert(allocations)


def lots(conn: Connection, member_id: str, *, open_only: bool = True) -> list[Lot]:
    """The member's lots, oldest first (with ``open_only``, those with points left)."""
    rows = conn.execute(_OPEN_LOTS if open_only else _LOTS, {"member_id": member_id})
    return [Lot(r.entry_id, r.kind, r.points, r.points - int(r.used), r.booked_at,
                r.matures_at or r.booked_at, r.expires_at) for r in rows]


def balance(conn: Connection, member_id: str, now: datetime,
            held: dict[str, int] | None = None,
            sums: dict[str, int] | None = None) -> dict[str, int]:
    """The member's balance derived from the ledger at `now`.

    ``active`` can be spent; ``pending`` waits for its return window; ``spent`` is redeemed
    net of cancelled redemptions; ``expired`` has been booked as expired; ``lapsed`` is past
    its expiry date but not booked yet (the expiry job, or the member's next write, books
    it as expired: it is never spent); ``negative`` is owed (refunded points already
    spent); ``total`` is the plain sum of the member's entries. ``negative`` is read off the
    identity total = active + pending + lapsed - negative; `audit` recomputes it from the
    uncovered debits, independently. `held` (the points left in open lots, active
    and pending) and `sums` (the entry sums), as an operation keeps them current while it
    books (`Operation.held_of`, `Operation.sums_of`), save reading them again.
    """
    if held is None or sums is None:
        _, _, read_sums, read_held = state(conn, member_id, now)
        held = read_held if held is None else held
        sums = read_sums if sums is None else sums
    active, pending, lapsed = held["active"], held["pending"], held["lapsed"]
    total = sum(sums.values())
    return {"active": active, "pending": pending,
            "spent": -sums.get("redeem-", 0) - sums.get("reverse+", 0),
            "expired": -sums.get("expire-", 0), "lapsed": lapsed,
            "negative": active + pending + lapsed - total, "total": total}


_ENTRY_COLUMNS = tuple(c.name for c in E.columns if c.name != "entry_id")


def _entry_row(**values: Any) -> dict[str, Any]:
    """A full row of ledger_entries (absent columns NULL), so that every insert of an entry
    has the same parameter names and shares one compiled statement."""
    unknown = set(values) - set(_ENTRY_COLUMNS)
    if unknown:
        raise TypeError(f"ledger_entries has no column(s) {sorted(unknown)}")
    return {c: values.get(c) for c in _ENTRY_COLUMNS}


def book_credit(conn: Connection, op: Operation, member_id: str, kind: str, points: int,
                reason: str, *, matures_at: datetime | None = None,
                expires_at: datetime | None = None, **cols: Any) -> int:
    """Append a lot; returns its entry id."""
    if points <= 0:
        raise InputError(f"a {kind} credit must be positive, got {points}")
    check_points(points, f"a {kind} credit")
    if op.sums is not None and op.sums_member == member_id:
        credited = sum(v for k, v in op.sums.items() if k.endswith("+"))
        if credited + points > MAX_POINTS:
            raise PointsLimitError(
                f"member {member_id!r} has been credited {credited} points in all; {points} "
                f"more would pass the {MAX_POINTS} a member may hold; nothing was booked")
    entry_id = Tx.of(conn).insert(E, _entry_row(
        op_id=op.op_id, member_id=member_id, kind=kind, points=points, reason=reason[:300],
        booked_at=op.now, matures_at=matures_at or op.now, expires_at=expires_at,
        clawback_points=0, **cols))
    op.booked(member_id, kind, points)
    op.moved(member_id, bucket(matures_at or op.now, expires_at, op.now), points)
    return entry_id


def book_debit(conn: Connection, op: Operation, member_id: str, kind: str, points: int,
               reason: str, sources: list[Lot], *, allow_uncovered: bool = False,
               clawback: bool = False, **cols: Any) -> tuple[int | None, list[dict], int]:
    """Append a debit of `points`, consuming `sources` in the order given.

    Returns (entry id, allocations, uncovered points). The uncovered part stays owed
    (``allow_uncovered``), is booked as clawback (``clawback``: the entry carries only the
    covered points), or makes the debit fail.
    """
    if points <= 0:
        raise InputError(f"a {kind} debit must be positive, got {points}")
    check_points(points, f"a {kind} debit")
    plan, left = [], points
    for lot in sources:
        if left == 0:
            break
        take = min(left, lot.remaining)
        if take > 0:
            plan.append((lot, take))
            left -= take
    if left and not (allow_uncovered or clawback):
        raise InsufficientPointsError(
            f"member {member_id!r} has {points - left} points available for this {kind}; "
            f"{points} were asked for ({left} short)")
    booked = points - left if clawback else points
    tx = Tx.of(conn)
    entry_id = tx.insert(E, _entry_row(
        op_id=op.op_id, member_id=member_id, kind=kind, points=-booked, reason=reason[:300],
        booked_at=op.now, clawback_points=left if clawback else 0, **cols))
    if booked:
        op.booked(member_id, kind, -booked)
    allocs = []
    for lot, take in plan:
        lot.remaining -= take
        op.moved(member_id, _bucket(lot, op.now), -take)
        allocs.append({"debit_entry_id": entry_id, "lot_entry_id": lot.entry_id,
                       "member_id": member_id, "points": take, "booked_at": op.now})
    tx.queue(_INSERT_ALLOCATIONS, allocs)
    return entry_id, [{"lot_entry_id": a["lot_entry_id"], "points": a["points"]}
                      for a in allocs], 0 if clawback else left


def state(conn: Connection, member_id: str, now: datetime, need: int | None = 0
          ) -> tuple[list[Lot], list[tuple[int, int]], dict[str, int], dict[str, int]]:
    """What a write for the member reads first, in one query: its open lots (oldest first),
    uncovered debits (entry id, points owed), entry sums by kind and sign, and the points
    held in all its open lots at `now`, ``{"active": ..., "pending": ..., "lapsed": ...}``
    (`_bucket`).

    The lots are those due to expire at `now` and the oldest spendable ones holding `need`
    points (all spendable lots if they hold fewer), so that a write's work does not grow
    with a member's history; every open lot when `need` is None. All empty (and zero) for
    a member with no entries, or none at all.
    """
    if need is None:
        rows = Tx.of(conn).rows(STATE_ALL, {"member_id": member_id, "now": now})
    else:
        rows = Tx.of(conn).rows(STATE, {"member_id": member_id, "now": now, "need": need})
    open_lots, debts, sums, held = [], [], {}, {"active": 0, "pending": 0, "lapsed": 0}
    for r in rows:
        if r.tag == 0:
            # int(): the union's points column is numeric on PostgreSQL (the sums' type)
            points = int(r.points)
            open_lots.append(Lot(r.entry_id, r.kind, points, points - int(r.n),
                                 r.booked_at, r.matures_at or r.booked_at, r.expires_at))
        elif r.tag == 1:
            debts.append((r.entry_id, int(r.n)))
        elif r.tag == 2:
            sums[r.kind + ("+" if r.entry_id else "-")] = int(r.points or 0)
        else:
            held["active"], held["pending"] = int(r.points or 0), int(r.n or 0)
    held["lapsed"] = sum(lot.remaining for lot in open_lots if _bucket(lot, now) == "lapsed")
    return open_lots, debts, sums, held


def _bucket(lot: Lot, now: datetime) -> str:
    return bucket(lot.matures_at, lot.expires_at, now)


def bucket(matures_at: datetime, expires_at: datetime | None, now: datetime) -> str:
    """Where a lot's points count in a balance at `now`: ``lapsed`` once past its expiry
    date (until an expiry is booked for them), else ``active`` once mature, else
    ``pending``."""
    if expires_at is not None and expires_at <= now:
        return "lapsed"
    return "active" if matures_at <= now else "pending"


def housekeep(conn: Connection, op: Operation, member_id: str,
              done: dict[str, int] | None = None, need: int | None = 0) -> list[Lot]:
    """Expire the member's lots past their date, then pay owed points from active lots.

    Runs at the start of every write for the member (under its lock) and in the expiry job.
    Returns the member's lots with points left (as now consumed): those `state` reads for
    `need`, the points the write will then take from them (None: every open lot). Counts go
    to `done`; the member's entry sums and held points, kept current from here on, to `op`.
    """
    expired = 0
    open_lots, debts, sums, held = state(conn, member_id, op.now, need)
    owed = sum(n for _, n in debts)
    if owed and need is not None:
        # owed points are paid first, from the oldest active lots: read enough for both
        # (only a refund of spent points under the "negative" policy leaves a debt)
        open_lots, debts, sums, held = state(conn, member_id, op.now, need + owed)
    op.sums, op.held, op.sums_member = sums, held, member_id
    for lot in open_lots:
        if lot.expires_at is not None and lot.expires_at <= op.now and lot.remaining > 0:
            n = lot.remaining
            book_debit(conn, op, member_id, "expire", n,
                       f"expired: {lot.kind} lot {lot.entry_id} of {lot.booked_at:%Y-%m-%d} "
                       f"reached its expiry date {lot.expires_at:%Y-%m-%d}", [lot])
            expired += n
    # an expiry booked above is covered by its own lot: the debts read before it are still
    # all the uncovered debits
    settled = 0
    if debts:
        active = [lot for lot in open_lots if lot.remaining > 0 and lot.matures_at <= op.now]
        rows = []
        for debit_id, owed in debts:
            for lot in active:
                take = min(owed, lot.remaining)
                if take:
                    rows.append({"debit_entry_id": debit_id, "lot_entry_id": lot.entry_id,
                                 "member_id": member_id, "points": take, "booked_at": op.now})
                    lot.remaining -= take
                    op.moved(member_id, "active", -take)
                    owed -= take
                    settled += take
                if owed == 0:
                    break
        Tx.of(conn).queue(_INSERT_ALLOCATIONS, rows)
    if done is not None:
        done.update(expired=expired, settled=settled)
    return [lot for lot in open_lots if lot.remaining > 0]


def _spendable(open_lots: list[Lot], now: datetime) -> list[Lot]:
    return [lot for lot in open_lots if lot.remaining > 0 and lot.matures_at <= now]


def redeem(conn: Connection, op: Operation, member_id: str, points: int, reason: str,
           partner_id: str | None = None, source_txn: str | None = None) -> dict[str, Any]:
    """Spend `points` from the member's active lots, oldest first; 409 when short."""
    if points <= 0:
        raise InputError(f"points to redeem must be a positive whole number, got {points}")
    open_lots = housekeep(conn, op, member_id, need=points)
    sources = _spendable(open_lots, op.now)   # the oldest, holding `points` if `have` does
    have = op.held_of(member_id)["active"]
    if points > have:
        raise InsufficientPointsError(
            f"member {member_id!r} has {have} active points; redeeming {points} needs "
            f"{points - have} more. Pending points become active after the return window.")
    entry_id, consumed, _ = book_debit(conn, op, member_id, "redeem", points, reason, sources,
                                       partner_id=partner_id, source_txn=source_txn)
    return {"member_id": member_id, "points": points, "entry_id": entry_id,
            "consumed": consumed, "balance": current_balance(conn, op, member_id)}


def adjust(conn: Connection, op: Operation, member_id: str, points: int, reason: str,
           policy: Policy) -> dict[str, Any]:
    """A manual correction: a new lot (points > 0) or a debit from active lots (< 0)."""
    if points == 0:
        raise InputError("an adjustment of 0 points books nothing; give a non-zero number")
    if not reason.strip():
        raise InputError("an adjustment needs a reason (who asked and why)")
    open_lots = housekeep(conn, op, member_id, need=max(-points, 0))
    if points > 0:
        entry_id = book_credit(conn, op, member_id, "adjust", points, reason,
                               expires_at=policy.expires(op.now))
        consumed = []
        _pay_owed(conn, op, member_id)
    else:
        entry_id, consumed, _ = book_debit(conn, op, member_id, "adjust", -points, reason,
                                           _spendable(open_lots, op.now))
    return {"member_id": member_id, "points": points, "entry_id": entry_id,
            "consumed": consumed, "balance": current_balance(conn, op, member_id)}


def current_balance(conn: Connection, op: Operation, member_id: str) -> dict[str, int]:
    """The member's balance as the operation leaves it, from what its housekeeping read and
    what it booked since (no read)."""
    return balance(conn, member_id, op.now, op.held_of(member_id), op.sums_of(member_id))


def _pay_owed(conn: Connection, op: Operation, member_id: str) -> None:
    """After a credit that is not yet due to expire: if the member owes points, pay them
    now, the new lot included (housekeeping again); otherwise there is nothing to do and
    nothing to read."""
    if current_balance(conn, op, member_id)["negative"] > 0:
        housekeep(conn, op, member_id)


def _reversed(conn: Connection, entry_id: int) -> int:
    """Points of an earn entry already reversed (booked plus clawed back)."""
    return int(conn.execute(select(
        func.coalesce(func.sum(-E.c.points + E.c.clawback_points), 0)).where(
        E.c.reverses_entry_id == entry_id, E.c.kind == "reverse")).scalar_one())


def refund(conn: Connection, op: Operation, member_id: str, earn_op: Any, refund_cents: int,
           refunded_before: int, policy: Policy) -> dict[str, Any]:
    """Reverse the points a purchase earned, in proportion to the amount refunded.

    After refunds totalling :math:`R` of a sale of amount :math:`S`, each earn entry of
    :math:`p` points is reversed down to :math:`\\lfloor p R / S \\rfloor` in all, so
    partial refunds add up to exactly the points of a full one. The reversal takes the
    entry's own lot first (pending or not), then other active lots oldest first; what is
    still uncovered becomes a negative balance or clawback, by `policy.refund_shortfall`.
    """
    original = int(earn_op.amount_cents)
    cumulative = refunded_before + refund_cents
    open_lots = housekeep(conn, op, member_id, need=None)   # its own lot may be pending
    earned = conn.execute(select(E).where(E.c.op_id == earn_op.op_id, E.c.kind == "earn",
                                          E.c.member_id == member_id)
                          .order_by(E.c.entry_id)).all()
    entries, clawback, negative = [], 0, 0
    for e in earned:
        target = e.points if original == 0 else (e.points * cumulative) // original
        delta = target - _reversed(conn, e.entry_id)
        if delta <= 0:
            continue
        own = [lot for lot in open_lots if lot.entry_id == e.entry_id]
        others = [lot for lot in open_lots
                  if lot.entry_id != e.entry_id and lot.matures_at <= op.now]
        entry_id, consumed, uncovered = book_debit(
            conn, op, member_id, "reverse", delta,
            f"refund of {refund_cents / 100:.2f} on transaction {e.source_txn}: reverses "
            f"entry {e.entry_id}", own + others,
            allow_uncovered=policy.refund_shortfall == "negative",
            clawback=policy.refund_shortfall == "clawback",
            reverses_entry_id=e.entry_id, source_txn=e.source_txn, partner_id=e.partner_id)
        row = conn.execute(select(E.c.points, E.c.clawback_points)
                           .where(E.c.entry_id == entry_id)).one()
        clawback += row.clawback_points
        negative += uncovered
        entries.append({"entry_id": entry_id, "reverses_entry_id": e.entry_id,
                        "points": row.points, "clawback_points": row.clawback_points,
                        "consumed": consumed})
    return {"member_id": member_id, "transaction_id": earn_op.source_txn,
            "refund_amount": f"{refund_cents / 100:.2f}",
            "points_reversed": -sum(x["points"] for x in entries),
            "clawback_points": clawback,
            "clawback_amount": f"{clawback * policy.point_value:.2f}",
            "owed_points": negative, "entries": entries,
            "balance": current_balance(conn, op, member_id)}


def reverse_redemption(conn: Connection, op: Operation, member_id: str, redeem_op_id: int,
                       reason: str) -> dict[str, Any]:
    """Give back a redemption's points as a new lot expiring when its oldest source would."""
    found = conn.execute(select(E).where(E.c.op_id == redeem_op_id, E.c.kind == "redeem",
                                         E.c.member_id == member_id)).first()
    if found is None:
        raise NotFoundError(f"operation {redeem_op_id} is not a redemption of member "
                            f"{member_id!r}; pass the operation_id a redeem answered with")
    already = conn.execute(select(func.count()).where(
        E.c.reverses_entry_id == found.entry_id)).scalar_one()
    if already:
        raise ConflictError(f"redemption {redeem_op_id} of member {member_id!r} was already "
                            "reversed; its points are not given back twice")
    housekeep(conn, op, member_id)
    expiries = conn.execute(select(E.c.expires_at).join(
        allocations, and_(allocations.c.lot_entry_id == E.c.entry_id,
                          allocations.c.debit_entry_id == found.entry_id))).scalars().all()
    dated = [x for x in expiries if x is not None]
    entry_id = book_credit(conn, op, member_id, "reverse", -found.points,
                           f"{reason}: cancels redemption entry {found.entry_id}",
                           expires_at=min(dated) if dated else None,
                           reverses_entry_id=found.entry_id, partner_id=found.partner_id)
    # the new lot may be past its date already (its sources' expiry): expire it, and pay
    # what the member owes from it
    housekeep(conn, op, member_id)
    return {"member_id": member_id, "points": -found.points, "entry_id": entry_id,
            "reverses_entry_id": found.entry_id, "balance": current_balance(conn, op, member_id)}


def audit(conn: Connection) -> list[dict[str, Any]]:
    """Members whose books do not balance; an empty list means the ledger is consistent.

    Checks: no lot is over-consumed; no debit is over-covered; every allocation links a
    credit and a debit of its own member; every operation's entries belong to its member;
    and per member, the entry sum equals active + pending - negative, with the lots' and
    the debits' remainders computed from the allocations as `lots` and `balance` compute
    them. Each check is one set-based query (no query per member): on PostgreSQL a
    1M-member, 20M-entry ledger is audited in about a minute (bench/RESULTS.md).
    """
    bad = []
    over_lot = conn.execute(
        select(E.c.member_id, E.c.entry_id).join(allocations,
                                                allocations.c.lot_entry_id == E.c.entry_id)
        .group_by(E.c.member_id, E.c.entry_id, E.c.points)
        .having(func.sum(allocations.c.points) > E.c.points)).all()
    bad += [{"member_id": m, "problem": f"lot {e} over-consumed"} for m, e in over_lot]
    over_debit = conn.execute(
        select(E.c.member_id, E.c.entry_id).join(allocations,
                                                allocations.c.debit_entry_id == E.c.entry_id)
        .group_by(E.c.member_id, E.c.entry_id, E.c.points)
        .having(func.sum(allocations.c.points) > -E.c.points)).all()
    bad += [{"member_id": m, "problem": f"debit {e} over-covered"} for m, e in over_debit]
    lot, debit, a = E.alias("lot"), E.alias("debit"), allocations
    misplaced = conn.execute(
        select(a.c.member_id, a.c.allocation_id, a.c.lot_entry_id, a.c.debit_entry_id)
        .join(lot, lot.c.entry_id == a.c.lot_entry_id)
        .join(debit, debit.c.entry_id == a.c.debit_entry_id)
        .where(or_(lot.c.member_id != a.c.member_id, debit.c.member_id != a.c.member_id,
                   lot.c.points <= 0, debit.c.points >= 0))
        .order_by(a.c.allocation_id)).all()
    bad += [{"member_id": m, "problem": f"allocation {i} does not take lot {lot_id} for "
             f"debit {debit_id} of its member"} for m, i, lot_id, debit_id in misplaced]
    foreign = conn.execute(
        select(E.c.entry_id).join(operations, operations.c.op_id == E.c.op_id)
        .where(operations.c.member_id != E.c.member_id)).scalars().all()
    bad += [{"member_id": None, "problem": f"entry {e} not of its operation's member"}
            for e in foreign]
    for member_id, total, lot_sum, owed in conn.execute(_BOOKS):
        bad.append({"member_id": member_id,
                    "problem": f"entries sum to {int(total)}, lots hold {int(lot_sum)} and "
                               f"{int(owed)} is owed"})
    return bad


def _books():
    """Members whose entry sum differs from what their open lots hold less what they owe:
    (member_id, entry sum, open lots' points, points owed), in one query."""
    a = allocations
    used = (select(a.c.lot_entry_id.label("entry_id"), a.c.member_id,
                   func.sum(a.c.points).label("n"))
            .group_by(a.c.lot_entry_id, a.c.member_id).subquery("used"))
    covered = (select(a.c.debit_entry_id.label("entry_id"), a.c.member_id,
                      func.sum(a.c.points).label("n"))
               .group_by(a.c.debit_entry_id, a.c.member_id).subquery("covered"))
    left = E.c.points - func.coalesce(used.c.n, 0)          # what a lot has left
    uncovered = -E.c.points - func.coalesce(covered.c.n, 0)   # what a debit still owes
    open_part = case((and_(E.c.points > 0, left > 0), left), else_=0)
    owed_part = case((and_(E.c.points < 0, uncovered > 0), uncovered), else_=0)
    total, lot_sum, owed = (func.sum(E.c.points), func.sum(open_part), func.sum(owed_part))
    return (select(E.c.member_id, total.label("total"), lot_sum.label("lots"),
                   owed.label("owed"))
            .outerjoin(used, and_(used.c.entry_id == E.c.entry_id,
                                  used.c.member_id == E.c.member_id))
            .outerjoin(covered, and_(covered.c.entry_id == E.c.entry_id,
                                     covered.c.member_id == E.c.member_id))
            .group_by(E.c.member_id)
            .having(total != lot_sum - owed)
            .order_by(E.c.member_id))


_BOOKS = _books()
