"""Customer value: profit after cost to serve, Pareto tiers, concentration, breakdowns.

Source document 004 tiers customers by value: VIP = top 1%, major = the next customers up
to the top 5%, ordinary = the next up to the top 20% (10-30% by industry), small = the
rest. Source document 001: customer value = number of customers x mean value per customer.
A customer ranked r (0-based, by value descending, ties by customer_id ascending) of N is
in the top share p exactly when r < p * N.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from fractions import Fraction

import ibis
import ibis.expr.types as ir

from cvm.config import Settings
from cvm.value.rfm import within_days

__all__ = ["ValueWindow", "customer_values", "assign_tiers", "tier_summary", "concentration",
           "breakdown", "TIERS", "CUSTOMER_DIMENSIONS", "TRANSACTION_DIMENSIONS"]

TIERS = ("vip", "major", "ordinary", "small")
CUSTOMER_DIMENSIONS = ("relationship_type", "region", "segment", "tier")
TRANSACTION_DIMENSIONS = ("brand", "product", "channel")


@dataclass(frozen=True)
class ValueWindow:
    """The days [start, end] (inclusive) that value is measured over."""

    start: dt.date
    end: dt.date

    @classmethod
    def ending(cls, end: dt.date, months: int) -> ValueWindow:
        """The ``months`` months ending on ``end``: from the day after the same date
        ``months`` earlier (clamped to month end) through ``end``."""
        y, m = divmod(end.year * 12 + end.month - 1 - months, 12)
        m += 1
        last = [31, 29 if (y % 4 == 0 and (y % 100 or y % 400 == 0)) else 28, 31, 30, 31, 30,
                31, 31, 30, 31, 30, 31][m - 1]
        return cls(dt.date(y, m, min(end.day, last)) + dt.timedelta(days=1), end)


def customer_values(customers: ir.Table | None, transactions: ir.Table, interactions: ir.Table,
                    settings: Settings, window: ValueWindow) -> ir.Table:
    """Revenue, cost, cost to serve and profit per customer over the window.

    The population is every customer in the customers table (None when it is empty) or
    with any transaction;
    those without transactions in the window have revenue 0.
    profit = revenue - cost of goods - per_transaction x transactions
    - sum of interaction costs by touchpoint - per_complaint x complaints.
    """
    costs = settings.costs
    t = transactions.filter(within_days(transactions.timestamp, window.start, window.end))
    tx = t.group_by("customer_id").agg(
        revenue=t.amount.sum(),
        cost_of_goods=t.cost.fill_null(0.0).sum(),
        transactions=t.count(),
    )
    i = interactions.filter(within_days(interactions.opened_at, window.start, window.end))
    touch_cost = i.touchpoint.substitute(
        {k: float(v) for k, v in costs.per_interaction.items()}, else_=0.0)
    complaint = (i.kind.lower() == "complaint").ifelse(1, 0)
    srv = i.group_by("customer_id").agg(
        interactions=i.count(),
        complaints=complaint.sum(),
        interaction_cost=(touch_cost + complaint * costs.per_complaint).sum(),
    )
    ids = transactions.select("customer_id")
    if customers is not None:
        ids = customers.select("customer_id").union(ids)
    ids = ids.distinct()
    v = ids.left_join(tx, "customer_id").drop("customer_id_right")
    v = v.left_join(srv, "customer_id").drop("customer_id_right")
    revenue = v.revenue.fill_null(0.0)
    cost_to_serve = (v.transactions.fill_null(0).cast("float64") * costs.per_transaction
                     + v.interaction_cost.fill_null(0.0))
    return v.select(
        "customer_id",
        revenue=revenue,
        cost_of_goods=v.cost_of_goods.fill_null(0.0),
        cost_to_serve=cost_to_serve,
        profit=revenue - v.cost_of_goods.fill_null(0.0) - cost_to_serve,
        transactions=v.transactions.fill_null(0),
        interactions=v.interactions.fill_null(0),
        complaints=v.complaints.fill_null(0),
    )


def _cut(share: float, n: int) -> int:
    """Number of customers in the top ``share`` of n: ranks r < share * n, computed exactly."""
    return math.ceil(Fraction(str(share)) * n)


def assign_tiers(values: ir.Table, settings: Settings) -> ir.Table:
    """Add ``rank`` (1 = most valuable) and ``tier`` to per-customer values.

    r < p * N is evaluated in integers as r * D < P * N with p = P / D exactly (0.2 = 1/5),
    so no float rounding can move a customer across a cut on any engine.
    """
    vs = settings.value
    by = values[vs.tier_by]
    r = ibis.row_number().over(order_by=[ibis.desc(by), ibis.asc(values.customer_id)])
    n = values.customer_id.count().over()

    def top(share: float):
        f = Fraction(str(share))
        return r * f.denominator < n * f.numerator

    tier = ibis.cases((top(vs.vip_share), "vip"), (top(vs.major_share), "major"),
                      (top(vs.ordinary_share), "ordinary"), else_="small")
    return values.mutate(rank=r + 1, tier=tier)


def tier_summary(tiered: ir.Table) -> ir.Table:
    """Per tier (all four, empty ones with zeros): customers, revenue, profit, shares."""
    g = tiered.group_by("tier").agg(
        customers=tiered.count(),
        revenue=tiered.revenue.sum(),
        profit=tiered.profit.sum(),
        min_revenue=tiered.revenue.min(),
        max_revenue=tiered.revenue.max(),
    )
    names = ibis.memtable({"tier": list(TIERS), "tier_order": list(range(len(TIERS)))})
    g = names.left_join(g, "tier").drop("tier_right")
    g = g.mutate(customers=g.customers.fill_null(0), revenue=g.revenue.fill_null(0.0),
                 profit=g.profit.fill_null(0.0))
    tot_r = g.revenue.sum().over()
    tot_p = g.profit.sum().over()
    tot_n = g.customers.sum().over()
    return g.mutate(
        customer_share=g.customers / tot_n,
        revenue_share=ibis.ifelse(tot_r != 0, g.revenue / tot_r, ibis.null("float64")),
        profit_share=ibis.ifelse(tot_p != 0, g.profit / tot_p, ibis.null("float64")),
    ).order_by("tier_order").drop("tier_order")


def concentration(values: ir.Table, n: int, measure: str = "revenue",
                  points: int = 20) -> tuple[dict[str, float], ir.Table]:
    """Top-share of revenue (1/5/10/20%), Gini, and Lorenz curve points.

    Gini = 2 * sum_i i x_(i) / (n * sum x) - (n + 1) / n with x_(i) sorted ascending
    (i = 1..n). The Lorenz table has ``points + 1`` rows: customer_share k/n (bottom k
    customers, k = round(j n / points)) and value_share (their share of the total).
    """
    x = values[measure]
    asc_rank = ibis.row_number().over(order_by=[ibis.asc(x), ibis.desc(values.customer_id)]) + 1
    ranked = values.select(x=x, i=asc_rank)
    ranked = ranked.mutate(cum=ranked.x.sum().over(order_by=ranked.i, rows=(None, 0)))
    stats = ranked.agg(total=ranked.x.sum(), weighted=(ranked.i * ranked.x).sum()).execute()
    total = float(stats["total"].iloc[0] or 0.0)
    weighted = float(stats["weighted"].iloc[0] or 0.0)
    lorenz_ks = sorted({round(j * n / points) for j in range(points + 1)})
    top_ks = {p: n - _cut(p, n) for p in (0.01, 0.05, 0.10, 0.20)}
    needed = sorted((set(lorenz_ks) | set(top_ks.values())) - {0})
    cum = dict(ranked.filter(ranked.i.isin(needed)).select("i", "cum").execute()
               .itertuples(index=False))
    cum[0] = 0.0

    def bottom(k: int) -> float:
        return float(cum[k]) / total if total else float("nan")

    stats_out = {
        "customers": float(n),
        "total": total,
        "gini": (2 * weighted / (n * total) - (n + 1) / n) if n and total else float("nan"),
    }
    for p, k in top_ks.items():
        stats_out[f"top_{round(p * 100)}pct_share"] = 1.0 - bottom(k)
    lorenz = ibis.memtable({"customer_share": [k / n if n else 0.0 for k in lorenz_ks],
                            "value_share": [bottom(k) for k in lorenz_ks]})
    return stats_out, lorenz


def breakdown(values: ir.Table, customers: ir.Table, transactions: ir.Table, by: str,
              window: ValueWindow) -> ir.Table:
    """Customer value = customers x mean value, per group of ``by``.

    ``by`` is a customer attribute (relationship_type, region, segment, tier or any further
    attribute of the customers table) or a transaction attribute (brand, product, channel);
    for the latter, customers are the distinct buyers and profit is revenue less cost of goods.
    """
    if by in TRANSACTION_DIMENSIONS:
        t = transactions.filter(within_days(transactions.timestamp, window.start, window.end))
        key = t[by].fill_null("(none)").name(by)
        g = t.group_by(key).agg(
            customers=t.customer_id.nunique(),
            transactions=t.count(),
            revenue=t.amount.sum(),
            profit=(t.amount - t.cost.fill_null(0.0)).sum(),
        )
    else:
        if by in values.columns:
            joined = values
        else:
            joined = values.left_join(customers, "customer_id").drop("customer_id_right")
            if by not in joined.columns:
                from cvm.errors import InputError

                raise InputError(
                    f"cannot break down by '{by}': not a customer attribute or one of "
                    f"{', '.join(CUSTOMER_DIMENSIONS + TRANSACTION_DIMENSIONS)}")
        key = joined[by].cast("string").fill_null("(none)").name(by)
        g = joined.group_by(key).agg(
            customers=joined.count(),
            transactions=joined.transactions.sum(),
            revenue=joined.revenue.sum(),
            profit=joined.profit.sum(),
        )
    total = g.revenue.sum().over()
    g = g.mutate(
        mean_value=g.revenue / g.customers,
        customer_value=g.customers * (g.revenue / g.customers),
        mean_profit=g.profit / g.customers,
        revenue_share=ibis.ifelse(total != 0, g.revenue / total, ibis.null("float64")),
    )
    if by == "tier":
        order = ibis.cases(*[(g.tier == t, i) for i, t in enumerate(TIERS)], else_=len(TIERS))
        return g.order_by(order)
    return g.order_by(ibis.desc("revenue"), by)
