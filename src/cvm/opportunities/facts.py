"""What opportunities need besides the month's scores: recent complaints and detractor
answers, days since the last purchase, and who the customer is (relationship type, region,
account manager), all as known at the end of the as-of day."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from cvm.scoring.asof import AsOfView
from cvm.survey.nps import nps_items

__all__ = ["customer_facts", "RECENT_DAYS"]

#: "Recent" complaints and answers: the last 30 days up to and including the as-of day.
RECENT_DAYS = 30


def customer_facts(view: AsOfView, account_manager_field: str) -> pd.DataFrame:
    """One row per customer with a fact: ``complaints_30d``, ``detractor_30d`` (the
    latest 0-10 NPS answer of the last 30 days when it is 0-6, its day in
    ``detractor_day``), ``days_since_purchase``, ``relationship_type``, ``region`` and
    ``account_manager``."""
    end = view.end
    since = end - dt.timedelta(days=RECENT_DAYS)
    frames = []
    if view.has_rows("transactions"):
        t = view.table("transactions")
        last = t.group_by("customer_id").aggregate(last=t.timestamp.max())
        last = last.mutate(days_since_purchase=ibis.literal(view.as_of).delta(
            last["last"].cast("date"), unit="day").cast("int64")).drop("last")
        frames.append(last)
    if view.has_rows("interactions"):
        i = view.table("interactions")
        i = i.filter((i.opened_at >= since) & (i.kind.lower() == "complaint"))
        frames.append(i.group_by("customer_id").aggregate(complaints_30d=i.count()))
    if view.has_rows("survey_responses") and view.has_rows("survey_items"):
        items = view.table("survey_items")
        nps = nps_items(items)
        r = view.table("survey_responses")
        r = r.filter(r.customer_id.notnull() & (r.timestamp >= since)).join(
            nps, ["survey", "item"])
        latest = r.group_by("customer_id").aggregate(
            answer=r.answer.argmax(r.timestamp), day=r.timestamp.max().cast("date"))
        latest = latest.filter(latest.answer <= 6)
        frames.append(latest.select("customer_id", detractor_30d=latest.answer,
                                    detractor_day=latest.day))
    out = pd.DataFrame(index=pd.Index([], name="customer_id"))
    for f in frames:
        df = f.to_pyarrow().to_pandas().set_index("customer_id")
        out = out.join(df, how="outer")
    if view.has_rows("customers"):
        c = view.table("customers")
        cols = ["relationship_type", "region"]
        if account_manager_field in c.columns:
            cols.append(account_manager_field)
        df = c.select("customer_id", *cols).to_pyarrow().to_pandas()
        df = df.drop_duplicates("customer_id").set_index("customer_id")
        df = df.rename(columns={account_manager_field: "account_manager"})
        out = out.join(df, how="outer")
    if "complaints_30d" in out.columns:
        out["complaints_30d"] = out["complaints_30d"].fillna(0)
    return out
