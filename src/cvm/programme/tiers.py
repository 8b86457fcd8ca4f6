"""Membership tiers: qualification in a window, downgrade after grace, floors, history.

A member qualifies for the highest tier (not invitation-only) whose ``threshold`` their
qualifying value reaches. The value is, by ``tier_basis``, the net spend (purchases less
refunds, in cents; redemptions never count) or the points earned net of refunds, inside
the tier window ending on the evaluation day: the last ``tier_window_months`` months
(rolling), the calendar year to date, or the membership year since the last anniversary
of joining.

A *floor* (a manual or invitation tier) is a tier the member never drops below. The tier
job moves a member up at once; a member below their tier's threshold keeps it for
``grace_days`` after first falling below, then moves one tier down (``one_down``) or to the
tier the window supports (``to_qualified``). Every change is appended to ``tier_history``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from cvm._time import add_months
from cvm.errors import InputError, NotFoundError
from cvm.programme.idempotency import lock_member
from cvm.programme.proofs import no_member
from cvm.store.tables import ledger_entries as E
from cvm.store.tables import members, operations, tier_history, tiers

__all__ = ["define_tier", "list_tiers", "ranks", "window", "qualifying_value", "qualifying_values",
           "evaluate",
           "member_ids", "evaluate_all", "set_floor", "benefits", "history"]


def define_tier(conn: Connection, code: str, *, rank: int, threshold: int, name: str = "",
                multiplier: Any = 1, invitation_only: bool = False,
                benefits: dict[str, Any] | None = None) -> None:
    """Add or replace a tier. `threshold` is in cents (spend basis) or points."""
    if threshold < 0 or rank < 0:
        raise InputError(f"tier {code!r}: rank and threshold must be >= 0")
    if Decimal(str(multiplier)) <= 0:
        raise InputError(f"tier {code!r}: multiplier must be > 0, got {multiplier}")
    values = dict(name=name or code.title(), rank=rank, threshold=threshold,
                  multiplier=Decimal(str(multiplier)), invitation_only=invitation_only,
                  benefits=benefits or {})
    if conn.execute(select(tiers.c.code).where(tiers.c.code == code)).first():
        conn.execute(update(tiers).where(tiers.c.code == code).values(**values))
    else:
        conn.execute(insert(tiers).values(code=code, **values))


def list_tiers(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(tiers).order_by(tiers.c.rank)).mappings().all()
    return [dict(r, multiplier=str(r["multiplier"])) for r in rows]


def window(member: Any, on: date, settings: Any) -> tuple[datetime, datetime]:
    """[start, end) of the tier window for a member evaluated on day `on`."""
    end = datetime(on.year, on.month, on.day, tzinfo=UTC) + timedelta(days=1)
    if settings.tier_window == "calendar_year":
        start = datetime(on.year, 1, 1, tzinfo=UTC)
    elif settings.tier_window == "anniversary":
        joined = datetime(member.joined_on.year, member.joined_on.month,
                          member.joined_on.day, tzinfo=UTC)
        years = on.year - joined.year
        start = add_months(joined, 12 * years)
        if start >= end:
            start = add_months(joined, 12 * (years - 1))
    else:
        start = add_months(end, -settings.tier_window_months)
    return start, end


def qualifying_value(conn: Connection, member: Any, on: date, settings: Any) -> int:
    """Net spend in cents, or net points earned, in the member's tier window."""
    start, end = window(member, on, settings)
    if settings.tier_basis == "spend":
        q = select(func.coalesce(func.sum(operations.c.amount_cents), 0)).where(
            operations.c.member_id == member.member_id,
            operations.c.kind.in_(("earn", "refund")),
            operations.c.created_at >= start, operations.c.created_at < end)
    else:
        earned = E.c.points - func.coalesce(E.c.clawback_points, 0)
        q = select(func.coalesce(func.sum(earned), 0)).where(
            E.c.member_id == member.member_id, E.c.booked_at >= start, E.c.booked_at < end,
            (E.c.kind == "earn") | ((E.c.kind == "reverse") & (E.c.points <= 0)))
    return int(conn.execute(q).scalar_one())


