"""Behavioural loyalty indicators per customer, computed by the engine from the workspace.

What loyal customers do (Oliver 1999's "action" loyalty), wherever the canonical tables
hold the data. Of these, the source documents name repeat purchase only: 001 (80% of sales
come from the repeat purchases of 20% of the customers; retained customers who buy again,
重复消费, become loyal), 002 (重复购买, 重复消费或增加消费) and 003 (action loyalty, 行为忠诚:
the intention to buy again, 重复购买, carried out). Tenure, recency and share of wallet are
general loyalty-measurement practice, not from the documents. All are as of ``as_of``
(default: the day of the latest transaction):

=======================  ======================================================================
``first_purchase``       day of the first purchase
``tenure_months``        months from the first purchase to ``as_of`` (days / 30.436875,
                         `cvm._time.DAYS_PER_MONTH`)
``recency_days``         days from the last purchase to ``as_of``
``purchase_days``        distinct days with a purchase
``repeat_rate``          repurchase rate: share of the calendar months from the first purchase's
                         to ``as_of``'s in which the customer bought (1 = every month)
``purchases_per_month``  purchase days per calendar month of that span
``revenue``              revenue in the value window (``value.window_months`` to ``as_of``)
``complaints``           interactions of kind ``complaint`` up to ``as_of``
``share_of_wallet``      revenue / ``wallet``, only when the customers table has a numeric
                         ``wallet`` column (the customer's total spend in the category over the
                         value window, e.g. from a survey or a bureau); else absent
=======================  ======================================================================

Price tolerance (what a customer pays over the going price; general practice too) needs list
prices, which the canonical tables do not hold, and recommendation (000: 介绍给其他人使用;
002: the NPS question) is a stated intention (the classes of `cvm.survey.classes`), so neither
is here.
"""

from __future__ import annotations

import datetime as dt

import ibis

from cvm._time import DAYS_PER_MONTH
from cvm.errors import InputError

__all__ = ["customer_indicators"]

def _epoch_day(ts):
    return (ts.epoch_seconds() // 86400).cast("int64")


def customer_indicators(ws, as_of: dt.date | None = None):
    """Ibis table of the indicators in the module docstring, one row per buying customer."""
    if not ws.has_rows("transactions"):
        raise InputError(f"{ws.path}: no transactions imported, so no behaviour to measure; "
                         "import them with `cvm import transactions FILE`")
    as_of = as_of or ws.latest_day()
    end_day = (as_of - dt.date(1970, 1, 1)).days
    end_month = as_of.year * 12 + as_of.month
    tx = ws.table("transactions")
    t = tx.mutate(day=_epoch_day(tx.timestamp), m=tx.timestamp.year() * 12 + tx.timestamp.month())
    t = t.filter(t.day <= end_day)
    per = t.group_by("customer_id").agg(first_ts=t.timestamp.min(), first_day=t.day.min(),
                                        last_day=t.day.max(),
                                        purchase_days=t.day.nunique(),
                                        active_months=t.m.nunique(), first_m=t.m.min())
    span = (ibis.literal(end_month) - per.first_m + 1).cast("float64")
    out = per.select(
        "customer_id",
        first_purchase=per.first_ts.date(),
        tenure_months=(end_day - per.first_day).cast("float64") / DAYS_PER_MONTH,
        recency_days=(end_day - per.last_day).cast("int64"),
        purchase_days=per.purchase_days.cast("int64"),
        repeat_rate=per.active_months.cast("float64") / span,
        purchases_per_month=per.purchase_days.cast("float64") / span,
    )
    values = ws.value.customer_values(as_of).select("customer_id", "revenue")
    out = out.left_join(values, "customer_id").drop("customer_id_right")
    out = out.mutate(revenue=out.revenue.fill_null(0.0))
    i = ws.table("interactions")
    i = i.filter((i.kind.lower() == "complaint") & (_epoch_day(i.opened_at) <= end_day))
    complaints = i.group_by(cid=i.customer_id).agg(complaints=i.count())
    out = out.left_join(complaints, out.customer_id == complaints.cid).drop("cid")
    out = out.mutate(complaints=out.complaints.fill_null(0).cast("int64"))
    customers = ws.table("customers")
    if "wallet" in customers.columns:
        wallet = customers.select(cid=customers.customer_id,
                                  wallet=customers.wallet.try_cast("float64"))
        out = out.left_join(wallet, out.customer_id == wallet.cid).drop("cid")
        out = out.mutate(share_of_wallet=ibis.ifelse(out.wallet > 0, out.revenue / out.wallet,
                                                     ibis.null("float64")))
    return out.order_by("customer_id")
