"""Retention, cohorts and repeat purchase as Ibis expressions (any engine).

Functions take Ibis tables of the canonical schema: contracts (``customer_id``, ``start``,
``end``; ``end`` is the last day, empty while active) and transactions (``customer_id``,
``timestamp``, ``amount``); they return Ibis expressions to ``.execute()`` or
``.to_pyarrow()``.

A customer's relationship spans from their first contract's start to their last contract's
end (empty if any contract is open, and an end after ``as_of`` counts as open); gaps
between contracts are ignored. Periods are calendar months, quarters or years, numbered
``year * 12 + month - 1`` divided by the months per period.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
from ibis import _

from cvm.churn.choices import PERIODS
from cvm.errors import InputError

__all__ = ["contract_retention", "purchase_retention", "contract_cohorts",
           "purchase_cohorts", "repeat_purchase_rate", "customer_tenure", "MONTHS_PER_PERIOD",
           "months_per_period", "period_first_day", "relationship_spans"]

MONTHS_PER_PERIOD = dict(zip(PERIODS, (1, 3, 12), strict=True))
_OPEN = 10**6  # months kept by a relationship that has not ended


def months_per_period(period: str) -> int:
    """Calendar months in a ``period`` (month, quarter or year); InputError for another."""
    try:
        return MONTHS_PER_PERIOD[period]
    except KeyError:
        raise InputError(f"period must be one of {list(MONTHS_PER_PERIOD)}, "
                         f"got {period!r}") from None


def _month_index(d):
    return d.year() * 12 + d.month() - 1


def _date_of(month_index: int) -> dt.date:
    return dt.date(month_index // 12, month_index % 12 + 1, 1)


def relationship_spans(contracts: ibis.Table, as_of: dt.date) -> ibis.Table:
    """One row per customer: first start and last end (null while any contract is open)."""
    c = contracts.filter(_.start.cast("date") <= as_of).mutate(
        start=_.start.cast("date"),
        end=ibis.ifelse(_.end.cast("date") > as_of, ibis.null("date"), _.end.cast("date")))
    return c.group_by("customer_id").aggregate(
        start=_.start.min(),
        end=ibis.ifelse(_.end.count() < _.count(), ibis.null("date"), _.end.max()))


def _first_start(spans: ibis.Table, as_of: dt.date) -> dt.date:
    first = spans.start.min().execute()
    if first is None or first != first:  # None or NaT
        raise InputError(f"no contract starts on or before as_of {as_of}; nothing to compute")
    return first if type(first) is dt.date else first.date()


def customer_tenure(contracts: ibis.Table, as_of: dt.date,
                    customers: ibis.Table | None = None) -> ibis.Table:
    """Each customer's relationship tenure in days up to ``as_of`` and whether it ended:
    the input of `cvm.churn.survival.kaplan_meier`, ``cox`` and ``logrank``.

    ``tenure_days`` = (end, or ``as_of`` while open) minus first start; ``churned`` = 1 if
    the relationship ended on or before ``as_of``. With ``customers``, its other columns
    (segment, region, relationship_type, ...) are joined on for grouping.
    """
    as_of = dt.date.fromisoformat(str(as_of))
    spans = relationship_spans(contracts, as_of)
    stop = ibis.ifelse(spans.end.isnull(), ibis.literal(as_of), spans.end)
    out = spans.select("customer_id", tenure_days=stop.delta(spans.start, unit="day"),
                       churned=spans.end.notnull().cast("int64"))
    if customers is not None:
        extra = [c for c in customers.columns if c not in out.columns]
        out = out.left_join(customers, "customer_id").select(
            out, *(customers[c] for c in extra))
    return out.order_by("customer_id")


def contract_retention(contracts: ibis.Table, as_of: dt.date,
                       period: str = "month", groups: ibis.Table | None = None) -> ibis.Table:
    r"""Retention rate per complete period for contractual customers.

    For a period :math:`[p_0, p_1)`: ``active_start`` customers whose relationship covers
    day :math:`p_0`; ``retained`` those of them still covering day :math:`p_1`; ``churned``
    the difference; ``new`` relationships starting in the period; ``retention_rate`` =
    retained / active_start (null when no one was active). Only periods ending on or before
    ``as_of`` are shown, from the period of the first start.

    With ``groups`` (columns ``customer_id`` and ``group``, one row per customer), the same
    per group: a leading ``group`` column (``(unknown)`` for customers without a row), and
    only the periods in which the group had someone active or new.
    """
    m = months_per_period(period)
    as_of = dt.date.fromisoformat(str(as_of))
    spans = relationship_spans(contracts, as_of)
    first = _first_start(spans, as_of)
    lo = (first.year * 12 + first.month - 1) // m
    hi = ((as_of + dt.timedelta(days=1)).year * 12
          + (as_of + dt.timedelta(days=1)).month - 1) // m  # first period not complete
    if hi <= lo:
        raise InputError(f"no complete {period} between the first start {first} and "
                         f"as_of {as_of}")
    grid = ibis.memtable(pa.table({
        "period_start": pa.array([_date_of(i * m) for i in range(lo, hi)], pa.date32()),
        "period_end": pa.array([_date_of((i + 1) * m) for i in range(lo, hi)], pa.date32()),
    }))
    keys = ["period_start"]
    if groups is not None:
        spans = _with_group(spans, groups)
        keys = ["group", "period_start"]
    j = grid.cross_join(spans)
    covers_p0 = (j.start <= j.period_start) & (j.end.isnull() | (j.end >= j.period_start))
    covers_p1 = j.end.isnull() | (j.end >= j.period_end)
    j = j.mutate(a=covers_p0.cast("int64"), r=(covers_p0 & covers_p1).cast("int64"),
                 n=((j.start >= j.period_start) & (j.start < j.period_end)).cast("int64"))
    out = j.group_by(keys).aggregate(active_start=_.a.sum(), retained=_.r.sum(),
                                     new=_.n.sum())
    if groups is not None:
        out = out.filter((_.active_start > 0) | (_.new > 0))
    out = out.mutate(churned=_.active_start - _.retained,
                     retention_rate=ibis.ifelse(_.active_start > 0,
                                                _.retained / _.active_start.cast("float64"),
                                                ibis.null("float64")))
    return out.select(*keys, "active_start", "retained", "churned", "new",
                      "retention_rate").order_by(keys)


def _with_group(table: ibis.Table, groups: ibis.Table) -> ibis.Table:
    """``table`` (with ``customer_id``) with each customer's ``group``, ``(unknown)`` if none."""
    missing = {"customer_id", "group"} - set(groups.columns)
    if missing:
        raise InputError(f"groups need the columns customer_id and group; missing "
                         f"{', '.join(sorted(missing))}")
    g = groups.select("customer_id", group=groups.group.cast("string"))
    j = table.left_join(g, table.customer_id == g.customer_id)
    return j.select(*(table[c] for c in table.columns),
                    group=g.group.fill_null("(unknown)"))


