"""Finance reports: outstanding liability by expiry month, breakage, earn and burn.

* **Liability**: points still held (active and pending lots' remaining points) grouped by
  the month they expire, valued at ``point_value`` money per point. Points past their
  expiry date that no expiry has booked yet are shown as ``lapsed_points`` and left out of
  the liability: they can no longer be spent (the expiry job books them as expired).
* **Breakage**: of the points that have left the books, the share that expired unused,
  :math:`b = E / (E + S)` with :math:`E` expired and :math:`S` spent (net of cancelled
  redemptions); also expired over issued.
* **Earn and burn**: points earned (net of refunds) and redeemed (net of cancellations)
  between two dates, by the member's current tier and the partner where it happened.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from cvm.programme.ledger import bucket
from cvm.store.tables import allocations, members
from cvm.store.tables import ledger_entries as E

__all__ = ["liability", "breakage", "earn_burn"]


def liability(conn: Connection, now: datetime, point_value: float) -> list[dict[str, Any]]:
    used = (select(allocations.c.lot_entry_id, func.sum(allocations.c.points).label("used"))
            .group_by(allocations.c.lot_entry_id).subquery())
    rows = conn.execute(
        select(E.c.points - func.coalesce(used.c.used, 0), E.c.matures_at, E.c.expires_at)
        .outerjoin(used, used.c.lot_entry_id == E.c.entry_id).where(E.c.points > 0))
    out: dict[str, dict[str, int]] = defaultdict(
        lambda: {"active": 0, "pending": 0, "lapsed": 0})
    for remaining, matures, expires in rows:
        remaining = int(remaining)
        if remaining <= 0:
            continue
        month = f"{expires:%Y-%m}" if expires is not None else "never"
        out[month][bucket(matures or now, expires, now)] += remaining
    return [{"expiry_month": m, "active_points": v["active"], "pending_points": v["pending"],
             "points": v["active"] + v["pending"],
             "value": round((v["active"] + v["pending"]) * point_value, 2),
             "lapsed_points": v["lapsed"]}
            for m, v in sorted(out.items())]


def breakage(conn: Connection) -> dict[str, Any]:
    sign = case((E.c.points > 0, "+"), else_="-")
    sums = {k + s: int(v or 0) for k, s, v in conn.execute(
        select(E.c.kind, sign, func.sum(E.c.points)).group_by(E.c.kind, sign)).all()}
    issued = sums.get("earn+", 0) + sums.get("adjust+", 0)
    spent = -sums.get("redeem-", 0) - sums.get("reverse+", 0)
    expired = -sums.get("expire-", 0)
    gone = expired + spent
    return {"issued": issued, "refunded": -sums.get("reverse-", 0), "spent": spent,
            "expired": expired, "breakage_rate": round(expired / gone, 6) if gone else None,
            "expired_share_of_issued": round(expired / issued, 6) if issued else None}


def earn_burn(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    earned = case((E.c.kind == "earn", E.c.points),
                  (((E.c.kind == "reverse") & (E.c.points <= 0)),
                   E.c.points - E.c.clawback_points), else_=0)
    burned = case((E.c.kind == "redeem", -E.c.points),
                  (((E.c.kind == "reverse") & (E.c.points > 0)), -E.c.points), else_=0)
    rows = conn.execute(
        select(members.c.tier_code, E.c.partner_id, func.sum(earned), func.sum(burned))
        .join(members, members.c.member_id == E.c.member_id)
        .where(E.c.booked_at >= start, E.c.booked_at < end)
        .group_by(members.c.tier_code, E.c.partner_id)).all()
    return sorted(({"tier": t, "partner_id": p, "earned": int(a or 0), "burned": int(b or 0)}
                   for t, p, a, b in rows), key=lambda r: (r["tier"] or "", r["partner_id"] or ""))
