"""Earning rules: how many points a purchase earns, and booking them.

A rule's rate is a **step, not a fraction**: "10 points per 100 spent" earns
:math:`\\lfloor a / 100 \\rfloor \\times 10` points on an amount :math:`a`, so 199.99 earns
10 and 200 earns 20 (``step_cents = 10000``, ``points_per_step = 10``). A rule with
``step_cents = 0`` earns a fixed ``points_per_step`` per qualifying purchase (e.g. a
birthday bonus). With ``tier_multiplier`` the rule's points are multiplied by the member's
tier multiplier and rounded down: :math:`\\lfloor m \\cdot p \\rfloor`.

A rule applies when the purchase matches its product, channel and partner (``None``
matches any), its amount reaches ``min_cents`` and its date lies in
``[valid_from, valid_to]`` (a campaign). Limits, checked in this order:

* ``member_limit`` times per member per ``member_limit_period`` (year, month, lifetime);
* ``cap_points`` for all members per ``cap_period`` (the excess is not earned);
* ``budget_points`` over the rule's life (a campaign budget).

Each applying rule books its own earn entry (one lot) whose reason names the rule and the
arithmetic, so a statement shows why every point was given.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select

from cvm.errors import InputError
from cvm.programme.batching import Tx
from cvm.programme.idempotency import Operation
from cvm.programme.ledger import Policy, book_credit, current_balance, housekeep
from cvm.store.tables import ledger_entries as E
from cvm.store.tables import rules, tiers

__all__ = ["define_rule", "list_rules", "rule_points", "earn", "period_start", "to_cents",
           "ACTIVE_RULES", "TIER_MULTIPLIERS"]


#: the largest amount of money taken (1e13, a thousand times the API's limit): its cents and
#: the rules' steps stay within 64-bit integers
MAX_AMOUNT = Decimal(10**13)


def to_cents(amount: Any, what: str = "amount") -> int:
    """Money as whole cents; more than two decimals or a non-number is refused."""
    try:
        d = Decimal(str(amount))
    except ArithmeticError:
        raise InputError(f"{what} {amount!r} is not a number; send e.g. 123.45") from None
    if not d.is_finite() or abs(d) > MAX_AMOUNT or d != d.quantize(Decimal("0.01")):
        raise InputError(f"{what} {amount!r} must be a finite amount of at most {MAX_AMOUNT} "
                         "with at most 2 decimals")
    return int(d * 100)


def define_rule(conn: Connection, code: str, *, points_per_step: int, step: Any = 0,
                name: str | None = None, min_amount: Any = 0, **options: Any) -> int:
    """Add an earning rule; `step` and `min_amount` are money (e.g. 100 for "per 100")."""
    known = {"product", "channel", "partner_id", "tier_multiplier", "valid_from", "valid_to",
             "member_limit", "member_limit_period", "cap_points", "cap_period",
             "budget_points", "active"}
    unknown = set(options) - known
    if unknown:
        raise InputError(f"unknown rule option(s) {sorted(unknown)}; expected some of "
                         f"{sorted(known)}")
    for key in ("member_limit_period", "cap_period"):
        if options.get(key, "year") not in ("year", "month", "lifetime"):
            raise InputError(f"{key} must be year, month or lifetime, got {options[key]!r}")
    values = {"tier_multiplier": True, "member_limit_period": "year", "cap_period": "month",
              "active": True, **options}
    return conn.execute(insert(rules).values(
        code=code, name=name or code, points_per_step=points_per_step,
        step_cents=to_cents(step, "step"), min_cents=to_cents(min_amount, "min_amount"),
        **values).returning(rules.c.rule_id)).scalar_one()


def list_rules(conn: Connection) -> list[dict[str, Any]]:
    """Every earning rule, in the order they were added (the order they apply in)."""
    return [dict(r) for r in conn.execute(select(rules).order_by(rules.c.rule_id)).mappings()]


def rule_points(rule: Any, amount_cents: int, multiplier: Decimal = Decimal(1)) -> int:
    """Points one rule gives on an amount, before limits (see the module's doc)."""
    if amount_cents < rule.min_cents:
        return 0
    if rule.step_cents:
        base = (amount_cents // rule.step_cents) * rule.points_per_step
    else:
        base = rule.points_per_step
    if rule.tier_multiplier:
        return int((Decimal(base) * multiplier).to_integral_value(rounding="ROUND_FLOOR"))
    return base


def period_start(period: str, now: datetime) -> datetime | None:
    if period == "year":
        return datetime(now.year, 1, 1, tzinfo=UTC)
    if period == "month":
        return datetime(now.year, now.month, 1, tzinfo=UTC)
    return None


def _earned_by_rule(conn: Connection, rule_id: int, since: datetime | None,
                    member_id: str | None = None, count: bool = False) -> int:
    q = select(func.count() if count else func.coalesce(func.sum(E.c.points), 0)).where(
        E.c.rule_id == rule_id, E.c.kind == "earn")
    if since is not None:
        q = q.where(E.c.booked_at >= since)
    if member_id is not None:
        q = q.where(E.c.member_id == member_id)
    return int(conn.execute(q).scalar_one())


#: what an earn reads besides the member's lots: `Tx.prefetch` them with the member's lock
ACTIVE_RULES = select(rules).where(rules.c.active.is_(True)).order_by(rules.c.rule_id)
TIER_MULTIPLIERS = select(tiers.c.code, tiers.c.multiplier)


def _applicable(conn: Connection | Tx, day: date, product, channel, partner_id) -> list[Any]:
    out = []
    for r in Tx.of(conn).rows(ACTIVE_RULES):
        if r.product is not None and r.product != product:
            continue
        if r.channel is not None and r.channel != channel:
            continue
        if r.partner_id is not None and r.partner_id != partner_id:
            continue
        if (r.valid_from and day < r.valid_from) or (r.valid_to and day > r.valid_to):
            continue
        out.append(r)
    if any(r.cap_points is not None or r.budget_points is not None for r in out):
        # Capped rules are shared by all members: lock them (in rule order, no deadlock).
        capped = [r.rule_id for r in out if r.cap_points is not None
                  or r.budget_points is not None]
        conn.execute(select(rules.c.rule_id).where(rules.c.rule_id.in_(capped))
                     .order_by(rules.c.rule_id).with_for_update()).all()
    return out


def earn(conn: Connection, op: Operation, member: Any, transaction_id: str, amount_cents: int,
         policy: Policy, *, product: str | None = None, channel: str | None = None,
         partner_id: str | None = None) -> dict[str, Any]:
    """Book the points a purchase earns by the rules, pending for the return window."""
    from datetime import timedelta

    housekeep(conn, op, member.member_id)
    multiplier = Decimal(1)
    if member.tier_code is not None:
        multiplier = dict(Tx.of(conn).rows(TIER_MULTIPLIERS))[member.tier_code]
    matures = op.now + timedelta(days=policy.return_window_days)
    expires = policy.expires(op.now)
    entries = []
    for r in _applicable(conn, op.now.date(), product, channel, partner_id):
        pts = rule_points(r, amount_cents, multiplier)
        note = ""
        if pts <= 0:
            continue
        if r.member_limit is not None and _earned_by_rule(
                conn, r.rule_id, period_start(r.member_limit_period, op.now),
                member.member_id, count=True) >= r.member_limit:
            continue
        if r.cap_points is not None:
            room = r.cap_points - _earned_by_rule(conn, r.rule_id,
                                                  period_start(r.cap_period, op.now))
            if room < pts:
                pts, note = max(room, 0), f"; capped at {r.cap_points} per {r.cap_period}"
        if r.budget_points is not None and pts > 0:
            room = r.budget_points - _earned_by_rule(conn, r.rule_id, None)
            if room < pts:
                pts, note = max(room, 0), f"; campaign budget of {r.budget_points} reached"
        if pts <= 0:
            continue
        how = (f"floor({amount_cents / 100:.2f}/{r.step_cents / 100:g})x{r.points_per_step}"
               if r.step_cents else f"{r.points_per_step} fixed")
        if r.tier_multiplier and multiplier != 1:
            how += f" x tier {member.tier_code} {multiplier}"
        entry_id = book_credit(
            conn, op, member.member_id, "earn", pts, f"rule {r.code}: {how}{note}",
            matures_at=matures, expires_at=expires, rule_id=r.rule_id,
            source_txn=transaction_id, partner_id=partner_id)
        entries.append({"entry_id": entry_id, "rule": r.code, "points": pts,
                        "matures_at": matures, "expires_at": expires})
    return {"member_id": member.member_id, "transaction_id": transaction_id,
            "amount": f"{amount_cents / 100:.2f}", "points": sum(e["points"] for e in entries),
            "entries": entries,
            "balance": current_balance(conn, op, member.member_id)}