def _purchases(transactions: ibis.Table, m: int) -> ibis.Table:
    return transactions.mutate(p=_month_index(_.timestamp.cast("date")) // m)


def purchase_retention(transactions: ibis.Table, period: str = "month",
                       groups: ibis.Table | None = None) -> ibis.Table:
    """Retention for non-contractual customers: of those who bought in a period, the share
    who bought again in the next one.

    ``active``: customers with a transaction in the period; ``retained``: those of them
    with a transaction in the next period; shown for every period up to the one before the
    last period with transactions. With ``groups`` (as in `contract_retention`), the same
    per group, with a leading ``group`` column.
    """
    m = months_per_period(period)
    act = _purchases(transactions, m).select("customer_id", "p").distinct()
    nxt = act.mutate(p=_.p - 1, again=ibis.literal(1))
    j = act.left_join(nxt, ["customer_id", "p"]).select(act.customer_id, act.p, "again")
    last = act.p.max()
    j = j.filter(j.p < last.as_scalar())
    keys = ["p"]
    if groups is not None:
        j = _with_group(j, groups)
        keys = ["group", "p"]
    out = j.group_by(keys).aggregate(active=_.count(), retained=_.again.fill_null(0).sum())
    out = out.mutate(retention_rate=_.retained / _.active.cast("float64"),
                     period_start=period_first_day(_.p, m))
    shown = [*keys[:-1], "period_start"]
    return out.select(*shown, "active", "retained", "retention_rate").order_by(shown)


def period_first_day(p, m: int):
    """First day of period number ``p`` of ``m`` months (an Ibis date expression)."""
    month_index = p * m
    return ibis.date((month_index // 12).cast("int32"), (month_index % 12 + 1).cast("int32"),
                     ibis.literal(1, "int32"))


def _ks(n: int) -> ibis.Table:
    return ibis.memtable(pa.table({"k": pa.array(range(max(n, 0) + 1), pa.int64())}))


def contract_cohorts(contracts: ibis.Table, as_of: dt.date,
                     transactions: ibis.Table | None = None,
                     period: str = "month") -> ibis.Table:
    r"""Cohort matrix of contractual customers: of those who started in a period, how many
    were still customers at the end of each following period, and their revenue.

    ``cohort`` is the first day of the start period; ``k`` = 0, 1, ... the periods since;
    ``customers`` the cohort's size; ``active`` those whose relationship covers the last day
    of period cohort + k; ``rate`` = active / customers; ``revenue`` (with ``transactions``)
    the amounts the cohort's customers spent in period cohort + k. Only periods ending on
    or before ``as_of`` appear.
    """
    m = months_per_period(period)
    as_of = dt.date.fromisoformat(str(as_of))
    spans = relationship_spans(contracts, as_of).mutate(c=_month_index(_.start) // m)
    # periods kept: the period of the first day not covered, minus the cohort, minus one
    spans = spans.mutate(kept=ibis.ifelse(
        _.end.isnull(), _OPEN,
        _month_index(_.end + ibis.interval(days=1)) // m - _.c - 1))
    next_day = as_of + dt.timedelta(days=1)
    observed = (next_day.year * 12 + next_day.month - 1) // m  # first incomplete period
    sizes = spans.group_by("c").aggregate(customers=_.count())
    first = _first_start(spans, as_of)
    max_k = observed - (first.year * 12 + first.month - 1) // m - 1
    j = spans.cross_join(_ks(max_k)).filter(_.k <= observed - _.c - 1)
    out = j.group_by(["c", "k"]).aggregate(active=(_.kept >= _.k).cast("int64").sum())
    out = out.join(sizes, "c").mutate(rate=_.active / _.customers.cast("float64"))
    if transactions is not None:
        rev = (_purchases(transactions, m).join(spans.select("customer_id", "c"), "customer_id")
               .mutate(k=_.p - _.c).group_by(["c", "k"]).aggregate(revenue=_.amount.sum()))
        out = out.left_join(rev, ["c", "k"]).select(
            out.c, out.k, out.customers, out.active, out.rate,
            revenue=rev.revenue.fill_null(0.0))
    out = out.mutate(cohort=period_first_day(_.c, m))
    cols = ["cohort", "k", "customers", "active", "rate"]
    return out.select(*cols, *(["revenue"] if transactions is not None else [])).order_by(
        ["cohort", "k"])


def purchase_cohorts(transactions: ibis.Table, period: str = "month") -> ibis.Table:
    """Cohort matrix of buyers: customers by the period of their first purchase, how many
    bought in each period since, and what they spent.

    ``cohort``, ``k``, ``customers`` (cohort size), ``active`` (bought in period cohort +
    k), ``rate`` = active / customers, ``revenue``; up to the last period with transactions,
    with zero rows where a cohort bought nothing.
    """
    m = months_per_period(period)
    t = _purchases(transactions, m)
    first = t.group_by("customer_id").aggregate(c=_.p.min())
    sizes = first.group_by("c").aggregate(customers=_.count())
    last = int(t.p.max().execute())
    max_k = last - int(first.c.min().execute())
    grid = sizes.cross_join(_ks(max_k)).filter(_.c + _.k <= last)
    buys = (t.join(first, "customer_id").mutate(k=_.p - _.c).group_by(["c", "k"])
            .aggregate(active=_.customer_id.nunique(), revenue=_.amount.sum()))
    out = grid.left_join(buys, ["c", "k"]).select(
        grid.c, grid.k, grid.customers, active=buys.active.fill_null(0),
        revenue=buys.revenue.fill_null(0.0))
    out = out.mutate(rate=_.active / _.customers.cast("float64"),
                     cohort=period_first_day(_.c, m)).drop("c")
    return out.select("cohort", "k", "customers", "active", "rate", "revenue").order_by(
        ["cohort", "k"])


def repeat_purchase_rate(transactions: ibis.Table, period: str = "month") -> ibis.Table:
    """Share of customers who bought on two or more distinct days, by first-purchase cohort.

    Columns ``cohort``, ``customers``, ``repeaters``, ``repeat_rate``; a row with a null
    cohort gives the overall rate.
    """
    m = months_per_period(period)
    t = _purchases(transactions, m).mutate(day=_.timestamp.cast("date"))
    per = t.group_by("customer_id").aggregate(c=_.p.min(), days=_.day.nunique())
    per = per.mutate(rep=(_.days >= 2).cast("int64"))
    by = per.group_by("c").aggregate(customers=_.count(), repeaters=_.rep.sum()).mutate(
        cohort=period_first_day(_.c, m)).drop("c")
    total = per.aggregate(customers=_.count(), repeaters=_.rep.sum()).mutate(
        cohort=ibis.null("date"))
    out = by.union(total.select(by.columns))
    return out.mutate(repeat_rate=_.repeaters / _.customers.cast("float64")).select(
        "cohort", "customers", "repeaters", "repeat_rate").order_by(
        [_.cohort.isnull(), "cohort"])