def qualifying_values(conn: Connection, rows: list[Any], on: date,
                      settings: Any) -> dict[str, int]:
    """`qualifying_value` for many members at once (one query unless windows differ)."""
    if settings.tier_window == "anniversary":
        return {m.member_id: qualifying_value(conn, m, on, settings) for m in rows}
    if not rows:
        return {}
    start, end = window(rows[0], on, settings)
    ids = [m.member_id for m in rows]
    if settings.tier_basis == "spend":
        q = (select(operations.c.member_id, func.sum(operations.c.amount_cents))
             .where(operations.c.member_id.in_(ids),
                    operations.c.kind.in_(("earn", "refund")),
                    operations.c.created_at >= start, operations.c.created_at < end)
             .group_by(operations.c.member_id))
    else:
        q = (select(E.c.member_id, func.sum(E.c.points - func.coalesce(E.c.clawback_points, 0)))
             .where(E.c.member_id.in_(ids), E.c.booked_at >= start, E.c.booked_at < end,
                    (E.c.kind == "earn") | ((E.c.kind == "reverse") & (E.c.points <= 0)))
             .group_by(E.c.member_id))
    return {m: int(v or 0) for m, v in conn.execute(q)}


def progress(conn: Connection, on: date, settings: Any) -> list[dict[str, Any]]:
    """Every active member's way to the next tier open to them (not invitation-only) on
    day ``on``: the current tier, the next one, the qualifying value so far in the tier
    window and what is missing (``gap``, in the threshold's unit: cents of spend or
    points, by ``tier_basis``). Members at the top have no next tier."""
    ladder = [t for t in ranks(conn).values() if not t.invitation_only]
    rows = conn.execute(select(members.c.member_id, members.c.joined_on, members.c.tier_code)
                        .where(members.c.status == "active")
                        .order_by(members.c.member_id)).all()
    rank = {t.code: t.rank for t in ranks(conn).values()}
    values = qualifying_values(conn, rows, on, settings)
    out = []
    for m in rows:
        current = rank.get(m.tier_code, -1)
        nxt = next((t for t in ladder if t.rank > current), None)
        q = values.get(m.member_id, 0)
        out.append({"member_id": m.member_id, "tier": m.tier_code,
                    "next_tier": nxt.code if nxt else None, "qualifying": q,
                    "next_threshold": nxt.threshold if nxt else None,
                    "gap": max(nxt.threshold - q, 0) if nxt else None})
    return out


def member_counts(conn: Connection) -> dict[str | None, int]:
    """Active members per tier code (None: in no tier yet), one GROUP BY."""
    rows = conn.execute(select(members.c.tier_code, func.count())
                        .where(members.c.status == "active")
                        .group_by(members.c.tier_code)).all()
    return {code: int(n) for code, n in rows}


def ranks(conn: Connection) -> dict[str | None, Any]:
    out = {r.code: r for r in conn.execute(select(tiers).order_by(tiers.c.rank))}
    return out


def _rank(table: dict, code: str | None) -> int:
    return -1 if code is None else table[code].rank


class TierWrites:
    """The writes of a tier job batch, made at the end in three statements (`flush`) instead
    of one or two per member."""

    _SET_TIER = (update(members).where(members.c.member_id == bindparam("b_member"))
                 .values(tier_code=bindparam("b_tier"), tier_since=bindparam("b_on"),
                         below_since=None))
    _SET_BELOW = (update(members).where(members.c.member_id == bindparam("b_member"))
                  .values(below_since=bindparam("b_below")))

    def __init__(self) -> None:
        self.tiers: list[dict[str, Any]] = []
        self.below: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []

    def flush(self, conn: Connection) -> None:
        if self.tiers:
            conn.execute(self._SET_TIER, self.tiers)
        if self.below:
            conn.execute(self._SET_BELOW, self.below)
        if self.history:
            conn.execute(insert(tier_history), self.history)
        self.tiers, self.below, self.history = [], [], []


def _set_below(conn: Connection, member: Any, below: date | None,
               writes: TierWrites | None) -> None:
    if writes is not None:
        writes.below.append({"b_member": member.member_id, "b_below": below})
    else:
        conn.execute(update(members).where(members.c.member_id == member.member_id)
                     .values(below_since=below))


def _change(conn: Connection, member: Any, new: str | None, on: date, reason: str,
            now: datetime, writes: TierWrites | None = None) -> dict[str, Any]:
    row = {"member_id": member.member_id, "previous_code": member.tier_code, "tier_code": new,
           "changed_on": on, "reason": reason[:300], "created_at": now}
    if writes is not None:
        writes.tiers.append({"b_member": member.member_id, "b_tier": new, "b_on": on})
        writes.history.append(row)
    else:
        conn.execute(update(members).where(members.c.member_id == member.member_id).values(
            tier_code=new, tier_since=on, below_since=None))
        conn.execute(insert(tier_history).values(**row))
    return {"member_id": member.member_id, "from": member.tier_code, "to": new,
            "reason": reason}


