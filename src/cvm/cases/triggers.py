"""What opens a case: a detractor's answer (NPS 0-6), a complaint, a breach of a service
standard, a low satisfaction answer; each found once, with a key that names it, so opening
cases again finds nothing new (one case per trigger)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cvm.scoring.asof import AsOfView
from cvm.survey.nps import DETRACTOR_MAX, nps_items

__all__ = ["find_triggers", "COLUMNS"]

COLUMNS = ["trigger", "trigger_key", "customer_id", "opened_at", "details"]


def find_triggers(ws, as_of: dt.date, since: dt.date) -> pd.DataFrame:
    """Triggers from the start of ``since`` to the end of ``as_of``, oldest first."""
    view = AsOfView(ws, as_of)
    start = dt.datetime.combine(since, dt.time())
    frames = [_detractors(view, start), _complaints(view, start), _breaches(ws, view, start),
              _low_satisfaction(view, start, ws.settings.cases.low_satisfaction_max)]
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


def _low_satisfaction(view: AsOfView, start: dt.datetime, top: float) -> pd.DataFrame | None:
    """One trigger per questionnaire (survey, respondent) with an answer to a satisfaction
    item (construct ``satisfaction``) at or below ``top``, a share of the item's scale (0
    its lowest answer, 1 its highest), unless the same questionnaire holds a detractor's
    NPS answer (that opens its own case). The case names the lowest such answer and the
    touchpoint of the customer's last contact up to it (none without one)."""
    if not (view.has_rows("survey_responses") and view.has_rows("survey_items")):
        return None
    items = view.table("survey_items")
    sat = items.filter((items.construct.strip().lower() == "satisfaction")
                       & (items.scale_max > items.scale_min))
    r = view.table("survey_responses")
    r = r.filter(r.customer_id.notnull() & r.answer.notnull())
    nps = nps_items(items)
    detractors = r.filter(r.answer <= DETRACTOR_MAX).join(nps, ["survey", "item"]).select(
        "survey", "respondent_id").distinct()
    a = r.filter(r.timestamp >= start).join(sat, ["survey", "item"])
    a = a.mutate(score=(a.answer - a.scale_min) / (a.scale_max - a.scale_min))
    a = a.filter(a.score <= top + 1e-9).anti_join(detractors, ["survey", "respondent_id"])
    df = a.select("survey", "respondent_id", "item", "customer_id", "answer", "scale_min",
                  "scale_max", "score", "timestamp").to_pyarrow().to_pandas()
    if df.empty:
        return None
    # the lowest answer of each questionnaire (the earliest, then the first item, on ties)
    df = df.sort_values(["survey", "respondent_id", "score", "timestamp", "item"],
                        kind="stable").drop_duplicates(["survey", "respondent_id"])
    df = _last_contact(view, df)
    return pd.DataFrame({
        "trigger": "low_satisfaction",
        "trigger_key": "low_satisfaction:" + df["survey"] + ":" + df["respondent_id"],
        "customer_id": df["customer_id"], "opened_at": df["timestamp"],
        "details": [{"survey": s, "item": i, "answer": float(a), "scale_min": float(lo),
                     "scale_max": float(hi), "touchpoint": t, "interaction_id": n}
                    for s, i, a, lo, hi, t, n in zip(
                        df["survey"], df["item"], df["answer"], df["scale_min"],
                        df["scale_max"], df["touchpoint"], df["interaction_id"], strict=True)],
    })


def _last_contact(view: AsOfView, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (answers with customer_id and timestamp) with the touchpoint and interaction
    of each customer's last contact at or before the answer (None without one)."""
    df = df.assign(touchpoint=None, interaction_id=None)
    if not view.has_rows("interactions"):
        return df
    i = view.table("interactions")
    i = i.filter(i.customer_id.isin(sorted(set(df["customer_id"])))).select(
        "customer_id", "opened_at", "touchpoint", "interaction_id")
    contacts = i.to_pyarrow().to_pandas().sort_values(["opened_at", "interaction_id"])
    if contacts.empty:
        return df
    found = pd.merge_asof(
        df.drop(columns=["touchpoint", "interaction_id"]).sort_values("timestamp"),
        contacts.rename(columns={"opened_at": "timestamp"}), on="timestamp",
        by="customer_id", direction="backward")
    for col in ("touchpoint", "interaction_id"):
        found[col] = found[col].astype(object).where(found[col].notna(), None)
    return found
