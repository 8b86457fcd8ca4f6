"""Partner merchants: earn and burn rates with validity dates, monthly settlement.

A partner pays the programme ``earn_rate`` (money per point) for every point its customers
earn at it, and is paid ``burn_rate`` for every point redeemed at it. The monthly settlement
of partner :math:`k` for month :math:`M` is

.. math::

    I = \\sum_{e \\in \\text{earn}_k(M)} p_e\\, r^{earn}_{k}(d_e), \\qquad
    B = \\sum_{e \\in \\text{redeem}_k(M)} |p_e|\\, r^{burn}_{k}(d_e),

with each entry priced at the rate valid on its booking day :math:`d_e`; refunds and
cancelled redemptions count against the month they are booked in. Amounts are rounded
half-up to cents once, on the month's total. A batch is written once per partner and month
(after the month has ended) and never changes: settling again returns the same batch.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from cvm.errors import ConflictError, InputError, NotFoundError
from cvm.store.tables import ledger_entries as E
from cvm.store.tables import partner_rates, partners, settlement_batches

__all__ = ["PARTNER_ID", "add_partner", "add_rate", "rate_on", "get_partner", "list_partners",
           "require_member_proof", "settle", "batches", "transactions", "month_bounds"]


#: what a new partner's id may be: 1 to 64 letters, digits, ``.``, ``_``, ``@`` and ``-``,
#: starting with a letter or digit (no ``:``, the separator of sale keys, and never ``-``,
#: which stands for the company's own tills in them)
PARTNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def add_partner(conn: Connection, partner_id: str, name: str, now: datetime, *,
                require_member_proof: bool = True) -> dict[str, Any]:
    """Add a partner; by default its keys must show a member's card token or one-time code
    to read a balance or statement or to redeem (`cvm.programme.proofs`)."""
    if not isinstance(partner_id, str) or not PARTNER_ID.fullmatch(partner_id):
        raise InputError(f"partner id {partner_id!r} must be 1 to 64 letters, digits, '.', "
                         "'_', '@' or '-', starting with a letter or digit")
    if conn.execute(select(partners).where(partners.c.partner_id == partner_id)).first():
        raise ConflictError(f"partner {partner_id!r} already exists")
    conn.execute(insert(partners).values(partner_id=partner_id, name=name, created_at=now,
                                         require_member_proof=bool(require_member_proof)))
    return {"partner_id": partner_id, "name": name,
            "require_member_proof": bool(require_member_proof)}


def get_partner(conn: Connection, partner_id: str) -> dict[str, Any]:
    row = conn.execute(select(partners).where(partners.c.partner_id == partner_id)).first()
    if row is None:
        raise NotFoundError(f"partner {partner_id!r} not found")
    rates = conn.execute(select(partner_rates).where(partner_rates.c.partner_id == partner_id)
                         .order_by(partner_rates.c.valid_from)).mappings().all()
    return {"partner_id": row.partner_id, "name": row.name,
            "require_member_proof": row.require_member_proof,
            "rates": [{"earn_rate": str(r["earn_rate"]), "burn_rate": str(r["burn_rate"]),
                       "valid_from": r["valid_from"], "valid_to": r["valid_to"]}
                      for r in rates]}


def list_partners(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(
        partners.c.partner_id, partners.c.name, partners.c.require_member_proof)
        .order_by(partners.c.partner_id)).mappings()]


def require_member_proof(conn: Connection, partner_id: str, required: bool) -> dict[str, Any]:
    """Whether the partner's keys must show a member's proof of presence (404 if unknown);
    answers the partner as `get_partner` does."""
    get_partner(conn, partner_id)
    conn.execute(update(partners).where(partners.c.partner_id == partner_id)
                 .values(require_member_proof=bool(required)))
    return get_partner(conn, partner_id)


def add_rate(conn: Connection, partner_id: str, earn_rate: Any, burn_rate: Any,
             valid_from: date, valid_to: date | None = None) -> None:
    """Add a rate period; it may not overlap the partner's other periods."""
    get_partner(conn, partner_id)
    earn, burn = Decimal(str(earn_rate)), Decimal(str(burn_rate))
    if earn < 0 or burn < 0:
        raise InputError(f"partner {partner_id!r}: rates must be >= 0")
    if valid_to is not None and valid_to < valid_from:
        raise InputError(f"rate valid_to {valid_to} is before valid_from {valid_from}")
    for r in conn.execute(select(partner_rates).where(partner_rates.c.partner_id == partner_id)):
        if (r.valid_to is None or r.valid_to >= valid_from) and (
                valid_to is None or valid_to >= r.valid_from):
            raise ConflictError(
                f"partner {partner_id!r}: rate from {valid_from} overlaps the rate valid "
                f"{r.valid_from} to {r.valid_to or 'open'}; end that one first")
    conn.execute(insert(partner_rates).values(partner_id=partner_id, earn_rate=earn,
                                              burn_rate=burn, valid_from=valid_from,
                                              valid_to=valid_to))


