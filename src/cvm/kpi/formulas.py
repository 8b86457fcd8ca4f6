"""The named computations a KPI node can use (``formula`` in kpi.toml), each over the
workspace as known at the end of the as-of day and the results stored for it.

Every formula takes a `Context` and the node's ``params`` and returns a number, or raises
`NoData` saying what is missing (no surveys, no programme, no scores for the day): the node
then has no value and the status ``no_data``. Meanings and definitions: docs/kpi.md.

- ``retention``: of the customers active the day before the month, the share still active
  on the as-of day (``tiers``: only those in these value tiers of the day's scores).
- ``churn``: 1 - retention; with ``reasons`` (prefixes of contract end reasons), the share
  of the same customers whose relationship ended in the month for one of them.
- ``active_customers``, ``new_customers`` (signed up in the month, else first purchase).
- ``tier_share`` (``measure`` revenue or profit), ``tier_customers``: value tiers as of the
  day (`ValueFacade.tiers`); ``revenue_month``: the month's transaction amounts.
- ``clv_total``, ``clv_mean``, ``clv_share`` (``tiers``), ``clv_at_risk``
  (``churn_at_least``): revenue_potential of the day's score history (`cvm score run`).
- ``nps``, ``nps_share`` (``group`` promoters or detractors), ``nps_answers``: NPS answers
  of the last ``months`` calendar months up to the day (`SurveyFacade.nps`).
- ``satisfaction``: the mean answer to the items of ``construct``, rescaled 0-100.
- ``loyal_share``: share of surveyed customers whose loyalty class is loyal (scores).
- ``complaint_rate``, ``complaints``: the month's row of the complaint rates
  (`ServiceFacade.complaints`); ``cases_opened``, ``cases_resolved`` (`CasesFacade.list`).
- ``compliance`` (``measure``), ``breaches``: the month's met / (met + breached) of the
  service standards (`ServiceFacade.compliance`).
- ``opportunity_acceptance``: of the day's opportunities with an outcome, the share
  accepted.
- ``programme_members``, ``programme_active`` (``days``), ``programme_tiered``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from cvm.errors import CvmError
from cvm.scoring.asof import AsOfView

__all__ = ["Context", "GroupView", "NoData", "FORMULAS", "GROUPED", "formula"]


class NoData(Exception):
    """The data a formula needs is not there; the message says what is missing."""


class Context:
    """What the formulas of one month share: the workspace, its as-of view, the month, and
    what several formulas read, read once."""

    def __init__(self, ws, as_of: dt.date, settings: dict[str, Any] | None = None,
                 customers: set[str] | None = None):
        self.ws = ws
        self.as_of = as_of
        #: with ``customers``, every formula of `GROUPED` counts those customers only
        self.customers = customers
        view = AsOfView(ws, as_of)
        self.view = view if customers is None else GroupView(view, customers)
        self.month_start = as_of.replace(day=1)
        self.day_before = self.month_start - dt.timedelta(days=1)
        self.settings = dict(settings or {})
        self._cache: dict[Any, Any] = {}

    def cached(self, key, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def in_month(self, day: dt.date) -> bool:
        return self.month_start <= day <= self.as_of

    # ---- shared reads -------------------------------------------------------------------
    def active(self, day: dt.date) -> set[str]:
        """Customers active on ``day``: a contract running on it, else (no contracts) a
        purchase in the ``active_days`` days up to it."""
        return self.cached(("active", day), lambda: _active(self, day))

    def scores(self) -> pd.DataFrame:
        """The day's scores (one row per customer, `ScoringFacade.list`)."""
        def read():
            if self.as_of not in self.ws.scoring.runs():
                raise NoData(f"no scores stored for {self.as_of}; run `cvm score run "
                             f"--as-of {self.as_of}`")
            df = self.ws.scoring.list(self.as_of).set_index("customer_id")
            return df if self.customers is None else df[df.index.isin(self.customers)]
        return self.cached("scores", read)

    def score(self, name: str) -> pd.Series:
        df = self.scores()
        if name not in df.columns or df[name].isna().all():
            raise NoData(f"the score {name} is absent from the run of {self.as_of} "
                         "(`cvm score notes` says why)")
        return df[name]

    def has_operational_db(self) -> bool:
        """Whether the operational database (programme, opportunities, cases) exists;
        reading it must not create it."""
        return bool(self.ws.settings.programme.database_url) or (
            Path(self.ws.path) / "programme.db").exists()


