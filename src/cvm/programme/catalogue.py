"""The redemption catalogue: items a member buys with points, some from a tier up.

An item has a price in points and, optionally, the lowest tier (``min_tier_code``) that may
redeem it; an inactive item is kept for the statements that name it but cannot be bought.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from cvm.errors import NotFoundError, PermissionDeniedError
from cvm.store.tables import catalogue, tiers

__all__ = ["items", "put_item", "price"]


def items(conn: Connection) -> list[dict[str, Any]]:
    """Every item, by code."""
    return [dict(r) for r in conn.execute(select(catalogue).order_by(catalogue.c.code))
            .mappings()]


def put_item(conn: Connection, code: str, *, name: str, points: int,
             min_tier_code: str | None = None, active: bool = True) -> None:
    """Add an item, or replace the one with this code."""
    values = dict(name=name, points=points, min_tier_code=min_tier_code, active=active)
    if conn.execute(select(catalogue.c.code).where(catalogue.c.code == code)).first():
        conn.execute(update(catalogue).where(catalogue.c.code == code).values(**values))
    else:
        conn.execute(insert(catalogue).values(code=code, **values))


def price(conn: Connection, item: str, member: Any) -> tuple[int, str]:
    """(points, name) of an active item `member` (a members row) may redeem: 404 if the item
    is unknown or inactive, 403 if the member's tier is below the item's."""
    row = conn.execute(select(catalogue).where(catalogue.c.code == item,
                                               catalogue.c.active.is_(True))).first()
    if row is None:
        raise NotFoundError(f"catalogue item {item!r} not found or inactive")
    if row.min_tier_code is not None:
        ranks = dict(conn.execute(select(tiers.c.code, tiers.c.rank)).all())
        if ranks.get(member.tier_code, -1) < ranks[row.min_tier_code]:
            raise PermissionDeniedError(
                f"catalogue item {item!r} needs tier {row.min_tier_code} or "
                f"higher; member {member.member_id!r} is {member.tier_code or 'untiered'}")
    return row.points, row.name
