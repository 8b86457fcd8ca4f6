"""Complaints: how many, about what, how fast resolved, how often repeated, and what follows.

A complaint is an interaction of kind ``complaint`` (any case) opened by the as-of time.
The views (`complaint_views`):

- ``rates``: per period, complaints per 1,000 customers (customers active in the period:
  a purchase, a service interaction, or a contract running in it) and per 1,000
  transactions.
- ``categories``: complaints per category, their share, time to resolve, share resolved
  within the complaint standard (``service.complaint_standard``, applied to complaints at
  every touchpoint), repeats.
- ``resolution``: per period of opening: resolved, median and 90th percentile time to
  resolve (hours on the standard's clock), met / breached / pending and the share within
  the standard with Wilson's 95% interval.
- ``repeats``: per period, complaints opened within ``service.repeat_days`` days after the
  same customer's previous complaint.
- ``churn``: of customers who complained (from their first complaint), the share who
  churned within ``service.followup_days`` days (their relationship ended, or, without
  contracts, no purchase in those days), split by whether that complaint was resolved
  within the standard, against customers who contacted the company without ever
  complaining (from their first interaction); relative risk with its 95% interval (log
  method). Only starts whose follow-up ended by the as-of time count, and only customers
  still customers at the start (a contract running, or a purchase before).
- ``moments``: moments of truth: for each standard's breach (from a customer's first
  breach, against customers whose interactions under it were never breached, from their
  first) and each complaint category (from the first complaint in it, against customers
  without complaints), the share followed within the follow-up days by churn, and by a
  detractor answer (NPS 0-6, among those who answered in those days); relative risks with
  intervals, ranked.
- ``silent``: silent dissatisfaction: of the customers whose latest survey answer is a
  detractor's or dissatisfied (satisfaction below ``service.dissatisfied_below`` of its
  scale), how many never complained, against those who did, and the silent unhappy
  customers this implies in the whole base.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from cvm._intervals import wilson
from cvm.errors import InputError
from cvm.service.compliance import PERIOD_UNITS, statuses
from cvm.service.standards import Standard

__all__ = ["COMPLAINT_VIEWS", "ComplaintViews", "complaint_views", "relative_risk"]

COMPLAINT_VIEWS = ("rates", "categories", "resolution", "repeats", "churn", "moments",
                   "silent")
_Z = 1.959963984540054
_NO_LIMIT = 10**12  # no complaint standard: nothing is ever late


@dataclass
class ComplaintViews:
    """The complaint views asked for, by name, with notes on what could not be shown."""

    views: list[str]
    tables: dict[str, pa.Table]
    as_of: dt.datetime
    period: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {name: self.tables[name].to_pylist() for name in self.views}


def relative_risk(a: int, n1: int, c: int, n0: int) -> tuple[float, float, float]:
    """(a / n1) / (c / n0) with its 95% interval on the log scale (Katz et al. 1978, via
    statsmodels' Table2x2); the interval is NaN when a cell is empty."""
    if n1 == 0 or n0 == 0 or c == 0:
        return math.nan, math.nan, math.nan
    rr = (a / n1) / (c / n0)
    if a == 0 or a == n1 or c == n0:
        return rr, math.nan, math.nan
    from statsmodels.stats.contingency_tables import Table2x2

    lo, hi = Table2x2(np.array([[a, n1 - a], [c, n0 - c]], dtype=float)).riskratio_confint(
        alpha=0.05)
    return rr, float(lo), float(hi)


def _floor(day: dt.date, period: str) -> dt.date:
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return dt.date(day.year, 1, 1)


def _next(day: dt.date, period: str) -> dt.date:
    if period == "week":
        return day + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(y, m + 1, 1)


def _period(ts, period: str):
    return ts.truncate(PERIOD_UNITS[period]).date()


def _seconds(ts):
    return ts.truncate("s").epoch_seconds().cast("int64")


class _Data:
    """The workspace's tables as the views need them, cut at the as-of time."""

    def __init__(self, ws, facade, as_of: dt.datetime):
        self.ws, self.facade, self.as_of = ws, facade, as_of
        self.settings = ws.settings.service
        asof = ibis.literal(as_of, type="timestamp")
        i = ws.table("interactions")
        self.interactions = i.filter(i.opened_at <= asof)
        self.complaints = self.interactions.filter(
            self.interactions.kind.lower() == "complaint")
        self.has = {t: ws.has_rows(t) for t in ("customers", "transactions", "contracts",
                                                "survey_responses", "survey_items")}
        if self.has["transactions"]:
            t = ws.table("transactions")
            self.transactions = t.filter(t.timestamp <= asof)
        else:
            self.transactions = None
        self.standards = facade.standards()
        self.standard = self._complaint_standard()
        cals = facade._calendars([self.standard], as_of)
        self.statuses = statuses(self.complaints, self.standard, as_of,
                                 cals[self.standard.name])
        self.days = self.settings.followup_days

    def _complaint_standard(self) -> Standard:
        """The complaint standard, applied to complaints at every touchpoint."""
        from cvm.service.clock import Clock

        name = self.settings.complaint_standard
        found = [s for s in self.standards if s.name == name]
        if not found:
            return Standard("(none)", "all", ("complaint",), "resolution", _NO_LIMIT,
                            Clock.elapsed(), 1.0)
        return dataclasses.replace(found[0], touchpoint="all", kinds=("complaint",))

    @property
    def judged(self) -> bool:
        return self.standard.limit_seconds != _NO_LIMIT

    # ---- churn after a start day -------------------------------------------------------
    def followed(self, starts):
        """``starts`` (customer_id, day) of customers still customers that day whose
        follow-up ended by the as-of time, with ``churned`` (0/1) within the follow-up
        days: the relationship ended (contracts), or no purchase (no contracts)."""
        from cvm.churn.cohorts import relationship_spans

        last = self.as_of.date() - dt.timedelta(days=self.days)
        s = starts.filter(starts.day <= last)
        horizon = s.day + ibis.interval(days=self.days)
        parts = []
        if self.has["contracts"]:
            spans = relationship_spans(self.ws.table("contracts"), self.as_of.date())
            sp = spans.select(c_id=spans.customer_id, c_start=spans.start, c_end=spans.end)
            j = s.inner_join(sp, s.customer_id == sp.c_id)
            j = j.filter((j.c_start <= j.day) & (j.c_end.isnull() | (j.c_end > j.day)))
            churned = (j.c_end.notnull() & (j.c_end <= j.day + ibis.interval(days=self.days)))
            parts.append(j.select("customer_id", "day", *[c for c in s.columns
                                                          if c not in ("customer_id", "day")],
                                  churned=churned.cast("int64")))
            s = s.anti_join(sp, s.customer_id == sp.c_id)
        if self.transactions is not None:
            t = self.transactions.select(t_id=self.transactions.customer_id,
                                         t_day=self.transactions.timestamp.date())
            j = s.left_join(t, (s.customer_id == t.t_id) & (t.t_day <= horizon))
            g = j.group_by(list(s.columns)).aggregate(
                before=(j.t_day <= j.day).cast("int64").sum().fill_null(0),
                after=(j.t_day > j.day).cast("int64").sum().fill_null(0))
            g = g.filter(g.before > 0)
            parts.append(g.select(*s.columns, churned=(g.after == 0).cast("int64")))
        if not parts:
            return None
        out = parts[0]
        for p in parts[1:]:
            out = out.union(p)
        return out

    def nps_answers(self):
        """(customer_id, answered_at, score) of the 0-10 NPS item, or None."""
        if not (self.has["survey_responses"] and self.has["survey_items"]):
            return None
        from cvm.survey.answers import nps_item, survey_definition  # scipy: only when needed

        try:
            definition = survey_definition(self.ws)
            item = nps_item(definition)
        except InputError:
            return None
        r = self.ws.table("survey_responses")
        r = r.filter((r.survey == definition.attrs["survey"]) & (r.item == item)
                     & r.customer_id.notnull() & r.timestamp.notnull()
                     & (r.timestamp <= ibis.literal(self.as_of, type="timestamp")))
        return r.select("customer_id", answered_at=r.timestamp, score=r.answer)


def _first(t, day_col="opened_at", by=("customer_id",)):
    """The first row per ``by`` (earliest ``day_col``, then interaction_id)."""
    w = ibis.window(group_by=list(by), order_by=[t[day_col], t.interaction_id])
    return t.mutate(_rn=ibis.row_number().over(w)).filter(lambda x: x._rn == 0).drop("_rn")


def _rates(d: _Data, period: str) -> pa.Table:
    first = d.interactions.opened_at.min().to_pyarrow().as_py()
    grid, p = [], _floor(first.date() if first else d.as_of.date(), period)
    while p <= d.as_of.date():
        grid.append((p, _next(p, period)))
        p = _next(p, period)
    g = ibis.memtable(pa.table({"period_start": pa.array([a for a, _ in grid], pa.date32()),
                                "period_end": pa.array([b for _, b in grid], pa.date32())}))
    i = d.interactions
    active = i.select("customer_id", period_start=_period(i.opened_at, period))
    tx = None
    if d.transactions is not None:
        t = d.transactions
        tx = t.select("customer_id", period_start=_period(t.timestamp, period))
        active = active.union(tx)
    if d.has["contracts"]:
        c = d.ws.table("contracts")
        c = c.select(c_id=c.customer_id, c_start=c.start.cast("date"), c_end=c.end.cast("date"))
        j = g.cross_join(c).filter(lambda x: (x.c_start < x.period_end)
                                   & (x.c_end.isnull() | (x.c_end >= x.period_start)))
        active = active.union(j.select(customer_id=j.c_id, period_start=j.period_start))
    active = active.distinct().group_by("period_start").aggregate(customers=ibis._.count())
    c = d.complaints
    comp = c.group_by(period_start=_period(c.opened_at, period)).aggregate(
        complaints=c.count(), complainants=c.customer_id.nunique())
    frames = [active.to_pandas(), comp.to_pandas()]
    if tx is not None:
        frames.append(tx.group_by("period_start").aggregate(
            transactions=ibis._.count()).to_pandas())
    df = pd.DataFrame({"period_start": [a for a, _ in grid]})
    for f in frames:
        f["period_start"] = pd.to_datetime(f["period_start"]).dt.date
        df = df.merge(f, on="period_start", how="left")
    for col in ("customers", "complaints", "complainants", "transactions"):
        df[col] = df[col].fillna(0).astype("int64") if col in df else 0
    df["per_1000_customers"] = 1000 * df["complaints"] / df["customers"].where(
        df["customers"] > 0)
    df["per_1000_transactions"] = 1000 * df["complaints"] / df["transactions"].where(
        df["transactions"] > 0)
    return pa.Table.from_pandas(df[["period_start", "customers", "transactions", "complaints",
                                    "complainants", "per_1000_customers",
                                    "per_1000_transactions"]], preserve_index=False)


def _repeat_flags(d: _Data):
    """Complaints with ``repeat`` = 1 when opened within repeat_days after the same
    customer's previous complaint."""
    c = d.complaints
    w = ibis.window(group_by="customer_id", order_by=[c.opened_at, c.interaction_id])
    prev = c.opened_at.lag().over(w)
    gap = _seconds(c.opened_at) - _seconds(prev)
    return c.mutate(repeat=ibis.ifelse(prev.notnull() & (gap <= d.settings.repeat_days * 86400),
                                       1, 0))


def _judged(df: pd.DataFrame, d: _Data) -> pd.DataFrame:
    """Add within_standard (met / (met + breached)) and its interval."""
    judged = df["met"] + df["breached"]
    df["within_standard"] = df["met"] / judged.where(judged > 0)
    df["ci_low"], df["ci_high"] = wilson(df["met"], judged)
    if not d.judged:
        for col in ("met", "breached", "pending", "within_standard", "ci_low", "ci_high"):
            df[col] = np.nan
    return df


def _status_aggregates(s, keys: list[str]):
    def count(v):
        return ibis.ifelse(s.status == v, 1, 0).sum()

    hours = s.time_seconds.cast("float64") / 3600
    return s.group_by(keys).aggregate(
        complaints=s.count(), resolved=s.measured_at.count(),
        median_hours=hours.median(), p90_hours=hours.quantile(0.9),
        met=count("met"), breached=count("breached"), pending=count("pending"))


def _resolution(d: _Data, period: str) -> pa.Table:
    s = d.statuses.mutate(period_start=_period(d.statuses.opened_at, period))
    df = _status_aggregates(s, ["period_start"]).to_pandas()
    df["period_start"] = pd.to_datetime(df["period_start"]).dt.date
    df = _judged(df.sort_values("period_start"), d)
    df["unresolved"] = df["complaints"] - df["resolved"]
    df["standard"] = d.standard.name
    df["limit_hours"] = d.standard.limit_seconds / 3600 if d.judged else np.nan
    df["target"] = d.standard.target if d.judged else np.nan
    return pa.Table.from_pandas(df[[
        "period_start", "complaints", "resolved", "unresolved", "median_hours", "p90_hours",
        "standard", "limit_hours", "target", "met", "breached", "pending", "within_standard",
        "ci_low", "ci_high"]], preserve_index=False)


def _categories(d: _Data) -> pa.Table:
    s = d.statuses.mutate(category=d.statuses.category.fill_null("(none)"))
    agg = _status_aggregates(s, ["category"])
    r = _repeat_flags(d)
    reps = r.group_by(category=r.category.fill_null("(none)")).aggregate(
        complainants=r.customer_id.nunique(), repeats=r.repeat.sum())
    df = agg.to_pandas().merge(reps.to_pandas(), on="category", how="left")
    df["share"] = df["complaints"] / df["complaints"].sum()
    df = _judged(df.sort_values(["complaints", "category"], ascending=[False, True]), d)
    return pa.Table.from_pandas(df[[
        "category", "complaints", "share", "complainants", "repeats", "resolved",
        "median_hours", "p90_hours", "within_standard", "ci_low", "ci_high"]],
        preserve_index=False)


def _repeats(d: _Data, period: str) -> pa.Table:
    r = _repeat_flags(d)
    r = r.mutate(period_start=_period(r.opened_at, period))
    g = r.group_by("period_start").aggregate(
        complaints=r.count(), complainants=r.customer_id.nunique(),
        repeat_complaints=r.repeat.sum(),
        repeat_customers=r.customer_id.nunique(where=r.repeat == 1))
    df = g.to_pandas()
    df["period_start"] = pd.to_datetime(df["period_start"]).dt.date
    df = df.sort_values("period_start")
    df["repeat_share"] = df["repeat_complaints"] / df["complaints"]
    df["repeat_days"] = d.settings.repeat_days
    return pa.Table.from_pandas(df[["period_start", "complaints", "complainants",
                                    "repeat_complaints", "repeat_share", "repeat_customers",
                                    "repeat_days"]], preserve_index=False)


def _no_complaint_starts(d: _Data):
    """Customers who contacted the company but never complained: their first interaction."""
    i = d.interactions
    ever = d.complaints.select(x_id=d.complaints.customer_id).distinct()
    quiet = i.anti_join(ever, i.customer_id == ever.x_id)
    f = _first(quiet)
    return f.select("customer_id", day=f.opened_at.date())


def _rate_rows(counts: pd.DataFrame, ref: tuple[int, int] | None) -> pd.DataFrame:
    """Rates with Wilson intervals, and relative risks against ``ref`` (events, n)."""
    counts = counts.copy()
    counts["rate"] = counts["events"] / counts["customers"].where(counts["customers"] > 0)
    counts["ci_low"], counts["ci_high"] = wilson(counts["events"], counts["customers"])
    rr = [relative_risk(int(a), int(n), *ref) if ref is not None else (np.nan,) * 3
          for a, n in zip(counts["events"], counts["customers"], strict=True)]
    counts["relative_risk"] = [x[0] for x in rr]
    counts["rr_ci_low"] = [x[1] for x in rr]
    counts["rr_ci_high"] = [x[2] for x in rr]
    return counts


def _churn(d: _Data) -> tuple[pa.Table, list[str]]:
    s = _first(d.statuses)
    starts = s.select("customer_id", day=s.opened_at.date(),
                      group=ibis.ifelse(s.status == "met", "complaint, resolved within standard",
                                        "complaint, not resolved within standard"))
    q = _no_complaint_starts(d)
    starts = starts.union(q.mutate(group=ibis.literal("no complaint")))
    f = d.followed(starts)
    cols = ["group", "customers", "churned", "churn_rate", "ci_low", "ci_high",
            "relative_risk", "rr_ci_low", "rr_ci_high"]
    if f is None:
        return pa.table({c: [] for c in cols}), [
            "churn after complaints needs contracts or transactions"]
    g = f.group_by("group").aggregate(customers=f.count(), events=f.churned.sum()).to_pandas()
    counts = {r["group"]: (int(r["events"]), int(r["customers"])) for _, r in g.iterrows()}
    within = counts.get("complaint, resolved within standard", (0, 0))
    late = counts.get("complaint, not resolved within standard", (0, 0))
    names = (["complaint, resolved within standard", "complaint, not resolved within standard"]
             if d.judged else [])
    rows = [(n, *counts.get(n, (0, 0))) for n in names]
    rows.append(("complaint", within[0] + late[0], within[1] + late[1]))
    rows.append(("no complaint", *counts.get("no complaint", (0, 0))))
    df = pd.DataFrame(rows, columns=["group", "events", "customers"])
    ref = counts.get("no complaint", (0, 0))
    df = _rate_rows(df, ref)
    df.loc[df["group"] == "no complaint", ["relative_risk", "rr_ci_low", "rr_ci_high"]] = np.nan
    df = df.rename(columns={"events": "churned", "rate": "churn_rate"})
    notes = [] if d.judged else ["no complaint standard (service.complaint_standard): "
                                 "complaints are not split by resolution in time"]
    return pa.Table.from_pandas(df[cols], preserve_index=False), notes


def _detractor_after(d: _Data, starts, answers):
    """``starts`` (customer_id, day, ...) with ``churned`` replaced by ``detractor``: the
    first NPS answer in the follow-up days is 0-6; only customers who answered then."""
    a = answers.select(a_id=answers.customer_id, a_at=answers.answered_at, score=answers.score)
    j = starts.inner_join(a, (starts.customer_id == a.a_id) & (a.a_at.date() > starts.day)
                          & (a.a_at.date() <= starts.day + ibis.interval(days=d.days)))
    w = ibis.window(group_by=[j.customer_id, j.moment, j.name], order_by=[j.a_at, j.score])
    j = j.mutate(_rn=ibis.row_number().over(w))
    j = j.filter(j._rn == 0)
    return j.select("customer_id", "moment", "name", events=(j.score <= 6).cast("int64"))


def _moments(d: _Data) -> tuple[pa.Table, list[str]]:
    from cvm.service.compliance import statuses as covered

    facade_cals = d.facade._calendars(d.standards, d.as_of)
    exposed, reference = [], []
    for std in d.standards:
        s = covered(d.interactions, std, d.as_of, facade_cals[std.name])
        breach = s.filter(s.status == "breached")
        fb = _first(breach)
        exposed.append(fb.select("customer_id", day=fb.opened_at.date(),
                                 moment=ibis.literal("breach"), name=ibis.literal(std.name)))
        late = breach.select(b_id=breach.customer_id).distinct()
        never = s.anti_join(late, s.customer_id == late.b_id)
        fn = _first(never)
        reference.append(fn.select("customer_id", day=fn.opened_at.date(),
                                   moment=ibis.literal("breach"), name=ibis.literal(std.name)))
    c = d.complaints.mutate(category=d.complaints.category.fill_null("(none)"))
    fc = _first(c, by=("customer_id", "category"))
    exposed.append(fc.select("customer_id", day=fc.opened_at.date(),
                             moment=ibis.literal("complaint"), name=fc.category))
    q = _no_complaint_starts(d)
    ref_complaint = q.mutate(moment=ibis.literal("complaint"), name=ibis.literal("*"))
    ex = exposed[0]
    for e in exposed[1:]:
        ex = ex.union(e)
    rf = reference[0]
    for r in [*reference[1:], ref_complaint]:
        rf = rf.union(r)
    both = ex.mutate(side=ibis.literal("exposed")).union(rf.mutate(side=ibis.literal("ref")))
    notes, frames = [], []
    f = d.followed(both)
    if f is None:
        notes.append("churn after moments needs contracts or transactions")
    else:
        g = f.group_by(["moment", "name", "side"]).aggregate(
            customers=f.count(), events=f.churned.sum()).to_pandas()
        frames.append(g.assign(outcome="churn"))
    answers = d.nps_answers()
    if answers is None:
        notes.append("detractor answers need a survey with one 0-10 NPS item")
    else:
        g = _detractor_after(d, both.filter(both.side == "exposed"), answers)
        h = _detractor_after(d, both.filter(both.side == "ref"), answers)
        gg = g.group_by(["moment", "name"]).aggregate(customers=g.count(),
                                                       events=g.events.sum()).to_pandas()
        hh = h.group_by(["moment", "name"]).aggregate(customers=h.count(),
                                                       events=h.events.sum()).to_pandas()
        frames.append(pd.concat([gg.assign(side="exposed"), hh.assign(side="ref")])
                      .assign(outcome="detractor"))
    cols = ["outcome", "rank", "moment", "name", "touchpoint", "customers", "events", "rate",
            "ci_low", "ci_high", "reference_customers", "reference_rate", "relative_risk",
            "rr_ci_low", "rr_ci_high"]
    if not frames:
        return pa.table({c: [] for c in cols}), notes
    allf = pd.concat(frames, ignore_index=True)
    allf["customers"] = allf["customers"].astype("int64")
    allf["events"] = allf["events"].fillna(0).astype("int64")
    touch = {s.name: s.touchpoint for s in d.standards}
    out = []
    for (outcome, moment, name), grp in allf[allf["side"] == "exposed"].groupby(
            ["outcome", "moment", "name"]):
        ref_name = name if moment == "breach" else "*"
        ref = allf[(allf["side"] == "ref") & (allf["outcome"] == outcome)
                   & (allf["moment"] == moment) & (allf["name"] == ref_name)]
        rn = (int(ref["events"].sum()), int(ref["customers"].sum()))
        row = {"outcome": outcome, "moment": moment, "name": name,
               "touchpoint": touch.get(name) if moment == "breach" else None,
               "customers": int(grp["customers"].sum()), "events": int(grp["events"].sum()),
               "reference_customers": rn[1],
               "reference_rate": rn[0] / rn[1] if rn[1] else np.nan, "_ref": rn}
        out.append(row)
    df = pd.DataFrame(out)
    if df.empty:
        return pa.table({c: [] for c in cols}), notes
    parts = []
    for _, grp in df.groupby("outcome", sort=True):
        rates = []
        for _, r in grp.iterrows():
            one = _rate_rows(pd.DataFrame([r]), r["_ref"])
            rates.append(one)
        grp = pd.concat(rates, ignore_index=True)
        grp = grp.sort_values(["relative_risk", "rate", "moment", "name"],
                              ascending=[False, False, True, True], na_position="last")
        grp["rank"] = np.arange(1, len(grp) + 1)
        parts.append(grp)
    df = pd.concat(parts, ignore_index=True)
    return pa.Table.from_pandas(df[cols], preserve_index=False), notes


def _silent(d: _Data) -> tuple[pa.Table, list[str]]:
    cols = ["group", "respondents", "unhappy", "unhappy_share", "complained", "silent",
            "silent_share", "ci_low", "ci_high", "silent_per_complainer", "customers",
            "estimated_silent", "estimated_low", "estimated_high"]
    empty = pa.table({c: [] for c in cols})
    if not (d.has["survey_responses"] and d.has["survey_items"]):
        return empty, ["silent dissatisfaction needs survey answers (survey_responses, "
                       "survey_items)"]
    from cvm.survey.answers import survey_definition  # scipy: only when there are answers

    try:
        definition = survey_definition(d.ws)
    except InputError as exc:
        return empty, [f"silent dissatisfaction: {exc}"]
    name = definition.attrs["survey"]
    constructs = definition["construct"].str.lower()
    nps_items = list(definition["item"][(constructs == "nps") & (definition["scale_min"] == 0)
                                        & (definition["scale_max"] == 10)])
    sat_items = list(definition["item"][constructs == "satisfaction"])
    if not nps_items and not sat_items:
        return empty, [f"survey '{name}' has no nps or satisfaction item"]
    items = ibis.memtable(pa.Table.from_pandas(
        definition[["item", "scale_min", "scale_max"]].rename(columns={"item": "i_item"}),
        preserve_index=False))
    r = d.ws.table("survey_responses")
    r = r.filter((r.survey == name) & r.customer_id.notnull()
                 & r.item.isin(nps_items + sat_items)
                 & (r.timestamp.isnull()
                    | (r.timestamp <= ibis.literal(d.as_of, type="timestamp"))))
    r = r.inner_join(items, r.item == items.i_item)
    unit = (r.answer - r.scale_min) / (r.scale_max - r.scale_min)
    per = r.group_by(["customer_id", "respondent_id"]).aggregate(
        at=r.timestamp.max(),
        nps=r.answer.max(where=r.item.isin(nps_items or ["\x00"])),
        sat=unit.mean(where=r.item.isin(sat_items or ["\x00"])))
    w = ibis.window(group_by="customer_id",
                    order_by=[ibis.desc(per.at), ibis.desc(per.respondent_id)])
    latest = per.mutate(_rn=ibis.row_number().over(w))
    latest = latest.filter(latest._rn == 0)
    ever = d.complaints.select(x_id=d.complaints.customer_id).distinct()
    j = latest.left_join(ever, latest.customer_id == ever.x_id)
    cut = d.settings.dissatisfied_below
    people = j.select(detractor=(j.nps <= 6).fill_null(False),
                      dissatisfied=(j.sat < cut).fill_null(False),
                      complained=j.x_id.notnull()).to_pandas()
    customers = _customer_count(d)
    n = len(people)
    rows = []
    groups = [("detractor", people["detractor"], bool(nps_items)),
              ("dissatisfied", people["dissatisfied"], bool(sat_items)),
              ("detractor or dissatisfied", people["detractor"] | people["dissatisfied"],
               True)]
    for label, mask, ok in groups:
        if not ok:
            continue
        unhappy = int(mask.sum())
        complained = int((mask & people["complained"]).sum())
        silent = unhappy - complained
        lo, hi = wilson([silent], [unhappy])
        elo, ehi = wilson([silent], [n])
        rows.append({"group": label, "respondents": n, "unhappy": unhappy,
                     "unhappy_share": unhappy / n if n else np.nan, "complained": complained,
                     "silent": silent, "silent_share": silent / unhappy if unhappy else np.nan,
                     "ci_low": lo[0], "ci_high": hi[0],
                     "silent_per_complainer": silent / complained if complained else np.nan,
                     "customers": customers,
                     "estimated_silent": customers * silent / n if n else np.nan,
                     "estimated_low": customers * elo[0], "estimated_high": customers * ehi[0]})
    return pa.Table.from_pandas(pd.DataFrame(rows, columns=cols), preserve_index=False), []


def _customer_count(d: _Data) -> int:
    ids = d.interactions.select("customer_id")
    if d.has["customers"]:
        ids = ids.union(d.ws.table("customers").select("customer_id"))
    if d.transactions is not None:
        ids = ids.union(d.transactions.select("customer_id"))
    return int(ids.distinct().count().to_pyarrow().as_py())


def complaint_views(ws, facade, view: str, period: str, as_of: dt.datetime) -> ComplaintViews:
    """The complaint views (``view``: one of `COMPLAINT_VIEWS`, or all) up to ``as_of``."""
    if view != "all" and view not in COMPLAINT_VIEWS:
        raise InputError(f"unknown view {view!r}; expected all or one of "
                         f"{', '.join(COMPLAINT_VIEWS)}")
    if period not in PERIOD_UNITS:
        raise InputError(f"period must be one of {', '.join(PERIOD_UNITS)}, got {period!r}")
    facade._interactions()  # says so when there are none
    d = _Data(ws, facade, as_of)
    names = list(COMPLAINT_VIEWS) if view == "all" else [view]
    tables, notes = {}, []
    for name in names:
        if name == "rates":
            tables[name] = _rates(d, period)
        elif name == "categories":
            tables[name] = _categories(d)
        elif name == "resolution":
            tables[name] = _resolution(d, period)
        elif name == "repeats":
            tables[name] = _repeats(d, period)
        else:
            fn = {"churn": _churn, "moments": _moments, "silent": _silent}[name]
            tables[name], more = fn(d)
            notes += more
    return ComplaintViews(names, tables, as_of, period, notes)
