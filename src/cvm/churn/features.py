"""Likelihood-to-cancel features and labels from a workspace's history, at a cut-off date.

Time-based split: `churn_features` sees only what was known before ``cutoff`` (contracts
started before it, with any end on or after it treated as still open; transactions and
interactions before it), and `churn_labels` says who of the customers active at ``cutoff``
ended their relationship in the ``horizon_months`` that follow. Training on features at an
earlier cut-off with the labels of the window after it, then scoring at today's date, is
the usual way to keep the future out of the model. Everything is an Ibis expression.
"""

from __future__ import annotations

import datetime as dt

import ibis
from ibis import _

from cvm._dates import as_date
from cvm.churn.cohorts import relationship_spans
from cvm.errors import InputError

__all__ = ["churn_features", "churn_labels", "training_table", "FEATURES"]

#: Feature columns `churn_features` returns besides ``customer_id``.
FEATURES = ("tenure_days", "contracts", "plan", "spend_90d", "spend_prior_90d",
            "spend_trend", "spend_365d", "purchases_365d", "products_365d", "recency_days",
            "interactions_365d", "complaints_365d")


def _days_between(earlier, cutoff: dt.date):
    return ibis.literal(cutoff).delta(earlier, unit="day").cast("int64")


def _active_at(contracts: ibis.Table, cutoff: dt.date) -> ibis.Table:
    """Customers whose relationship covers ``cutoff``, as known the day before it."""
    spans = relationship_spans(contracts, cutoff - dt.timedelta(days=1))
    return spans.filter(_.end.isnull()).select("customer_id", "start")


def churn_features(contracts: ibis.Table, cutoff, transactions: ibis.Table | None = None,
                   interactions: ibis.Table | None = None) -> ibis.Table:
    """One row per customer active at ``cutoff`` with features known before it.

    ``tenure_days`` since the first contract started; ``contracts`` started before the
    cut-off; ``plan`` of the latest of them; spend in the 90 days before the cut-off, in
    the 90 before those and their difference ``spend_trend``; spend, transactions and
    distinct products (when transactions have ``product``) in the last 365 days;
    ``recency_days`` since the last transaction (null if none); interactions and
    complaints (``kind = 'complaint'``, any case) in the last 365 days. Counts and sums
    are 0 where there was nothing.
    """
    cutoff = as_date(cutoff, "cutoff")
    t0 = dt.datetime.combine(cutoff, dt.time())
    base = _active_at(contracts, cutoff)
    c = contracts.filter(_.start.cast("date") < cutoff)
    per = c.group_by("customer_id").aggregate(
        contracts=_.count(), plan=_.plan.argmax(_.start.cast("date")))
    out = base.left_join(per, "customer_id").select(
        base.customer_id,
        tenure_days=_days_between(base.start, cutoff),
        contracts=per.contracts.fill_null(0), plan=per.plan)
    if transactions is not None:
        t = transactions.filter(_.timestamp < t0)
        t = t.mutate(age=_days_between(t.timestamp.cast("date"), cutoff))
        aggs = {"spend_90d": _.amount.sum(where=_.age <= 90),
                "spend_prior_90d": _.amount.sum(where=(_.age > 90) & (_.age <= 180)),
                "spend_365d": _.amount.sum(where=_.age <= 365),
                "purchases_365d": (_.age <= 365).cast("int64").sum(),
                "recency_days": _.age.min()}
        if "product" in t.columns:  # optional canonical field
            aggs["products_365d"] = _.product.nunique(where=_.age <= 365)
        tx = t.group_by("customer_id").aggregate(**aggs)
        out = out.left_join(tx, "customer_id").select(
            out, *((tx[k].fill_null(0) if k != "recency_days" else tx[k]).name(k)
                   for k in aggs))
        out = out.mutate(spend_trend=_.spend_90d - _.spend_prior_90d)
    if interactions is not None:
        i = interactions.filter((_.opened_at < t0)
                                & (_.opened_at >= t0 - dt.timedelta(days=365)))
        ix = i.group_by("customer_id").aggregate(
            interactions_365d=_.count(),
            complaints_365d=(_.kind.lower() == "complaint").cast("int64").sum())
        out = out.left_join(ix, "customer_id").select(
            out, ix.interactions_365d.fill_null(0).name("interactions_365d"),
            ix.complaints_365d.fill_null(0).name("complaints_365d"))
    order = [f for f in FEATURES if f in out.columns]
    return out.select("customer_id", *order).order_by("customer_id")


def churn_labels(contracts: ibis.Table, cutoff, horizon_months: int = 3,
                 horizon_days: int | None = None) -> ibis.Table:
    """``churned`` = 1 for customers active at ``cutoff`` whose relationship ended in the
    ``horizon_months`` months from it (or, when given, the ``horizon_days`` days from it:
    a last day in ``[cutoff, cutoff + horizon_days)``), else 0; ``end`` the day it ended.

    Only the customers `churn_features` returns get a label. The label looks into the
    future by design: use it for training and evaluation only.
    """
    cutoff = as_date(cutoff, "cutoff")
    if horizon_days is not None:
        if not isinstance(horizon_days, int) or horizon_days < 1:
            raise InputError(f"horizon_days must be an int >= 1, got {horizon_days!r}")
        stop = cutoff + dt.timedelta(days=horizon_days)
    else:
        stop = _months_after(cutoff, horizon_months)
    base = _active_at(contracts, cutoff)
    later = relationship_spans(contracts, stop - dt.timedelta(days=1)).select("customer_id", "end")
    j = base.left_join(later, "customer_id")
    return j.select(base.customer_id, end=later.end,
                    churned=later.end.notnull().cast("int64")).order_by("customer_id")


def _months_after(cutoff: dt.date, horizon_months: int) -> dt.date:
    if not isinstance(horizon_months, int) or horizon_months < 1:
        raise InputError(f"horizon_months must be an int >= 1, got {horizon_months!r}")
    month = cutoff.month - 1 + horizon_months
    year, month = cutoff.year + month // 12, month % 12 + 1
    try:
        return cutoff.replace(year=year, month=month)
    except ValueError:  # e.g. 31 January + 1 month: the first of the month after
        return dt.date(year + month // 12, month % 12 + 1, 1)


def training_table(contracts: ibis.Table, cutoff, horizon_months: int = 3,
                   transactions: ibis.Table | None = None,
                   interactions: ibis.Table | None = None,
                   horizon_days: int | None = None) -> ibis.Table:
    """`churn_features` at ``cutoff`` with the `churn_labels` of the window after it
    (column ``churned``, 0 or 1): the input of `cvm.churn.fit_snapshot` with
    ``label="churned", id="customer_id"``. Score with `churn_features` at a later date.
    """
    f = churn_features(contracts, cutoff, transactions, interactions)
    lab = churn_labels(contracts, cutoff, horizon_months, horizon_days)
    return f.join(lab.select("customer_id", "churned"), "customer_id").order_by("customer_id")
