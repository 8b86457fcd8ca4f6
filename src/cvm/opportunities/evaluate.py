"""Which kinds of opportunity work: the outcome rate of the customers sent to staff against
the control group held back at random, per kind and month.

The outcome is read from the workspace in the 90 days after the as-of day: for a cross-sell,
buying the line; for a win-back, any purchase; for a payment reminder, no contract ended by
passive churn; otherwise (retention calls, service recovery), being retained: no contract
ended (customers without contracts: a purchase). Uplift = treated rate - control rate with
Newcombe's hybrid score interval (Newcombe 1998, Statistics in Medicine 17, method 10;
`statsmodels.stats.proportion.confint_proportions_2indep`). A month whose 90 days have not
all passed is pending.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep

__all__ = ["OUTCOME_DAYS", "measure", "evaluate", "by_owner", "decline_reasons"]

OUTCOME_DAYS = 90
_MEASURE = {"cross_sell": "bought the line", "win_back": "bought again",
            "payment_reminder": "no passive churn"}


def _window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    return start, start + dt.timedelta(days=OUTCOME_DAYS)


def measure(ws, opps: pd.DataFrame) -> pd.Series:
    """1/0 per opportunity (index as ``opps``) by its kind's outcome; NaN while pending."""
    result = pd.Series(np.nan, index=opps.index)
    latest = ws.latest_day()
    has_tx, has_k = ws.has_rows("transactions"), ws.has_rows("contracts")
    with_contract = set()
    if has_k:
        k = ws.table("contracts")
        with_contract = set(k.select("customer_id").distinct().to_pyarrow()
                            .column(0).to_pylist())
    for day, group in opps.groupby("as_of"):
        day = pd.Timestamp(day).date()
        if latest is None or day + dt.timedelta(days=OUTCOME_DAYS) > latest:
            continue
        start, stop = _window(day)
        bought, lines, ended, passive = set(), set(), set(), set()
        if has_tx:
            t = ws.table("transactions")
            w = (t.filter((t.timestamp >= start) & (t.timestamp < stop))
                 .select("customer_id", "brand").distinct().to_pyarrow().to_pylist())
            bought = {r["customer_id"] for r in w}
            lines = {(r["customer_id"], r["brand"]) for r in w}
        if has_k:
            k = ws.table("contracts")
            e = (k.filter((k.end >= start.date()) & (k.end < stop.date()))
                 .select("customer_id", "end_reason").to_pyarrow().to_pylist())
            ended = {r["customer_id"] for r in e}
            passive = {r["customer_id"] for r in e
                       if (r["end_reason"] or "").startswith("passive")}
        for i, r in group.iterrows():
            cid = r["customer_id"]
            if r["kind"] == "cross_sell":
                result[i] = float((cid, r["line"]) in lines)
            elif r["kind"] == "win_back":
                result[i] = float(cid in bought)
            elif r["kind"] == "payment_reminder":
                result[i] = float(cid not in passive)
            elif cid in with_contract:
                result[i] = float(cid not in ended)
            else:
                result[i] = float(cid in bought)
    return result


def evaluate(opps: pd.DataFrame, outcome: pd.Series, level: float = 0.95) -> pd.DataFrame:
    """Per as-of day and kind: customers sent (treated) and held back (control), contacted
    and accepted among the treated, the outcome rate of each group, the uplift and its
    interval, and the status (measured, or pending until the day its window ends)."""
    rows = []
    opps = opps.assign(_y=outcome)
    for (day, kind), g in opps.groupby(["as_of", "kind"], sort=True):
        treated = g[(~g["control"].astype(bool)) & (g["status"] != "over_capacity")]
        control = g[g["control"].astype(bool)]
        got = treated["outcome"].fillna("")
        row = {"as_of": pd.Timestamp(day).date(), "kind": kind,
               "measure": _MEASURE.get(kind, "retained"),
               "treated": len(treated), "control": len(control),
               "contacted": int(got.isin(["contacted", "accepted", "declined"]).sum()),
               "accepted": int((got == "accepted").sum())}
        ready = treated["_y"].notna().all() and control["_y"].notna().all()
        if not ready or len(treated) == 0 or len(control) == 0:
            end = pd.Timestamp(day).date() + dt.timedelta(days=OUTCOME_DAYS)
            why = ("no control group" if len(control) == 0 else
                   f"pending until {end}" if not ready else "nobody sent")
            rows.append({**row, "rate_treated": np.nan, "rate_control": np.nan,
                         "uplift": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                         "status": why})
            continue
        yt, yc = int(treated["_y"].sum()), int(control["_y"].sum())
        nt, nc = len(treated), len(control)
        low, high = confint_proportions_2indep(yt, nt, yc, nc, method="newcomb",
                                               compare="diff", alpha=1 - level)
        rows.append({**row, "rate_treated": yt / nt, "rate_control": yc / nc,
                     "uplift": yt / nt - yc / nc, "ci_low": float(low),
                     "ci_high": float(high), "status": "measured"})
    cols = ["as_of", "kind", "treated", "control", "rate_treated", "rate_control", "uplift",
            "ci_low", "ci_high", "status", "measure", "contacted", "accepted"]
    return pd.DataFrame(rows, columns=cols)


def by_owner(opps: pd.DataFrame) -> pd.DataFrame:
    """Per owner: opportunities sent, contacted, accepted and the acceptance rate among
    those contacted."""
    sent = opps[(~opps["control"].astype(bool)) & (opps["status"] == "open")]
    got = sent["outcome"].fillna("")
    df = pd.DataFrame({"owner": sent["owner"],
                       "contacted": got.isin(["contacted", "accepted", "declined"]),
                       "accepted": got == "accepted"})
    out = df.groupby("owner").agg(sent=("owner", "size"), contacted=("contacted", "sum"),
                                  accepted=("accepted", "sum")).reset_index()
    out["acceptance"] = (out["accepted"] / out["contacted"]).where(out["contacted"] > 0)
    return out.sort_values(["sent", "owner"], ascending=[False, True]).reset_index(drop=True)


def decline_reasons(opps: pd.DataFrame) -> pd.DataFrame:
    """Which reasons staff record most when a customer declines, per kind."""
    d = opps[opps["outcome"] == "declined"]
    if d.empty:
        return pd.DataFrame(columns=["kind", "reason_code", "declined", "share"])
    out = (d.assign(reason_code=d["reason_code"].fillna("(none)"))
           .groupby(["kind", "reason_code"]).size().rename("declined").reset_index())
    out["share"] = out["declined"] / out.groupby("kind")["declined"].transform("sum")
    return out.sort_values(["kind", "declined"], ascending=[True, False]).reset_index(drop=True)