class GroupView:
    """An `AsOfView` whose tables keep the rows of some customers only (tables without a
    customer_id, such as survey_items, whole): the formulas of `GROUPED` on it give a
    group's value."""

    def __init__(self, view: AsOfView, customers: set[str]):
        import ibis

        self._view = view
        self._ids = ibis.memtable({"customer_id": sorted(customers)})
        self._tables: dict[str, Any] = {}
        self._rows: dict[str, bool] = {}
        self.as_of = view.as_of

    path = property(lambda self: self._view.path)
    settings = property(lambda self: self._view.settings)
    backend = property(lambda self: self._view.backend)

    def table(self, name: str):
        if name not in self._tables:
            t = self._view.table(name)
            if "customer_id" in t.columns:
                t = t.semi_join(self._ids, "customer_id")
            self._tables[name] = t
        return self._tables[name]

    def has_rows(self, name: str) -> bool:
        if name not in self._rows:
            self._rows[name] = (self._view.has_rows(name)
                                and int(self.table(name).count().to_pyarrow().as_py()) > 0)
        return self._rows[name]

    def latest_day(self) -> dt.date | None:
        return self.as_of if self.has_rows("transactions") else None

    @property
    def survey(self):
        from cvm.survey.facade import SurveyFacade

        return SurveyFacade(self)


