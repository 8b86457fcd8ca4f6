"""Purchase features and labels at a cut-off day, per customer and product line (Ibis).

`purchase_features` sees only transactions (and interactions) before the cut-off day;
`purchase_labels` looks at the ``days`` from it. Training pairs features at an earlier
cut-off with the labels after it; scoring takes features at the day after the as-of day.
Line columns are numbered (``l0_...``) in the order of the ``lines`` argument.
"""

from __future__ import annotations

import datetime as dt

import ibis
from ibis import _

__all__ = ["purchase_features", "purchase_labels", "population", "CUSTOMER_FIELDS",
           "product_lines"]

#: Fields of the customers table used as categorical features when present.
CUSTOMER_FIELDS = ("relationship_type", "segment", "region")


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def product_lines(transactions: ibis.Table, limit: int) -> tuple[list[str], list[str]]:
    """The product lines (brands) bought, most buyers first: the first ``limit`` of them
    and the ones left out."""
    t = transactions.filter(_.brand.notnull() & (_.brand.strip() != ""))
    counts = (t.group_by("brand").aggregate(buyers=_.customer_id.nunique())
              .order_by([ibis.desc("buyers"), "brand"]).to_pyarrow().to_pylist())
    names = [r["brand"] for r in counts]
    return names[:limit], names[limit:]


def population(transactions: ibis.Table, customers: ibis.Table | None,
               cutoff: dt.date) -> ibis.Table:
    """Customers known before ``cutoff``: in the customers table (signed up before it, or
    when unknown) or with a transaction before it."""
    ids = transactions.filter(_.timestamp < _start(cutoff)).select("customer_id")
    if customers is not None:
        c = customers.filter(_.signup_date.isnull() | (_.signup_date < cutoff))
        ids = c.select("customer_id").union(ids)
    return ids.distinct()


def purchase_features(transactions: ibis.Table, customers: ibis.Table | None,
                      interactions: ibis.Table | None, cutoff: dt.date,
                      lines: list[str]) -> ibis.Table:
    """One row per customer of `population` at ``cutoff`` with what was known before it.

    ``tenure_days`` since the first purchase or the signup day, whichever came first;
    ``recency_days`` since the last purchase (null if none); purchases and spend in the 365
    days before the cut-off, spend in the last 90 and in the 90 before them, in the last 180
    and in the 180 before them; ``lines_365d``
    bought; per line ``l<i>_purchases_365d``, ``l<i>_spend_365d`` and ``l<i>_days_since``
    (the line's last purchase, null if never); complaints in the last 365 days when
    ``interactions`` is given; the customers table's relationship_type, segment and region.
    """
    start = _start(cutoff)
    day = ibis.literal(cutoff)
    t = transactions.filter(_.timestamp < start)
    t = t.mutate(age=day.delta(t.timestamp.cast("date"), unit="day").cast("int64"))
    recent = _.age <= 365
    aggs = {
        "first_age": _.age.max(),
        "recency_days": _.age.min(),
        "purchases_365d": recent.cast("int64").sum(),
        "spend_365d": _.amount.sum(where=recent),
        "spend_90d": _.amount.sum(where=_.age <= 90),
        "spend_prior_90d": _.amount.sum(where=(_.age > 90) & (_.age <= 180)),
        "spend_180d": _.amount.sum(where=_.age <= 180),
        "spend_prior_180d": _.amount.sum(where=(_.age > 180) & (_.age <= 360)),
        "lines_365d": _.brand.nunique(where=recent),
    }
    for i, line in enumerate(lines):
        is_line = _.brand == line
        aggs[f"l{i}_purchases_365d"] = (is_line & recent).cast("int64").sum()
        aggs[f"l{i}_spend_365d"] = _.amount.sum(where=is_line & recent)
        aggs[f"l{i}_days_since"] = _.age.min(where=is_line)
    per = t.group_by("customer_id").aggregate(**aggs)
    ids = population(transactions, customers, cutoff)
    out = ids.left_join(per, "customer_id").drop("customer_id_right")
    counts = [k for k in aggs if "purchases" in k or "spend" in k or k == "lines_365d"]
    out = out.mutate(**{k: out[k].fill_null(0) for k in counts})
    if customers is not None:
        c = customers.select("customer_id", *CUSTOMER_FIELDS,
                             signup_age=day.delta(customers.signup_date, unit="day")
                             .cast("int64"))
        out = out.left_join(c, "customer_id").drop("customer_id_right")
        out = out.mutate(tenure_days=ibis.greatest(_.first_age.fill_null(0),
                                                   _.signup_age.fill_null(0)))
        out = out.drop("signup_age", "first_age")
    else:
        out = out.mutate(tenure_days=_.first_age.fill_null(0)).drop("first_age")
    if interactions is not None:
        i = interactions.filter((_.opened_at < start)
                                & (_.opened_at >= start - dt.timedelta(days=365)))
        ix = i.group_by("customer_id").aggregate(
            complaints_365d=(_.kind.lower() == "complaint").cast("int64").sum())
        out = out.left_join(ix, "customer_id").drop("customer_id_right")
        out = out.mutate(complaints_365d=out.complaints_365d.fill_null(0))
    return out


def purchase_labels(transactions: ibis.Table, cutoff: dt.date, lines: list[str],
                    days: int = 90) -> ibis.Table:
    """Per customer who bought in ``[cutoff, cutoff + days)``: ``bought_any`` = 1 and
    ``l<i>_bought`` = 1 if they bought line i then (0 otherwise). Customers absent here
    bought nothing in the window."""
    start = _start(cutoff)
    t = transactions.filter((_.timestamp >= start)
                            & (_.timestamp < start + dt.timedelta(days=days)))
    aggs = {"bought_any": _.count().clip(upper=1)}
    for i, line in enumerate(lines):
        aggs[f"l{i}_bought"] = (_.brand == line).cast("int64").max()
    return t.group_by("customer_id").aggregate(**aggs)
