"""A campaign on the workspace: the campaign file (customer, arm, date) and each customer's
outcomes measured from the workspace's data after that date.

The window of a customer is the ``window_days`` days after the campaign day (from the
next midnight: the day itself may hold what the customer did before the contact). In it:

- ``purchase``: 1 if the customer bought at all (a transaction), else 0;
- ``spend``: the sum of the customer's transaction amounts (0 without any);
- ``churn``: 1 if the customer's relationship (contracts, as `cvm.churn` defines it) ended
  in the window, 0 if it did not; not measured for a customer without a contract running
  on the campaign day;
- ``nps``: the customer's latest answer to the survey's 0-10 "likely to recommend" item in
  the window, as +100 (promoter, 9-10), 0 (passive) or -100 (detractor, 0-6), so that the
  mean of a group is its NPS; not measured for a customer who did not answer.

Every window must have ended by the latest day of the transactions, else the outcome of
some customers is not known yet. The sums run on the workspace's engine (Ibis: DuckDB or
Spark); the campaign file goes to it as a small in-memory table.

`panel` measures spend and purchases per period before and after each customer's date
instead, for a difference-in-differences (`cvm.campaign.did`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from cvm.campaign import inputs
from cvm.errors import InputError

__all__ = ["OUTCOMES", "available_outcomes", "measure", "panel", "read_campaign"]

OUTCOMES = ("purchase", "spend", "churn", "nps")
PROMOTER_MIN, DETRACTOR_MAX = 9, 6


def read_campaign(path: str | Path, customer: str = "customer_id", arm: str = "arm",
                  date: str = "date") -> pd.DataFrame:
    """The campaign file as ``row`` (1 = first row under the header), ``customer_id``,
    ``arm`` (text) and ``date``; a blank, an unreadable date or a customer listed twice is an
    error naming the file, the column and the rows."""
    frame = inputs.read_frame(path, "--campaign")
    inputs.require_columns(frame, {"--customer": customer, "--arm": arm, "--date": date})
    ids = inputs.labels(frame, customer, "the customer")
    arms = inputs.labels(frame, arm, "the arm")
    text = inputs.labels(frame, date, "the date")
    days = pd.to_datetime(text.str[:10], format="%Y-%m-%d", errors="coerce")
    if days.isna().any():
        first = int(np.flatnonzero(days.isna().to_numpy())[0])
        raise InputError(f"{path}: column {date!r}, row {first + 1}: {text.iloc[first]!r} is "
                         "not a date (YYYY-MM-DD)")
    twice = ids.duplicated(keep=False).to_numpy()
    if twice.any():
        rows = np.flatnonzero(twice)[:2] + 1
        raise InputError(f"{path}: customer {ids.iloc[rows[0] - 1]!r} (column {customer!r}) is "
                         f"listed twice, rows {rows[0]} and {rows[1]}; a campaign file has one "
                         "row per customer")
    return pd.DataFrame({"row": np.arange(1, len(frame) + 1), "customer_id": ids,
                         "arm": arms, "date": days.dt.date})


def available_outcomes(ws) -> list[str]:
    """The outcomes the workspace's data can measure: purchase and spend (transactions),
    churn (contracts), nps (a survey with one item of construct 'nps')."""
    out = ["purchase", "spend"] if ws.has_rows("transactions") else []
    if ws.has_rows("contracts"):
        out.append("churn")
    if ws.has_rows("survey_items") and ws.has_rows("survey_responses"):
        from cvm.survey.answers import nps_item, survey_definition

        try:
            nps_item(survey_definition(ws))
            out.append("nps")
        except InputError:
            pass  # no single survey with one 0-10 item: nps is not measured by default
    return out


def _check_outcomes(ws, outcomes: Sequence[str] | None) -> list[str]:
    have = available_outcomes(ws)
    if outcomes is None or len(outcomes) == 0:
        if not have:
            raise InputError(f"{ws.path}: no transactions, contracts or survey answers to "
                             "measure a campaign's outcome from; import them first")
        return have
    for o in outcomes:
        if o not in OUTCOMES:
            raise InputError(f"--outcome {o!r}: the workspace measures {', '.join(OUTCOMES)}")
        if o not in have:
            needs = {"purchase": "transactions", "spend": "transactions",
                     "churn": "contracts", "nps": "a survey with one item of construct 'nps'"}
            raise InputError(f"--outcome {o}: the workspace has no {needs[o]}")
    return list(dict.fromkeys(outcomes))


def _latest(ws, campaign: pd.DataFrame, window_days: int) -> dt.date:
    latest = ws.latest_day()
    if latest is None:
        raise InputError(f"{ws.path}: no transactions, so the last day the data covers is "
                         "unknown; import them first")
    ends = campaign["date"] + dt.timedelta(days=window_days)
    late = ends > latest
    if late.any():
        raise InputError(f"the {window_days}-day window of {int(late.sum())} customer(s) ends "
                         f"after the latest day of the data ({latest}), e.g. row "
                         f"{int(campaign['row'][late].iloc[0])}: date "
                         f"{campaign['date'][late].iloc[0]} + {window_days} days = "
                         f"{ends[late].iloc[0]}; shorten --window-days or wait for the data")
    return latest


def _check_customers(ws, campaign: pd.DataFrame, known: pd.Series | None = None) -> None:
    """Every customer of the campaign is in the workspace's customers (when it has any);
    ``known``: 1/0 per row of ``campaign``, if already looked up."""
    if not ws.has_rows("customers"):
        return
    if known is None:
        c = ibis.memtable(campaign[["row", "customer_id"]])
        k = ws.table("customers").select(known_id="customer_id").distinct()
        unknown = c.anti_join(k, c.customer_id == k.known_id).select("row").to_pandas()
        bad = campaign["row"].isin(unknown["row"]).to_numpy()
    else:
        bad = known.to_numpy() == 0
    if bad.any():
        rows = campaign[bad].sort_values("row")
        shown = ", ".join(f"{r.customer_id!r} (row {r.row})" for r in rows.head(3).itertuples())
        raise InputError(f"{len(rows)} customer(s) of the campaign file are not in the "
                         f"workspace's customers: {shown}")


def _windows(campaign: pd.DataFrame, before_days: int, after_days: int) -> pd.DataFrame:
    base = pd.to_datetime(campaign["date"]) + pd.Timedelta(days=1)
    return pd.DataFrame({"row": campaign["row"].to_numpy(),
                         "customer_id": campaign["customer_id"].to_numpy(),
                         "day": pd.to_datetime(campaign["date"]).to_numpy(),
                         "base": base.to_numpy(),
                         "lo": (base - pd.Timedelta(days=before_days)).to_numpy(),
                         "hi": (base + pd.Timedelta(days=after_days)).to_numpy()})


def _in_window(c: ibis.Table, t: ibis.Table, when: str) -> ibis.Table:
    return c.join(t, [c.customer_id == t.customer_id, t[when] >= c.lo, t[when] < c.hi])


def _sales(ws, c: ibis.Table) -> ibis.Table:
    t = ws.table("transactions").select("customer_id", "timestamp", "amount")
    j = _in_window(c, t, "timestamp")
    return j.group_by("row").aggregate(purchases=j.amount.count(), spend=j.amount.sum())


def _churn(ws, c: ibis.Table, days: list[dt.date], window_days: int) -> ibis.Table:
    """Per row of a customer with a relationship running on the campaign day: 1 if it
    ended within the window, else 0 (`cvm.churn.cohorts.relationship_spans` as of the
    window's end; one part per campaign day)."""
    from cvm.churn.cohorts import relationship_spans

    contracts = ws.table("contracts")
    parts = []
    for day in days:
        spans = relationship_spans(contracts, day + dt.timedelta(days=window_days))
        mine = c.filter(c.day.cast("date") == day)
        j = mine.join(spans, mine.customer_id == spans.customer_id)
        running = (j.start <= day) & (j.end.isnull() | (j.end > day))
        parts.append(j.filter(running).select(
            "row", churned=j.end.notnull().cast("float64")))
    return parts[0] if len(parts) == 1 else ibis.union(*parts)


def _nps(ws, c: ibis.Table) -> ibis.Table:
    """Per row of a customer who answered in the window: the latest answer as +100, 0 or
    -100."""
    from cvm.survey.answers import item_answers, nps_item, survey_definition

    definition = survey_definition(ws)
    r = item_answers(ws, definition.attrs["survey"], [nps_item(definition)])
    j = _in_window(c, r, "timestamp")
    latest = j.group_by("row").aggregate(answer=j.answer.argmax(j.timestamp))
    return latest.select("row", nps=ibis.cases((latest.answer >= PROMOTER_MIN, 100.0),
                                               (latest.answer <= DETRACTOR_MAX, -100.0),
                                               else_=0.0))


def measure(ws, campaign: pd.DataFrame, window_days: int = 90,
            outcomes: Sequence[str] | None = None) -> pd.DataFrame:
    """The campaign (`read_campaign`) with one column per outcome (default: every one
    `available_outcomes` finds), measured in each customer's window. One query on the
    engine: each outcome's per-row aggregate joined onto the campaign's rows."""
    if window_days < 1:
        raise InputError(f"--window-days must be at least 1; got {window_days}")
    outcomes = _check_outcomes(ws, outcomes)
    _latest(ws, campaign, window_days)
    c = ibis.memtable(_windows(campaign, 0, window_days))
    expr = c.select("row")
    parts: list[tuple[ibis.Table, list[str]]] = []
    if ws.has_rows("customers"):
        known = ws.table("customers").select(known_id="customer_id").distinct()
        k = c.left_join(known, c.customer_id == known.known_id).select(
            "row", known=known.known_id.notnull().cast("int64"))
        parts.append((k, ["known"]))
    if {"purchase", "spend"} & set(outcomes):
        parts.append((_sales(ws, c), ["purchases", "spend"]))
    if "churn" in outcomes:
        parts.append((_churn(ws, c, sorted(set(campaign["date"])), window_days), ["churned"]))
    if "nps" in outcomes:
        parts.append((_nps(ws, c), ["nps"]))
    for part, cols in parts:
        part = part.rename(part_row="row")
        expr = expr.left_join(part, expr.row == part.part_row).select(
            *expr.columns, *cols)
    got = expr.to_pandas().set_index("row").reindex(campaign["row"])
    if "known" in got.columns:
        _check_customers(ws, campaign, got["known"].fillna(0).reset_index(drop=True))
    out = campaign.copy()
    if "purchase" in outcomes:
        out["purchase"] = (got["purchases"].fillna(0).to_numpy() > 0).astype(float)
    if "spend" in outcomes:
        out["spend"] = got["spend"].fillna(0.0).to_numpy(dtype=float)
    if "churn" in outcomes:
        out["churn"] = got["churned"].to_numpy(dtype=float)
    if "nps" in outcomes:
        out["nps"] = got["nps"].to_numpy(dtype=float)
    return out


def panel(ws, campaign: pd.DataFrame, period_days: int = 30, before: int = 6,
          after: int = 3) -> pd.DataFrame:
    """Spend and purchase (1 if any) of each campaign customer in each of ``before``
    periods of ``period_days`` days before the campaign day (periods -before .. -1, the
    last one ending with the campaign day) and ``after`` periods after it (0 .. after - 1):
    one row per customer and period, with ``row``, ``customer_id``, ``arm``, ``period``."""
    if period_days < 1 or before < 1 or after < 1:
        raise InputError("--period-days, --periods-before and --periods-after must be at "
                         "least 1")
    _latest(ws, campaign, period_days * after)
    _check_customers(ws, campaign)
    windows = _windows(campaign, period_days * before, period_days * after)
    c = ibis.memtable(windows)
    t = ws.table("transactions").select("customer_id", "timestamp", "amount")
    j = c.join(t, [c.customer_id == t.customer_id, t.timestamp >= c.lo, t.timestamp < c.hi])
    seconds = j.timestamp.epoch_seconds() - j.base.epoch_seconds()
    j = j.mutate(period=(seconds / (period_days * 86400)).floor().cast("int64"))
    got = j.group_by(["row", "period"]).aggregate(purchases=j.amount.count(),
                                                  spend=j.amount.sum()).to_pandas()
    grid = pd.MultiIndex.from_product([campaign["row"], range(-before, after)],
                                      names=["row", "period"])
    full = got.set_index(["row", "period"]).reindex(grid).reset_index()
    full["spend"] = full["spend"].fillna(0.0).astype(float)
    full["purchase"] = (full["purchases"].fillna(0) > 0).astype(float)
    info = campaign.set_index("row")[["customer_id", "arm"]]
    full = full.join(info, on="row")
    return full[["row", "customer_id", "arm", "period", "purchase", "spend"]]