def evaluate(conn: Connection, member: Any, on: date, settings: Any, now: datetime, *,
             value: int | None = None, table: dict | None = None,
             writes: TierWrites | None = None) -> dict[str, Any] | None:
    """Apply the tier rules to one (locked) member for day `on`; the change made, if any.

    `value` and `table` (the tiers by code) may be given when evaluating many members, and
    `writes` to collect the updates for one `TierWrites.flush` per batch.
    """
    table = ranks(conn) if table is None else table
    if value is None:
        value = qualifying_value(conn, member, on, settings)
    unit = "spend" if settings.tier_basis == "spend" else "points"
    shown = f"{value / 100:.2f}" if unit == "spend" else str(value)
    qualified = None
    for t in table.values():
        if not t.invitation_only and value >= t.threshold:
            qualified = t.code
    target = qualified
    if _rank(table, member.floor_tier_code) > _rank(table, target):
        target = member.floor_tier_code
    current = member.tier_code
    if _rank(table, target) > _rank(table, current):
        why = (f"floor tier {target}" if target == member.floor_tier_code and target != qualified
               else f"qualified: {unit} {shown} in window reaches {target}")
        return _change(conn, member, target, on, why, now, writes)
    if _rank(table, target) == _rank(table, current):
        if member.below_since is not None:
            _set_below(conn, member, None, writes)
        return None
    below = member.below_since or on
    if (on - below).days < settings.grace_days:
        if member.below_since is None:
            _set_below(conn, member, on, writes)
        return None
    if settings.downgrade_policy == "one_down":
        lower = [t for t in table.values() if t.rank < _rank(table, current)
                 and (not t.invitation_only or t.code == member.floor_tier_code)]
        new = lower[-1].code if lower else None
        if _rank(table, new) < _rank(table, target):
            new = target
    else:
        new = target
    return _change(conn, member, new, on,
                   f"downgrade after {settings.grace_days} days' grace: {unit} {shown} in "
                   f"window below {current} ({settings.downgrade_policy})", now, writes)


def member_ids(conn: Connection) -> list[str]:
    """Every member's id, in order (the tier job's batches)."""
    return list(conn.execute(select(members.c.member_id)
                             .order_by(members.c.member_id)).scalars().all())


def evaluate_all(conn: Connection, member_ids: list[str], on: date, settings: Any,
                 now: datetime) -> list[dict[str, Any]]:
    """The tier job for a batch of members on day `on`: their rows locked, their values read
    in one query, their changes written together; returns the changes."""
    rows = conn.execute(select(members).where(members.c.member_id.in_(member_ids))
                        .order_by(members.c.member_id).with_for_update()).all()
    values = qualifying_values(conn, rows, on, settings)
    table = ranks(conn)
    writes = TierWrites()
    out = []
    for member in rows:
        change = evaluate(conn, member, on, settings, now, value=values.get(member.member_id, 0),
                          table=table, writes=writes)
        if change is not None:
            out.append(change)
    writes.flush(conn)
    return out


def set_floor(conn: Connection, member_id: str, tier_code: str | None, on: date, reason: str,
              settings: Any, now: datetime) -> dict[str, Any] | None:
    """Give a member a manual or invitation tier as a floor (None removes it), then re-rate."""
    member = lock_member(conn, member_id)
    if tier_code is not None and conn.execute(
            select(tiers.c.code).where(tiers.c.code == tier_code)).first() is None:
        raise NotFoundError(f"tier {tier_code!r} not found; list tiers with GET /api/v1/tiers")
    conn.execute(update(members).where(members.c.member_id == member_id)
                 .values(floor_tier_code=tier_code))
    member = lock_member(conn, member_id)
    change = evaluate(conn, member, on, settings, now)
    if change is not None:
        return dict(change, reason=f"{reason} ({change['reason']})")
    return None


def benefits(conn: Connection, member_id: str) -> dict[str, Any]:
    """The member's tier and its benefits (multiplier, free services, service level)."""
    row = conn.execute(select(members.c.tier_code, tiers.c.multiplier, tiers.c.benefits)
                       .select_from(members.outerjoin(tiers, tiers.c.code == members.c.tier_code))
                       .where(members.c.member_id == member_id)).first()
    if row is None:
        raise no_member(member_id)
    return {"tier": row.tier_code, "multiplier": str(row.multiplier or 1),
            **(row.benefits or {})}


def history(conn: Connection, member_id: str) -> list[dict[str, Any]]:
    """Every tier change of the member, oldest first (404 if not a member)."""
    if conn.execute(select(members.c.member_id)
                    .where(members.c.member_id == member_id)).first() is None:
        raise no_member(member_id)
    rows = conn.execute(select(tier_history).where(tier_history.c.member_id == member_id)
                        .order_by(tier_history.c.change_id)).mappings().all()
    return [dict(r) for r in rows]
