"""Compliance with service standards: each interaction met, breached or pending, counted per
standard, touchpoint, period and group, with the breaches listed.

An interaction a standard covers (its touchpoint, one of its kinds, opened by the as-of
time) is timed from ``opened_at`` to the standard's measure (``first_response_at`` or
``resolved_at``) on the standard's clock (`cvm.service.clock`):

- answered by the as-of time: **met** when the time is at most the limit, else **breached**;
- not answered by then: **breached** once the limit has passed at the as-of time, else
  **pending**.

Compliance = met / (met + breached), with Wilson's 95% interval; pending interactions are
not yet judged. The median and 90th percentile time are of the answered interactions.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from cvm._intervals import wilson
from cvm.errors import InputError
from cvm.service.clock import Calendar, epoch_seconds, from_epoch
from cvm.service.standards import Standard

__all__ = ["PERIOD_UNITS", "INTERACTION_GROUPS", "breach_list", "compliance_table",
           "group_columns", "statuses"]

#: ``--by`` periods and the truncation unit of each
PERIOD_UNITS = {"week": "W", "month": "M", "quarter": "Q", "year": "Y"}
#: ``--by`` columns of the interactions table itself
INTERACTION_GROUPS = ("touchpoint", "kind", "category", "outcome")
_STATUS = ("met", "breached", "pending")


def group_columns(by: list[str], customer_columns: list[str]) -> tuple[str | None, list[str]]:
    """(the period of ``by``, if any; the group columns): each of ``by`` is a period, an
    interactions column or a customers column."""
    period, groups = None, []
    for b in by:
        if b in PERIOD_UNITS:
            if period is not None:
                raise InputError(f"--by names two periods ({period}, {b}); choose one")
            period = b
        elif b in INTERACTION_GROUPS or b in customer_columns:
            if b not in groups:
                groups.append(b)
        else:
            attrs = [c for c in customer_columns if c != "customer_id"]
            raise InputError(f"--by {b!r}: expected a period ({', '.join(PERIOD_UNITS)}), an "
                             f"interactions column ({', '.join(INTERACTION_GROUPS)}) or a "
                             f"customer attribute ({', '.join(attrs) or 'none imported'})")
    return period, groups


def _seconds_of_day(ts):
    return (ts.hour().cast("int64") * 3600 + ts.minute().cast("int64") * 60
            + ts.second().cast("int64"))


def _open_time(t, ts_col: str, cal, prefix: str, pieces: int):
    """``t`` joined with the calendar day of ``ts_col``; returns (table, B expression)."""
    c = cal.rename(f"{prefix}{{name}}")
    day = f"{prefix}_of"
    t = t.mutate(**{day: t[ts_col].date()})
    j = t.left_join(c, t[day] == c[f"{prefix}day"])
    sec = _seconds_of_day(j[ts_col])
    b = j[f"{prefix}base"]
    for k in range(pieces):
        s, e = j[f"{prefix}s{k}"], j[f"{prefix}e{k}"]
        b = b + ibis.greatest(ibis.least(sec - s, e - s), 0)
    return j, b


def _covered(t, standards: list[Standard]):
    """``t`` joined with the standards covering each row (a row per interaction and
    standard): ``_standard``, ``_std_touchpoint``, ``_limit`` and ``_end`` (the measure's
    time). One scan of ``t`` for any number of standards, as a join with a small table of
    them (a row per standard and kind)."""
    specs = [(s.name, None if s.touchpoint == "all" else s.touchpoint, kind,
              s.column == "resolved_at", s.limit_seconds, s.touchpoint)
             for s in standards for kind in (s.kinds or (None,))]
    names = ["_standard", "_s_touchpoint", "_s_kind", "_by_resolution", "_limit",
             "_std_touchpoint"]
    m = ibis.memtable(pa.table(
        {n: [row[i] for row in specs] for i, n in enumerate(names)},
        schema=pa.schema([("_standard", pa.string()), ("_s_touchpoint", pa.string()),
                          ("_s_kind", pa.string()), ("_by_resolution", pa.bool_()),
                          ("_limit", pa.int64()), ("_std_touchpoint", pa.string())])))
    on = ((m._s_touchpoint.isnull() | (t.touchpoint == m._s_touchpoint))
          & (m._s_kind.isnull() | (t.kind.lower() == m._s_kind)))
    j = t.inner_join(m, on)
    return j.mutate(_end=ibis.ifelse(j._by_resolution, j.resolved_at, j.first_response_at))


def statuses(interactions, standards: Standard | list[Standard], as_of: dt.datetime,
             calendar: Calendar | None, *, period: str | None = None,
             groups: tuple[str, ...] = (), by_touchpoint: bool = False):
    """One row per interaction and standard covering it (its touchpoint, one of its kinds,
    opened by the as-of time): ``standard``, ``touchpoint``, the period and groups asked
    for, ``interaction_id``, ``customer_id``, ``kind``, ``category``, ``opened_at``,
    ``measured_at`` (the measure, null unless answered by ``as_of``), ``time_seconds`` (on
    the clock, null unless answered), ``clock_seconds`` (the time, or the time so far at
    ``as_of``) and ``status`` (met, breached, pending).

    The ``standards`` share one clock (``calendar`` is its calendar, None when elapsed).
    ``interactions`` may carry customer attributes joined on for the groups."""
    standards = [standards] if isinstance(standards, Standard) else list(standards)
    if len({s.clock.name for s in standards}) != 1:
        raise ValueError("statuses: the standards must share one clock")
    clock = standards[0].clock
    asof = ibis.literal(as_of, type="timestamp")
    t = interactions.filter(interactions.opened_at <= asof)
    t = _covered(t, standards)
    end = t._end
    t = t.mutate(measured_at=ibis.ifelse(end.notnull() & (end <= asof), end,
                                         ibis.null("timestamp")))
    if clock.is_elapsed:
        opened = t.opened_at.truncate("s").epoch_seconds().cast("int64")
        time = t.measured_at.truncate("s").epoch_seconds().cast("int64") - opened
        so_far = asof.truncate("s").epoch_seconds().cast("int64") - opened
    else:
        cal = ibis.memtable(calendar.day_table())
        pieces = (len(cal.columns) - 2) // 2
        t, b_open = _open_time(t, "opened_at", cal, "o_", pieces)
        t = t.mutate(_b_open=b_open)
        t, b_end = _open_time(t, "measured_at", cal, "m_", pieces)
        b_asof = int(calendar.at(np.array([epoch_seconds(as_of)]))[0])
        time = ibis.ifelse(t.measured_at.notnull(), b_end - t._b_open, ibis.null("int64"))
        so_far = b_asof - t._b_open
    limit = t._limit
    answered = t.measured_at.notnull()
    time = ibis.ifelse(answered, time, ibis.null("int64"))
    clock_seconds = ibis.ifelse(answered, time, so_far)
    status = ibis.cases((answered & (time <= limit), "met"), (answered, "breached"),
                        (so_far > limit, "breached"), else_="pending")
    cols = {"standard": t._standard,
            "touchpoint": t.touchpoint if by_touchpoint else t._std_touchpoint}
    if period is not None:
        cols["period_start"] = t.opened_at.truncate(PERIOD_UNITS[period]).date()
    for g in groups:
        if g != "touchpoint":
            cols[g] = t[g].cast("string").fill_null("(unknown)")
    return t.select(**cols, interaction_id=t.interaction_id, customer_id=t.customer_id,
                    kind=t.kind, category=t.category, opened_at=t.opened_at,
                    measured_at=t.measured_at, time_seconds=time,
                    clock_seconds=clock_seconds, status=status)


def compliance_table(rows, standards: list[Standard], keys: list[str],
                     every_standard: bool = True) -> pa.Table:
    """Per standard and ``keys`` (touchpoint, period, groups): interactions ``n``, ``met``,
    ``breached``, ``pending``, ``compliance`` with its 95% interval, whether it meets the
    target, and the median and 90th percentile time (seconds on the clock) of the answered
    interactions. ``rows`` is the union of `statuses` of ``standards``. With
    ``every_standard`` (no period or group asked for), every standard has a row, if only
    with n = 0."""
    def count(s):
        return ibis.ifelse(rows.status == s, 1, 0).sum()

    agg = rows.group_by(["standard", *keys]).aggregate(
        n=rows.count(), **{s: count(s) for s in _STATUS},
        median_seconds=rows.time_seconds.cast("float64").median(),
        p90_seconds=rows.time_seconds.cast("float64").quantile(0.9)).to_pandas()
    meta = pd.DataFrame([{"standard": s.name, "order": i, "measure": s.measure,
                          "clock": s.clock.name, "limit_seconds": s.limit_seconds,
                          "target": s.target, "std_touchpoint": s.touchpoint}
                         for i, s in enumerate(standards)])
    if every_standard:  # one row per standard, even without interactions
        agg = meta[["standard", "std_touchpoint"]].rename(
            columns={"std_touchpoint": "touchpoint"}).merge(
            agg, on=["standard", "touchpoint"], how="left")
        for c in ("n", *_STATUS):
            agg[c] = agg[c].fillna(0)
    df = agg.merge(meta.drop(columns="std_touchpoint"), on="standard")
    for c in ("n", *_STATUS):
        df[c] = df[c].astype("int64")
    judged = df["met"] + df["breached"]
    df["compliance"] = np.where(judged > 0, df["met"] / judged.where(judged > 0, 1), np.nan)
    df["ci_low"], df["ci_high"] = wilson(df["met"], judged)
    df["meets_target"] = pd.array([None if np.isnan(c) else bool(c >= t)
                                   for c, t in zip(df["compliance"], df["target"],
                                                   strict=True)], dtype="boolean")
    if "period_start" in df:
        df["period_start"] = pd.to_datetime(df["period_start"]).dt.date
    df = df.sort_values(["order", *keys], kind="stable")
    cols = ["standard", *keys, "measure", "clock", "limit_seconds", "target", "n", *_STATUS,
            "compliance", "ci_low", "ci_high", "meets_target", "median_seconds", "p90_seconds"]
    return pa.Table.from_pandas(df[cols], preserve_index=False)


def breach_list(rows, standards: list[Standard], calendars: dict[str, Calendar | None],
                tiers=None) -> pa.Table:
    """One row per breach: the standard, the interaction, its customer and value ``tier``
    (from ``tiers``: customer_id, tier), when it was opened and due, when answered (empty
    if not yet), the time on the clock and how far over the limit (``over_seconds``: of
    the time so far at the as-of time when not yet answered)."""
    b = rows.filter(rows.status == "breached")
    if tiers is not None:
        tt = tiers.select(t_customer_id=tiers.customer_id, tier=tiers.tier)
        b = b.left_join(tt, b.customer_id == tt.t_customer_id).drop("t_customer_id")
    else:
        b = b.mutate(tier=ibis.null("string"))
    df = b.to_pandas()
    by_name = {s.name: s for s in standards}
    order = {s.name: i for i, s in enumerate(standards)}
    df["_order"] = df["standard"].map(order)
    df = df.sort_values(["_order", "opened_at", "interaction_id"], kind="stable")
    limit = df["standard"].map(lambda n: by_name[n].limit_seconds).astype("int64")
    df["limit_seconds"] = limit
    df["over_seconds"] = (df["clock_seconds"] - limit).astype("int64")
    df["due_at"] = _due(df, by_name, calendars)
    df = df.rename(columns={"measured_at": "answered_at"})
    keep = [c for c in df.columns if c not in ("_order", "status", "clock_seconds")]
    first = ["standard", "touchpoint", "interaction_id", "customer_id", "tier", "kind",
             "category", "opened_at", "due_at", "answered_at", "limit_seconds",
             "time_seconds", "over_seconds"]
    rest = [c for c in keep if c not in first]
    out = df[[*first[:2], *rest, *first[2:]]].reset_index(drop=True)
    out["time_seconds"] = out["time_seconds"].astype("Int64")
    for col in ("opened_at", "due_at", "answered_at"):  # one unit on every engine
        out[col] = out[col].astype("datetime64[us]")
    return pa.Table.from_pandas(out, preserve_index=False)


def _due(df: pd.DataFrame, by_name: dict[str, Standard],
         calendars: dict[str, Calendar | None]) -> pd.Series:
    """When each breached interaction was due: opened + limit on the standard's clock."""
    due = pd.Series(pd.NaT, index=df.index, dtype="datetime64[us]")
    for name, part in df.groupby("standard"):
        std, cal = by_name[name], calendars.get(name)
        opened = part["opened_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
        if cal is None:
            at = opened + std.limit_seconds
        else:
            at = cal.due(cal.at(opened) + std.limit_seconds)
        due[part.index] = [from_epoch(s) if s >= 0 else pd.NaT for s in at]
    return due
