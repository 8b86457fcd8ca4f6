"""What opens a case: a detractor's answer (NPS 0-6), a complaint, a breach of a service
standard; each found once, with a key that names it, so opening cases again finds nothing
new (one case per trigger)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cvm.scoring.asof import AsOfView
from cvm.survey.nps import nps_items

__all__ = ["find_triggers", "COLUMNS"]

COLUMNS = ["trigger", "trigger_key", "customer_id", "opened_at", "details"]


def find_triggers(ws, as_of: dt.date, since: dt.date) -> pd.DataFrame:
    """Triggers from the start of ``since`` to the end of ``as_of``, oldest first."""
    view = AsOfView(ws, as_of)
    start = dt.datetime.combine(since, dt.time())
    frames = [_detractors(view, start), _complaints(view, start), _breaches(ws, view, start)]
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["opened_at", "trigger_key"], kind="stable").reset_index(drop=True)


def _detractors(view: AsOfView, start: dt.datetime) -> pd.DataFrame | None:
    if not (view.has_rows("survey_responses") and view.has_rows("survey_items")):
        return None
    items = view.table("survey_items")
    nps = nps_items(items)
    r = view.table("survey_responses")
    r = r.filter(r.customer_id.notnull() & (r.timestamp >= start) & (r.answer <= 6))
    df = r.join(nps, ["survey", "item"]).select(
        "survey", "respondent_id", "item", "customer_id", "answer", "timestamp"
    ).to_pyarrow().to_pandas()
    return pd.DataFrame({
        "trigger": "detractor",
        "trigger_key": "detractor:" + df["survey"] + ":" + df["respondent_id"] + ":"
                       + df["item"],
        "customer_id": df["customer_id"], "opened_at": df["timestamp"],
        "details": [{"survey": s, "item": i, "answer": float(a)}
                    for s, i, a in zip(df["survey"], df["item"], df["answer"], strict=True)],
    })


def _complaints(view: AsOfView, start: dt.datetime) -> pd.DataFrame | None:
    if not view.has_rows("interactions"):
        return None
    i = view.table("interactions")
    df = i.filter((i.kind.lower() == "complaint") & (i.opened_at >= start)).select(
        "interaction_id", "customer_id", "opened_at", "touchpoint", "category"
    ).to_pyarrow().to_pandas()
    return pd.DataFrame({
        "trigger": "complaint", "trigger_key": "complaint:" + df["interaction_id"],
        "customer_id": df["customer_id"], "opened_at": df["opened_at"],
        "details": [{"touchpoint": t, "category": c}
                    for t, c in zip(df["touchpoint"], df["category"], strict=True)],
    })


def _breaches(ws, view: AsOfView, start: dt.datetime) -> pd.DataFrame | None:
    if not view.has_rows("interactions"):
        return None
    b = ws.service.breaches(view.end - dt.timedelta(microseconds=1)).to_pandas()
    b = b[(b["due_at"] >= start) & (b["due_at"] < view.end)]
    return pd.DataFrame({
        "trigger": "breach",
        "trigger_key": "breach:" + b["standard"] + ":" + b["interaction_id"],
        "customer_id": b["customer_id"], "opened_at": b["due_at"],
        "details": [{"standard": s, "touchpoint": t, "over_seconds": int(o)}
                    for s, t, o in zip(b["standard"], b["touchpoint"], b["over_seconds"]
                                       .fillna(0), strict=True)],
    })