def _day_end(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def _active(ctx: Context, day: dt.date) -> set[str]:
    v = ctx.view
    if v.has_rows("contracts"):
        c = v.table("contracts")
        rows = c.filter((c.start <= day) & (c.end.isnull() | (c.end > day)))
    elif v.has_rows("transactions"):
        days = int(ctx.settings.get("active_days", 365))
        t = v.table("transactions")
        since = _day_end(day) - dt.timedelta(days=days)
        rows = t.filter((t.timestamp >= since) & (t.timestamp < _day_end(day)))
    else:
        raise NoData("no contracts and no transactions: nobody can be told to be a customer")
    return set(rows.select("customer_id").distinct().to_pyarrow().column(0).to_pylist())


#: name -> function(ctx, **params) -> float
FORMULAS: dict[str, Callable[..., float]] = {}
#: The formulas that can be computed for a group of customers (a segment, a region): those
#: reading the customers' own rows and scores. The others (value tiers ranked over everyone,
#: the service's and the cases' tables, the opportunities) are not split by group.
GROUPED = frozenset({"retention", "churn", "active_customers", "new_customers",
                     "revenue_month", "clv_total", "clv_mean", "clv_share", "clv_at_risk",
                     "nps", "nps_share", "nps_answers", "satisfaction", "loyal_share",
                     "programme_members", "programme_active", "programme_tiered"})


def formula(name: str):
    """Register a formula under ``name``."""
    def add(fn):
        FORMULAS[name] = fn
        return fn
    return add


# ---- customers -----------------------------------------------------------------------------
def _base(ctx: Context, tiers: list[str] | None) -> set[str]:
    base = set(ctx.active(ctx.day_before))  # a copy: the cached set stays whole
    if tiers:
        tier = ctx.score("value_tier")
        base &= set(tier.index[tier.isin(tiers)])
    if not base:
        raise NoData(f"no customer{' of ' + ', '.join(tiers) if tiers else ''} was active on "
                     f"{ctx.day_before}")
    return base


@formula("retention")
def retention(ctx: Context, tiers: list[str] | None = None) -> float:
    base = _base(ctx, tiers)
    return len(base & ctx.active(ctx.as_of)) / len(base)


@formula("churn")
def churn(ctx: Context, reasons: list[str] | None = None, tiers: list[str] | None = None
          ) -> float:
    base = _base(ctx, tiers)
    lost = base - ctx.active(ctx.as_of)
    if reasons is None:
        return len(lost) / len(base)
    if not ctx.view.has_rows("contracts"):
        raise NoData("churn reasons come from the contracts' end_reason; no contracts")
    c = ctx.view.table("contracts")
    ended = (c.filter((c.end >= ctx.month_start) & (c.end <= ctx.as_of))
             .select("customer_id", "end", "end_reason").to_pyarrow().to_pandas())
    ended = ended[ended["customer_id"].isin(lost)].sort_values(["customer_id", "end"])
    last = ended.groupby("customer_id").tail(1)  # a customer's last contract to end
    why = last["end_reason"].fillna("")
    hit = why.map(lambda r: any(r.startswith(p) for p in reasons))
    return int(hit.sum()) / len(base)


@formula("active_customers")
def active_customers(ctx: Context) -> float:
    return float(len(ctx.active(ctx.as_of)))


@formula("new_customers")
def new_customers(ctx: Context) -> float:
    v = ctx.view
    if v.has_rows("customers"):
        c = v.table("customers")
        if int(c.signup_date.notnull().sum().to_pyarrow().as_py() or 0):
            rows = c.filter((c.signup_date >= ctx.month_start) & (c.signup_date <= ctx.as_of))
            return float(rows.customer_id.nunique().to_pyarrow().as_py())
    if not v.has_rows("transactions"):
        raise NoData("no customers with a signup date and no transactions")
    t = v.table("transactions")
    first = t.group_by("customer_id").aggregate(first=t.timestamp.min())
    n = first.filter(first.first >= _day_end(ctx.day_before)).count().to_pyarrow().as_py()
    return float(n)


# ---- value ---------------------------------------------------------------------------------
def _tiers(ctx: Context) -> pd.DataFrame:
    def read():
        if not ctx.view.has_rows("transactions"):
            raise NoData(f"no transactions on or before {ctx.as_of}")
        return ctx.view.value.tiers(ctx.as_of).to_pandas().set_index("tier")
    return ctx.cached("tiers", read)


@formula("tier_share")
def tier_share(ctx: Context, tiers: list[str], measure: str = "revenue") -> float:
    t = _tiers(ctx)
    return float(t.reindex(tiers)[f"{measure}_share"].fillna(0).sum())


@formula("tier_customers")
def tier_customers(ctx: Context, tiers: list[str]) -> float:
    return float(_tiers(ctx).reindex(tiers)["customers"].fillna(0).sum())


@formula("revenue_month")
def revenue_month(ctx: Context) -> float:
    if not ctx.view.has_rows("transactions"):
        raise NoData(f"no transactions on or before {ctx.as_of}")
    t = ctx.view.table("transactions")
    rows = t.filter(t.timestamp >= _day_end(ctx.day_before))
    return float(rows.amount.sum().to_pyarrow().as_py() or 0.0)


# ---- lifetime value ------------------------------------------------------------------------
@formula("clv_total")
def clv_total(ctx: Context) -> float:
    return float(ctx.score("revenue_potential").sum())


@formula("clv_mean")
def clv_mean(ctx: Context) -> float:
    return float(ctx.score("revenue_potential").mean())


def _clv_part(ctx: Context, keep: pd.Series) -> float:
    clv = ctx.score("revenue_potential")
    total = clv.sum()
    if not total:
        raise NoData("total lifetime value is zero")
    return float(clv[keep.reindex(clv.index, fill_value=False)].sum() / total)


@formula("clv_share")
def clv_share(ctx: Context, tiers: list[str]) -> float:
    return _clv_part(ctx, ctx.score("value_tier").isin(tiers))


@formula("clv_at_risk")
def clv_at_risk(ctx: Context, churn_at_least: float = 0.3) -> float:
    return _clv_part(ctx, ctx.score("churn_probability") >= churn_at_least)


# ---- opportunities -------------------------------------------------------------------------
@formula("opportunity_acceptance")
def opportunity_acceptance(ctx: Context) -> float:
    if not ctx.has_operational_db():
        raise NoData("no operational database: no opportunities built")
    try:
        opps = ctx.ws.opportunities.list(ctx.as_of, include_control=False)
    except CvmError as exc:
        raise NoData(str(exc)) from None
    worked = opps[opps["outcome"].notna()]
    if worked.empty:
        raise NoData(f"no outcome recorded yet for the opportunities of {ctx.as_of}")
    return float((worked["outcome"] == "accepted").mean())


# ---- survey --------------------------------------------------------------------------------
def _window_start(ctx: Context, months: int) -> dt.date:
    y, m = divmod(ctx.as_of.year * 12 + ctx.as_of.month - 1 - (months - 1), 12)
    return dt.date(y, m + 1, 1)


def _nps_window(ctx: Context, months: int) -> pd.Series:
    def read():
        if not (ctx.view.has_rows("survey_responses") and ctx.view.has_rows("survey_items")):
            raise NoData(f"no survey answers on or before {ctx.as_of}")
        return ctx.view.survey.nps(month=True, min_n=1)  # counts only: no small-n warning
    table = ctx.cached("nps_months", read)
    first = _window_start(ctx, months).strftime("%Y-%m")
    rows = table[(table["month"] >= first) & (table["month"] <= ctx.as_of.strftime("%Y-%m"))]
    total = rows[["n", "promoters", "detractors"]].sum()
    if not total["n"]:
        raise NoData(f"no NPS answers from {first} to {ctx.as_of}")
    return total


@formula("nps")
def nps(ctx: Context, months: int = 1) -> float:
    t = _nps_window(ctx, months)
    return float(100 * (t["promoters"] - t["detractors"]) / t["n"])


@formula("nps_share")
def nps_share(ctx: Context, group: str, months: int = 1) -> float:
    t = _nps_window(ctx, months)
    return float(t[group] / t["n"])


@formula("nps_answers")
def nps_answers(ctx: Context, months: int = 1) -> float:
    try:
        return float(_nps_window(ctx, months)["n"])
    except NoData:
        if ctx.view.has_rows("survey_responses"):
            return 0.0
        raise


@formula("satisfaction")
def satisfaction(ctx: Context, construct: str = "satisfaction", months: int = 1) -> float:
    v = ctx.view
    if not (v.has_rows("survey_responses") and v.has_rows("survey_items")):
        raise NoData(f"no survey answers on or before {ctx.as_of}")
    items = v.table("survey_items")
    items = items.filter(items.construct == construct)
    r = v.table("survey_responses")
    since = dt.datetime.combine(_window_start(ctx, months), dt.time())
    r = r.filter(r.timestamp >= since)
    j = r.join(items, [r.survey == items.survey, r.item == items.item])
    df = j.select(j.answer, j.scale_min, j.scale_max).to_pyarrow().to_pandas().dropna()
    df = df[df["scale_max"] > df["scale_min"]]
    if df.empty:
        raise NoData(f"no answers to items of the construct {construct!r} from "
                     f"{since.date()} to {ctx.as_of}")
    return float((100 * (df["answer"] - df["scale_min"])
                  / (df["scale_max"] - df["scale_min"])).mean())


@formula("loyal_share")
def loyal_share(ctx: Context) -> float:
    classes = ctx.score("loyalty_class").dropna()
    return float((classes == "loyal").mean())


# ---- service -------------------------------------------------------------------------------
def _month_row(table: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    start = pd.Series(pd.to_datetime(table["period_start"])).dt.date
    return table[(start == ctx.month_start).to_numpy()]


def _needs_interactions(ctx: Context) -> None:
    if not ctx.view.has_rows("interactions"):
        raise NoData(f"no service interactions opened on or before {ctx.as_of}")


def _rates(ctx: Context) -> pd.Series:
    def read():
        _needs_interactions(ctx)
        views = ctx.ws.service.complaints("rates", "month", as_of=ctx.as_of)
        rows = _month_row(views.tables["rates"].to_pandas(), ctx)
        if rows.empty:
            raise NoData(f"no customers active in the month of {ctx.as_of}")
        return rows.iloc[0]
    return ctx.cached("complaint_rates", read)


@formula("complaint_rate")
def complaint_rate(ctx: Context) -> float:
    return float(_rates(ctx)["per_1000_customers"])


@formula("complaints")
def complaints(ctx: Context) -> float:
    return float(_rates(ctx)["complaints"])


def _compliance(ctx: Context) -> pd.DataFrame:
    def read():
        _needs_interactions(ctx)
        table = ctx.ws.service.compliance(ctx.as_of, by=["month"]).to_pandas()
        return _month_row(table, ctx)
    return ctx.cached("compliance", read)


@formula("compliance")
def compliance(ctx: Context, measure: str | None = None) -> float:
    rows = _compliance(ctx)
    if measure is not None:
        rows = rows[rows["measure"] == measure]
    decided = rows["met"].sum() + rows["breached"].sum()
    if not decided:
        raise NoData(f"no interaction of the month met or breached a standard"
                     f"{' of ' + measure if measure else ''}")
    return float(rows["met"].sum() / decided)


@formula("breaches")
def breaches(ctx: Context) -> float:
    return float(_compliance(ctx)["breached"].sum())


def _cases(ctx: Context) -> pd.DataFrame:
    def read():
        if not ctx.has_operational_db():
            raise NoData("no operational database: no cases opened")
        df = ctx.ws.cases.list()
        zone = ctx.ws.settings.timezone  # days in the workspace's time zone
        opened = pd.to_datetime(df["opened_at"], utc=True).dt.tz_convert(zone).dt.date
        return df[[ctx.in_month(d) for d in opened]]
    return ctx.cached("cases", read)


@formula("cases_opened")
def cases_opened(ctx: Context) -> float:
    return float(len(_cases(ctx)))


@formula("cases_resolved")
def cases_resolved(ctx: Context) -> float:
    df = _cases(ctx)
    if df.empty:
        raise NoData(f"no case opened in the month of {ctx.as_of}")
    return float(df["status"].isin(["resolved", "closed"]).mean())


# ---- programme -----------------------------------------------------------------------------
def _members(ctx: Context) -> pd.DataFrame:
    def read():
        if not ctx.has_operational_db():
            raise NoData("no loyalty programme in this workspace (`cvm programme init`)")
        rows = ctx.ws.programme.tier_progress(ctx.as_of)
        if ctx.customers is not None:
            rows = [r for r in rows if r["member_id"] in ctx.customers]
        if not rows:
            raise NoData("the loyalty programme has no active members")
        return pd.DataFrame(rows)
    return ctx.cached("members", read)


@formula("programme_members")
def programme_members(ctx: Context) -> float:
    return float(len(_members(ctx)))


@formula("programme_active")
def programme_active(ctx: Context, days: int = 90) -> float:
    members = _members(ctx)
    t = ctx.view.table("transactions")
    since = _day_end(ctx.as_of) - dt.timedelta(days=days)
    bought = set(t.filter(t.timestamp >= since).select("customer_id").distinct()
                 .to_pyarrow().column(0).to_pylist())
    return float(members["member_id"].isin(bought).mean())


@formula("programme_tiered")
def programme_tiered(ctx: Context) -> float:
    return float(_members(ctx)["tier"].notna().mean())
