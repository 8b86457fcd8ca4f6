"""Churn by reason over time, and the value lost with it, as Ibis expressions.

A customer churns when their relationship (see `cvm.churn.cohorts`) ends on or before
``as_of``; the reason is the ``end_reason`` of the contract that ended last (the
alphabetically first if several ended that day), ``unknown`` when none was recorded.
"""

from __future__ import annotations

import datetime as dt

import ibis
from ibis import _

from cvm.churn.cohorts import months_per_period, period_first_day, relationship_spans

__all__ = ["churn_by_reason", "churned_customers"]


def churned_customers(contracts: ibis.Table, as_of: dt.date,
                      transactions: ibis.Table | None = None,
                      value_months: int = 12) -> ibis.Table:
    """One row per churned customer: ``customer_id``, ``end``, ``reason`` and, with
    ``transactions``, ``revenue_lost``: what they spent in the ``value_months`` months up
    to and including their last day (an estimate of the yearly value that left)."""
    as_of = dt.date.fromisoformat(str(as_of))
    spans = relationship_spans(contracts, as_of).filter(_.end.notnull())
    c = contracts.select("customer_id", end_c=_.end.cast("date"), reason=_.end_reason)
    j = spans.join(c, [spans.customer_id == c.customer_id, spans.end == c.end_c])
    out = j.group_by([spans.customer_id, spans.end]).aggregate(
        reason=j.reason.min().fill_null("unknown"))
    if transactions is None:
        return out
    t = transactions.select("customer_id", day=_.timestamp.cast("date"), amount=_.amount)
    jt = out.left_join(t, [out.customer_id == t.customer_id,
                           t.day <= out.end,
                           t.day > out.end - ibis.interval(months=value_months)])
    return jt.group_by([out.customer_id, out.end, out.reason]).aggregate(
        revenue_lost=jt.amount.sum().fill_null(0.0))


def churn_by_reason(contracts: ibis.Table, as_of: dt.date,
                    transactions: ibis.Table | None = None, period: str = "month",
                    value_months: int = 12) -> ibis.Table:
    """Churned customers per period and reason, each reason's share of the period's churn
    and (with ``transactions``) the revenue lost (see `churned_customers`).

    Columns ``period_start``, ``reason``, ``churned``, ``share`` and ``revenue_lost``;
    periods and reasons without churn have no row.
    """
    m = months_per_period(period)
    ch = churned_customers(contracts, as_of, transactions, value_months)
    ch = ch.mutate(p=(_.end.year() * 12 + _.end.month() - 1) // m)
    aggs = {"churned": _.count()}
    if transactions is not None:
        aggs["revenue_lost"] = _.revenue_lost.sum()
    out = ch.group_by(["p", "reason"]).aggregate(**aggs)
    out = out.mutate(share=_.churned / _.churned.sum().over(group_by="p").cast("float64"),
                     period_start=period_first_day(_.p, m))
    cols = ["period_start", "reason", "churned", "share"]
    if transactions is not None:
        cols.append("revenue_lost")
    return out.select(*cols).order_by(["period_start", "reason"])
