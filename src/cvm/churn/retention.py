"""Retention views of a workspace: rates by period, cohorts, survival and churn by reason.

Each function takes a `cvm.workspace.Workspace` and returns tables, computed on the
workspace's engine (DuckDB or Spark) by the Ibis expressions of `cvm.churn.cohorts` and
`cvm.churn.churned`; only the survival estimates run in Python (lifelines), on one row
per customer. ``cvm retention`` prints them.

The as-of date defaults to the workspace's latest known day (see `as_of_date`). Groups
(``by``) are a customer's ``relationship_type``, ``segment`` or ``region`` (customers
table), value ``tier`` (`Workspace.customer_tiers` at the as-of date, so a churned
customer's tier is that of their last 12 months' value) or ``plan`` (of their latest
contract started by the as-of date).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import pandas as pd
import pyarrow as pa
from ibis import _

from cvm._dates import as_date
from cvm._time import UNIT_DAYS
from cvm.churn.choices import GROUPINGS
from cvm.churn.churned import churn_by_reason, churned_customers
from cvm.churn.cohorts import (
    contract_cohorts,
    contract_retention,
    customer_tenure,
    purchase_cohorts,
    purchase_retention,
)
from cvm.churn.reasons import CHURN_RESPONSES
from cvm.churn.survival import cox, kaplan_meier, logrank
from cvm.errors import InputError, NotFoundError, WorkspaceError

__all__ = ["GROUPINGS", "as_of_date", "customer_groups", "retention_rates", "cohort_table",
           "cohort_matrix", "survival_by", "SurvivalView", "churn_reasons", "ReasonsView",
           "clv_scores"]

UNKNOWN = "(unknown)"


def as_of_date(ws, as_of=None) -> dt.date:
    """``as_of`` as a date, or by default the latest known day: the latest of the last
    transaction day, the last contract start and the last contract end not after today
    (a fixed-term contract's end in the future is not an event yet)."""
    if as_of is not None:
        return as_date(as_of, "as_of")
    days = []
    if ws.has_rows("transactions"):
        days.append(ws.latest_day())
    if ws.has_rows("contracts"):
        c = ws.table("contracts")
        today = dt.date.today()
        got = c.aggregate(s=c.start.cast("date").max(where=c.start.cast("date") <= today),
                          e=c.end.cast("date").max(where=c.end.cast("date") <= today)
                          ).to_pyarrow().to_pylist()[0]
        days += [as_date(v, "as_of") for v in got.values() if v is not None]
    if not days:
        raise WorkspaceError(f"{ws.path}: no contracts or transactions imported yet; import "
                             "some with `cvm import contracts FILE`")
    return max(days)


def _contracts(ws):
    if not ws.has_rows("contracts"):
        raise WorkspaceError(f"{ws.path}: no contracts imported; survival of tenure, churn "
                             "by reason and grouping by plan need them: "
                             "`cvm import contracts FILE`")
    return ws.table("contracts")


def customer_groups(ws, by: str, as_of=None) -> ibis.Table:
    """Ibis table of ``customer_id`` and ``group``: each customer's value of ``by``
    (one of `GROUPINGS`); a blank value is ``(unknown)``."""
    if by not in GROUPINGS:
        raise InputError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    as_of = as_of_date(ws, as_of)
    if by == "tier":
        t = ws.value.customer_tiers(as_of)
        g = t.select("customer_id", group=t.tier)
    elif by == "plan":
        c = _contracts(ws)
        c = c.filter(c.start.cast("date") <= as_of)
        g = c.group_by("customer_id").aggregate(group=c.plan.argmax(c.start.cast("date")))
    else:
        g = ws.table("customers").select("customer_id", group=_[by])
    return g.mutate(group=g.group.cast("string").fill_null(UNKNOWN))


def _non_contract_transactions(ws):
    t = ws.table("transactions")
    if not ws.has_rows("contracts"):
        return t
    c = ws.table("contracts")
    return t.anti_join(c, t.customer_id == c.customer_id)


def retention_rates(ws, period: str = "month", by: str | None = None,
                    as_of=None) -> pa.Table:
    """Retention rate per complete period, overall or per group.

    ``basis = contract``: customers with contracts (`contract_retention`: active at the
    period's start, retained to its end, churned, new); ``basis = purchase``: customers with
    transactions but no contract, active when they bought in the period and retained when
    they bought again in the next (`purchase_retention`; ``new`` is empty). Columns
    ``basis``, ``group`` (``all`` without ``by``), ``period_start``, ``active_start``,
    ``retained``, ``churned``, ``new``, ``retention_rate``.
    """
    as_of = as_of_date(ws, as_of)
    groups = customer_groups(ws, by, as_of) if by else None
    parts = []
    if ws.has_rows("contracts"):
        r = contract_retention(ws.table("contracts"), as_of, period, groups)
        if groups is None:
            r = r.mutate(group=ibis.literal("all"))
        parts.append(r.mutate(basis=ibis.literal("contract")).select(
            "basis", "group", "period_start", "active_start", "retained", "churned",
            new=_.new.cast("int64"), retention_rate=_.retention_rate))
    if ws.has_rows("transactions"):
        t = _non_contract_transactions(ws)
        t = t.filter(t.timestamp.cast("date") <= as_of)
        if t.count().to_pyarrow().as_py() > 0:
            r = purchase_retention(t, period, groups)
            if groups is None:
                r = r.mutate(group=ibis.literal("all"))
            parts.append(r.select(
                basis=ibis.literal("purchase"), group=r.group, period_start=r.period_start,
                active_start=r.active, retained=r.retained, churned=r.active - r.retained,
                new=ibis.null("int64"), retention_rate=r.retention_rate))
    if not parts:
        raise WorkspaceError(f"{ws.path}: no contracts or transactions to measure retention on")
    tables = [p.order_by(["group", "period_start"]).to_pyarrow() for p in parts]
    return _cast_counts(pa.concat_tables([t.cast(tables[0].schema) for t in tables]))


def _cast_counts(table: pa.Table) -> pa.Table:
    """Integer counts as int64 on every engine (Spark and DuckDB may differ in width)."""
    fields = [pa.field(f.name, pa.int64()) if pa.types.is_integer(f.type) else f
              for f in table.schema]
    return table.cast(pa.schema(fields))


def cohort_table(ws, period: str = "month", as_of=None) -> pa.Table:
    """Cohorts by start period: of the customers who started in a period, how many were
    still customers at the end of each following period (``k`` periods since), the rate,
    and what the cohort spent in that period.

    Contract customers (`contract_cohorts`, ``basis = contract``) when there are contracts,
    else buyers by their first purchase (`purchase_cohorts`, ``basis = purchase``: active
    means bought in the period). Columns ``basis``, ``cohort``, ``k``, ``customers``,
    ``active``, ``rate``, ``revenue``.
    """
    as_of = as_of_date(ws, as_of)
    tx = ws.table("transactions") if ws.has_rows("transactions") else None
    if ws.has_rows("contracts"):
        if tx is None:
            tx = ws.table("transactions")  # empty: revenue 0
        expr = contract_cohorts(ws.table("contracts"), as_of, tx, period)
        basis = "contract"
    elif tx is not None:
        expr = purchase_cohorts(tx.filter(tx.timestamp.cast("date") <= as_of), period)
        basis = "purchase"
    else:
        raise WorkspaceError(f"{ws.path}: no contracts or transactions to build cohorts from")
    out = expr.mutate(basis=ibis.literal(basis)).select(
        "basis", "cohort", "k", "customers", "active", "rate", "revenue")
    return _cast_counts(out.order_by(["cohort", "k"]).to_pyarrow())


def cohort_matrix(cohorts: pa.Table, value: str = "rate", max_k: int | None = None
                  ) -> pa.Table:
    """A cohort table (`cohort_table`) as a matrix: one row per cohort with its size and
    one column ``k0``, ``k1``, ... per period since start holding ``value``."""
    df = cohorts.to_pandas()
    if value not in df.columns:
        raise InputError(f"value must be a column of the cohort table, got {value!r}")
    if max_k is not None:
        df = df[df["k"] <= max_k]
    wide = df.pivot(index="cohort", columns="k", values=value).sort_index()
    wide.columns = [f"k{int(k)}" for k in wide.columns]
    sizes = df.groupby("cohort")["customers"].first().reindex(wide.index)
    wide.insert(0, "customers", sizes.astype("int64"))
    return pa.Table.from_pandas(wide.reset_index(), preserve_index=False)


@dataclass
class SurvivalView:
    """Kaplan-Meier tenure by group (see `cvm.churn.survival.SurvivalCurves`) with the
    log-rank test between the groups (None with fewer than two groups) and the unit.

    With groups, ``summary`` also holds each group's Cox ``hazard_ratio`` (with its 95%
    interval and p-value) against ``reference``, the largest group; a group in which no
    one left has none (its ratio would be 0), and ``note`` says why a fit was skipped."""

    summary: pd.DataFrame
    curves: pd.DataFrame
    horizon: float
    logrank: dict | None
    unit: str
    reference: str | None = None
    note: str | None = None


def survival_by(ws, by: str | None = None, as_of=None, unit: str = "months",
                horizon: float | None = None) -> SurvivalView:
    """Kaplan-Meier survival of customer tenure (first contract start to the end of the
    last contract, censored while a contract is open; `customer_tenure`) by group, with
    median and restricted mean tenure in ``unit`` and the log-rank test."""
    if unit not in UNIT_DAYS:
        raise InputError(f"unit must be one of {list(UNIT_DAYS)}, got {unit!r}")
    as_of = as_of_date(ws, as_of)
    tenure = customer_tenure(_contracts(ws), as_of)
    if by:
        g = customer_groups(ws, by, as_of)
        j = tenure.left_join(g, tenure.customer_id == g.customer_id)
        tenure = j.select(tenure.customer_id, tenure.tenure_days, tenure.churned,
                          group=g.group.fill_null(UNKNOWN))
    df = tenure.to_pyarrow().to_pandas()
    df["tenure"] = df["tenure_days"].astype(float) / UNIT_DAYS[unit]
    km = kaplan_meier(df, group="group" if by else None, horizon=horizon)
    test = logrank(df, "group") if by and df["group"].nunique() > 1 else None
    view = SurvivalView(km.summary, km.curves, km.horizon, test, unit)
    if by:
        _hazard_ratios(df, view)
    return view


def _hazard_ratios(df: pd.DataFrame, view: SurvivalView) -> None:
    """Cox proportional hazards of tenure on the group, against the largest group."""
    import warnings

    from cvm.errors import ConvergenceError

    summary = view.summary
    for col in ("hazard_ratio", "hr_lower_95", "hr_upper_95", "hr_p_value"):
        summary[col] = float("nan")
    churners = summary.loc[summary["churned"] > 0]
    if len(churners) < 2:
        view.note = "hazard ratios need two or more groups in which someone left"
        return
    ref = churners.sort_values(["customers", "group"], ascending=[False, True])["group"].iloc[0]
    levels = [ref, *sorted(set(churners["group"]) - {ref})]
    data = df[df["group"].isin(levels)].copy()
    data["group"] = pd.Categorical(data["group"], categories=levels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = cox(data, ["group"])
        except ConvergenceError as exc:
            view.note = f"no hazard ratios: {exc}"
            return
    if caught:
        view.note = f"no hazard ratios: the Cox fit warned: {caught[0].message}"
        return
    by_group = fit.assign(group=fit["covariate"].str.removeprefix("group=")).set_index("group")
    at = summary["group"] == ref
    summary.loc[at, ["hazard_ratio", "hr_lower_95", "hr_upper_95"]] = 1.0
    for key, row in by_group.iterrows():
        at = summary["group"] == key
        summary.loc[at, "hazard_ratio"] = row["hazard_ratio"]
        summary.loc[at, "hr_lower_95"] = row["hr_lower_95"]
        summary.loc[at, "hr_upper_95"] = row["hr_upper_95"]
        summary.loc[at, "hr_p_value"] = row["p_value"]
    view.reference = ref


def clv_scores(ws) -> ibis.Table | None:
    """The ``clv_scores`` result (``customer_id``, ``clv``) when the CLV step has stored
    one, else None."""
    try:
        scores = ws.result("clv_scores")
    except NotFoundError:
        return None
    missing = {"customer_id", "clv"} - set(scores.columns)
    if missing:
        raise InputError(f"result clv_scores lacks the column(s) {', '.join(sorted(missing))}"
                         "; it needs customer_id and clv")
    return scores.group_by("customer_id").aggregate(clv=scores.clv.cast("float64").max())


@dataclass
class ReasonsView:
    """Churn by reason: ``by_period`` (`churn_by_reason`) and ``summary``, one row per
    reason class (all of them, plus ``unknown`` when reasons were missing) with churned
    customers, share, revenue lost, CLV lost (null without ``clv_scores``) and the
    recommended response (`CHURN_RESPONSES`)."""

    by_period: pa.Table
    summary: pa.Table


def churn_reasons(ws, period: str = "month", as_of=None,
                  value_months: int = 12) -> ReasonsView:
    """Why customers left, over time and in total, the value lost and what to do.

    Revenue lost is what each churned customer spent in the ``value_months`` months up to
    their last day (`churned_customers`); CLV lost is the sum of their ``clv`` in the
    ``clv_scores`` result when one exists.
    """
    as_of = as_of_date(ws, as_of)
    contracts = _contracts(ws)
    tx = ws.table("transactions")
    by_period = _cast_counts(churn_by_reason(contracts, as_of, tx, period, value_months)
                             .to_pyarrow())
    ch = churned_customers(contracts, as_of, tx, value_months)
    clv = clv_scores(ws)
    aggs = {"churned": ch.count(), "revenue_lost": ch.revenue_lost.sum()}
    if clv is not None:
        j = ch.left_join(clv, ch.customer_id == clv.customer_id)
        ch = j.select(ch.reason, ch.revenue_lost, clv=clv.clv)
        aggs = {"churned": ch.count(), "revenue_lost": ch.revenue_lost.sum(),
                "clv_lost": ch.clv.sum()}
    got = ch.group_by("reason").aggregate(**aggs).to_pyarrow().to_pandas().set_index("reason")
    reasons = [*CHURN_RESPONSES, *sorted(set(got.index) - set(CHURN_RESPONSES))]
    got = got.reindex(reasons)
    total = got["churned"].fillna(0).sum()
    rows = []
    for reason in reasons:
        resp = CHURN_RESPONSES.get(reason)
        n = int(0 if pd.isna(got.loc[reason, "churned"]) else got.loc[reason, "churned"])
        rev = got.loc[reason, "revenue_lost"]
        clv_lost = got.loc[reason, "clv_lost"] if clv is not None else None
        rows.append({
            "reason": reason, "kind": resp.kind if resp else None, "churned": n,
            "share": n / total if total else None,
            "revenue_lost": 0.0 if pd.isna(rev) else float(rev),
            "clv_lost": None if clv is None else (0.0 if pd.isna(clv_lost) else float(clv_lost)),
            "preventable": resp.preventable if resp else None,
            "response": resp.response if resp else "record_the_reason",
            "owner": resp.owner if resp else None,
            "actions": ", ".join(resp.actions) if resp else None})
    schema = pa.schema([("reason", pa.string()), ("kind", pa.string()),
                        ("churned", pa.int64()), ("share", pa.float64()),
                        ("revenue_lost", pa.float64()), ("clv_lost", pa.float64()),
                        ("preventable", pa.bool_()), ("response", pa.string()),
                        ("owner", pa.string()), ("actions", pa.string())])
    return ReasonsView(by_period, pa.Table.from_pylist(rows, schema))