def rate_on(rates: list[Any], day: date) -> Any | None:
    for r in rates:
        if r.valid_from <= day and (r.valid_to is None or day <= r.valid_to):
            return r
    return None


def month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
        end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    except ValueError:   # not a month, or 9999-12 (its end is past the last datetime)
        raise InputError(f"month {month!r} must be YYYY-MM, before 9999-12") from None
    return start, end


def _batch(row: Any) -> dict[str, Any]:
    return {"batch_id": row.batch_id, "partner_id": row.partner_id, "month": row.month,
            "issued_points": row.issued_points, "issued_amount": f"{row.issued_cents / 100:.2f}",
            "redeemed_points": row.redeemed_points,
            "redeemed_amount": f"{row.redeemed_cents / 100:.2f}",
            "net_amount": f"{row.net_cents / 100:.2f}", "created_at": row.created_at}


def settle(conn: Connection, partner_id: str, month: str, now: datetime) -> dict[str, Any]:
    """The partner's settlement batch for a finished month (made on first call, then fixed)."""
    get_partner(conn, partner_id)
    start, end = month_bounds(month)
    found = conn.execute(select(settlement_batches).where(
        settlement_batches.c.partner_id == partner_id,
        settlement_batches.c.month == month)).first()
    if found is not None:
        return _batch(found)
    if now < end:
        raise InputError(f"month {month} has not ended yet; settle it from {end:%Y-%m-%d}")
    rates = conn.execute(select(partner_rates).where(partner_rates.c.partner_id == partner_id)
                         .order_by(partner_rates.c.valid_from)).all()
    rows = conn.execute(select(E.c.kind, E.c.points, E.c.clawback_points, E.c.booked_at,
                               E.c.reverses_entry_id).where(
        E.c.partner_id == partner_id, E.c.booked_at >= start, E.c.booked_at < end,
        E.c.kind.in_(("earn", "redeem", "reverse")))).all()
    issued_pts = redeemed_pts = 0
    issued = redeemed = Decimal(0)
    for r in rows:
        rate = rate_on(rates, r.booked_at.date())
        if rate is None:
            raise InputError(f"partner {partner_id!r} has no rate valid on "
                             f"{r.booked_at:%Y-%m-%d}; add one before settling {month}")
        if r.kind == "earn" or (r.kind == "reverse" and r.points <= 0):
            pts = r.points - (r.clawback_points or 0)   # a refund reverses issued points
            issued_pts += pts
            issued += pts * rate.earn_rate
        else:
            pts = -r.points                               # redeem < 0; cancelled redeem > 0
            redeemed_pts += pts
            redeemed += pts * rate.burn_rate
    cents = {k: int((v * 100).quantize(Decimal(1), ROUND_HALF_UP))
             for k, v in (("issued", issued), ("redeemed", redeemed))}
    conn.execute(insert(settlement_batches).values(
        partner_id=partner_id, month=month, issued_points=issued_pts,
        issued_cents=cents["issued"], redeemed_points=redeemed_pts,
        redeemed_cents=cents["redeemed"], net_cents=cents["issued"] - cents["redeemed"],
        created_at=now))
    return settle(conn, partner_id, month, now)


def batches(conn: Connection, partner_id: str) -> list[dict[str, Any]]:
    """The partner's settlement batches by month (404 if the partner is unknown)."""
    get_partner(conn, partner_id)
    return [_batch(r) for r in conn.execute(
        select(settlement_batches).where(settlement_batches.c.partner_id == partner_id)
        .order_by(settlement_batches.c.month))]


def transactions(conn: Connection, partner_id: str, *, limit: int = 100,
                 after: int = 0) -> list[dict[str, Any]]:
    """Ledger entries booked at the partner, in booking order from entry id `after` on, at
    most `limit` (404 if the partner is unknown)."""
    get_partner(conn, partner_id)
    return [dict(r) for r in conn.execute(
        select(E.c.entry_id, E.c.member_id, E.c.kind, E.c.points, E.c.source_txn,
               E.c.booked_at, E.c.reason)
        .where(E.c.partner_id == partner_id, E.c.entry_id > after)
        .order_by(E.c.entry_id).limit(limit)).mappings()]
