"""Recency, frequency and monetary value per customer.

Two views of the same transactions:

* `repeat_purchase_summary`: the input of buy-till-you-die models (Fader, Hardie & Lee
  2005): purchases are counted per day, ``frequency`` x = number of purchase days after the
  first, ``recency`` t_x = time from the first to the last purchase day, ``T`` = time from
  the first purchase day to the end of the calibration period, and ``monetary_value`` the
  mean spend of the repeat purchase days (0 when x = 0).
* `rfm_scores`: quintile scores 1-5 of recency, frequency and monetary value over a
  window, and the named segments marketers use.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from cvm._time import UNIT_DAYS

__all__ = ["repeat_purchase_summary", "calibration_holdout", "rfm_scores", "RFM_SEGMENTS",
           "within_days"]

#: Named RFM segments on the (R, F) score grid, first match wins: (name, R range, F range).
RFM_SEGMENTS: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("champions", (5, 5), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("cannot_lose", (1, 2), (5, 5)),
    ("at_risk", (1, 2), (3, 4)),
    ("hibernating", (1, 2), (1, 2)),
    ("need_attention", (3, 3), (3, 3)),
    ("about_to_sleep", (3, 3), (1, 2)),
    ("potential_loyalist", (4, 5), (2, 3)),
    ("promising", (4, 4), (1, 1)),
    ("new", (5, 5), (1, 1)),
)


def _midnight(d: dt.date) -> ir.TimestampScalar:
    return ibis.literal(dt.datetime.combine(d, dt.time()))


def within_days(ts: ir.TimestampValue, start: dt.date | None, end: dt.date) -> ir.BooleanValue:
    """``ts`` falls on a day in [start, end] (start None: no lower bound).

    Compared as timestamps against midnights, so engines can skip Parquet row groups by
    their min/max statistics instead of computing a day number per row.
    """
    cond = ts < _midnight(end + dt.timedelta(days=1))
    return cond if start is None else cond & (ts >= _midnight(start))


def repeat_purchase_summary(transactions: ir.Table, calibration_end: dt.date | None = None,
                            unit: str = "weeks") -> ir.Table:
    """Per-customer (frequency, recency, T, monetary_value) up to ``calibration_end``.

    Parameters
    ----------
    transactions : ibis Table with customer_id, timestamp, amount
    calibration_end : last day of the calibration period (inclusive); default the day of
        the latest transaction.
    unit : {"days", "weeks", "months", "years"}
        Unit of recency and T (`cvm._time.UNIT_DAYS`); a month is 365.2425/12 days.

    Returns
    -------
    ibis Table: customer_id, frequency, recency, T, monetary_value, first_purchase
    """
    if unit not in UNIT_DAYS:
        from cvm.errors import InputError

        raise InputError(f"unknown time unit '{unit}'; expected one of {', '.join(UNIT_DAYS)}")
    if calibration_end is None:  # one cheap query, so the main one scans the data once
        latest = transactions.timestamp.max().execute()
        calibration_end = latest.date() if latest is not None else dt.date(1970, 1, 1)
    end = ibis.literal(calibration_end)
    t = transactions.filter(within_days(transactions.timestamp, None, calibration_end))
    days = t.group_by(["customer_id", t.timestamp.date().name("day")]).agg(spend=t.amount.sum())
    per = days.group_by("customer_id").agg(
        first_day=days.day.min(),
        last_day=days.day.max(),
        n_days=days.count(),
        total=days.spend.sum(),
        first_spend=days.spend.argmin(days.day),
    )
    k = UNIT_DAYS[unit]
    x = per.n_days - 1
    return per.select(
        customer_id=per.customer_id,
        frequency=x.cast("int64"),
        recency=per.last_day.delta(per.first_day, unit="day").cast("float64") / k,
        T=end.delta(per.first_day, unit="day").cast("float64") / k,
        monetary_value=ibis.ifelse(x > 0, (per.total - per.first_spend) / x.cast("float64"),
                                   0.0),
        first_purchase=per.first_day,
    )


def calibration_holdout(transactions: ir.Table, calibration_end: dt.date,
                        holdout_end: dt.date, unit: str = "weeks") -> ir.Table:
    """The calibration summary of the customers who bought by ``calibration_end`` joined
    with what they did in the hold-out period (calibration_end, holdout_end].

    Adds ``holdout_purchases`` (purchase days in the hold-out period; all are repeat
    purchases, as every customer here bought before it), ``holdout_spend`` and
    ``holdout_length`` (in ``unit``). Customers first seen in the hold-out are left out.
    """
    if holdout_end <= calibration_end:
        from cvm.errors import InputError

        raise InputError(f"the hold-out end {holdout_end} must come after the calibration end "
                         f"{calibration_end}")
    cal = repeat_purchase_summary(transactions, calibration_end, unit)
    t = transactions.filter(within_days(transactions.timestamp,
                                        calibration_end + dt.timedelta(days=1), holdout_end))
    days = t.group_by(["customer_id", t.timestamp.date().name("day")]).agg(
        spend=t.amount.sum())
    hold = days.group_by("customer_id").agg(holdout_purchases=days.count(),
                                            holdout_spend=days.spend.sum())
    joined = cal.left_join(hold, "customer_id").drop("customer_id_right")
    return joined.mutate(
        holdout_purchases=joined.holdout_purchases.fill_null(0),
        holdout_spend=joined.holdout_spend.fill_null(0.0),
        holdout_length=ibis.literal((holdout_end - calibration_end).days / UNIT_DAYS[unit]),
    )


def _score(value: ir.NumericValue, n: ir.IntegerScalar, higher_is_better: bool = True):
    """Quintile score 1-5: ceil(5 * (w + 1) / n), w = customers with a strictly worse value.

    Tied customers share the score of the first place of their tie, so when more than a
    fifth of customers bought once they all score 1 on frequency. Integer arithmetic keeps
    the cut exact on every engine.
    """
    order = ibis.asc(value) if higher_is_better else ibis.desc(value)
    worse = ibis.rank().over(order_by=order)  # 0-based: customers strictly worse
    return ((5 * (worse + 1) + n - 1) // n).cast("int8")


def rfm_scores(transactions: ir.Table, start: dt.date, end: dt.date) -> ir.Table:
    """R, F and M quintile scores of the customers who bought between start and end.

    Recency is days from the last purchase to ``end`` (fewer is better), frequency the number
    of transactions, monetary the total amount, all inside [start, end].
    """
    t = transactions.filter(within_days(transactions.timestamp, start, end))
    per = t.group_by("customer_id").agg(last=t.timestamp.max().date(), frequency=t.count(),
                                        monetary=t.amount.sum())
    per = per.select(
        "customer_id",
        recency_days=ibis.literal(end).delta(per.last, unit="day"),
        frequency="frequency",
        monetary="monetary",
    )
    n = per.count().as_scalar()
    scored = per.mutate(
        r=_score(per.recency_days, n, higher_is_better=False),
        f=_score(per.frequency, n),
        m=_score(per.monetary, n),
    )
    cases = [((scored.r >= r0) & (scored.r <= r1) & (scored.f >= f0) & (scored.f <= f1), name)
             for name, (r0, r1), (f0, f1) in RFM_SEGMENTS]
    return scored.mutate(
        rfm=scored.r.cast("string").concat(scored.f.cast("string"), scored.m.cast("string")),
        segment=ibis.cases(*cases, else_="other"),
    )
