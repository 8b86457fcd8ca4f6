"""``/clv``: lifetime value as the monthly run stored it (the score ``revenue_potential``,
discounted CLV from BG/NBD and Gamma-Gamma): its distribution, its total, how it splits by
value tier and by relationship type, and the run's notes on which models ran."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from cvm.i18n import translate
from cvm.value.customer_value import TIERS
from cvm.web.auth import page_user
from cvm.web.cache import memo
from cvm.web.render import ANALYSTS, TIER_LABELS, figure, fmt_number, lang_of, page, records
from cvm.web.routes._common import month_shown

router = APIRouter(include_in_schema=False)

#: bars of the distribution; the last one holds the top 1% (the long tail)
BINS = 30


def split(clv: pd.Series, groups: pd.Series, order=None) -> list[dict]:
    """Customers, total, share of the total, mean and median of `clv` per group (a customer
    without a group is ``unknown``), in `order` if given, else largest total first."""
    total = float(clv.sum())
    keys = groups.reindex(clv.index).fillna("unknown").astype(str)
    g = clv.groupby(keys).agg(["count", "sum", "mean", "median"])
    if order is not None:
        g = g.reindex([k for k in order if k in g.index]
                      + [k for k in g.index if k not in order])
    else:
        g = g.sort_values("sum", ascending=False)
    return [{"group": str(k), "customers": int(r["count"]), "total": float(r["sum"]),
             "share": float(r["sum"] / total) if total else None, "mean": float(r["mean"]),
             "median": float(r["median"])} for k, r in g.iterrows()]


def histogram(clv: pd.Series) -> dict:
    """Counts in `BINS` equal bars from 0 to the 99th percentile, the top 1% in the last."""
    top = float(clv.quantile(0.99)) if len(clv) else 0.0
    if top <= 0:
        top = float(clv.max()) if len(clv) and clv.max() > 0 else 1.0
    counts, edges = np.histogram(clv.clip(lower=0, upper=top), bins=BINS, range=(0, top))
    return {"counts": counts.tolist(), "edges": edges.tolist(), "top": top}


def _relationship_types(ws) -> pd.Series | None:
    if not ws.has_rows("customers"):
        return None
    c = ws.table("customers")
    if "relationship_type" not in c.columns:
        return None
    df = c.select("customer_id", "relationship_type").to_pyarrow().to_pandas()
    s = df.drop_duplicates("customer_id").set_index("customer_id")["relationship_type"]
    return None if s.isna().all() else s


def _checks(text) -> list[tuple[str, object]]:
    """A model's checks stored with the run (JSON) as (name, value) pairs, the line left
    out (the note names it)."""
    if not isinstance(text, str) or not text.strip():
        return []
    try:
        doc = json.loads(text)
    except ValueError:
        return []
    return [(k, v) for k, v in doc.items() if k != "line"] if isinstance(doc, dict) else []


def _clv(ws, day) -> dict:
    notes = ws.scoring.notes(day)
    # only the two scores read (a run of a million customers has some twenty); every
    # customer of the run has a value tier, so these rows are the run's customers
    scores = ws.scoring.list(day, ["revenue_potential", "value_tier"]).set_index(
        "customer_id")
    own = notes[notes["score"] == "revenue_potential"]
    rows = records(notes[["score", "version", "status", "note"]])
    for row, checks in zip(rows, notes.get("checks", [None] * len(rows)), strict=True):
        row["checks"] = _checks(checks)
    data = {"notes": rows,
            "clv_note": own["note"].iloc[0] if len(own) else None,
            "scored": len(scores), "clv": None}
    if "revenue_potential" not in scores or scores["revenue_potential"].isna().all():
        return data
    clv = scores["revenue_potential"].dropna()
    types = _relationship_types(ws)
    data["clv"] = {
        "total": float(clv.sum()), "customers": len(clv), "mean": float(clv.mean()),
        "median": float(clv.median()), "histogram": histogram(clv),
        "by_tier": split(clv, scores.get("value_tier", pd.Series(dtype=object)), TIERS),
        "by_type": split(clv, types) if types is not None else []}
    return data


def cached(ws, day: dt.date):
    """The page's data for ``day``, kept until the warehouse changes."""
    return memo(ws, ("clv", day), lambda: _clv(ws, day))


@router.get("/clv")
async def clv(request: Request, user: page_user(*ANALYSTS)):
    ws = request.app.state.workspace
    lang = lang_of(request)
    runs = await run_in_threadpool(ws.scoring.runs)
    day = month_shown(request, runs)
    data = None
    if day is not None and day in runs:
        data = await run_in_threadpool(cached, ws, day)
    ctx = {"day": day, "months": sorted(runs), "data": data,
           "tier_labels": TIER_LABELS, "plots": False}
    if data is not None and data["clv"] is not None:
        h = data["clv"]["histogram"]
        edges = h["edges"]
        mids = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        fig = go.Figure(go.Bar(x=mids, y=h["counts"], width=edges[1] - edges[0],
                               name=translate(lang, "customers")))
        fig.update_layout(title=translate(lang, "Distribution of lifetime value"),
                          xaxis_title=translate(lang, "lifetime value"),
                          yaxis_title=translate(lang, "customers"), bargap=0.05)
        tiers = data["clv"]["by_tier"]
        by_tier = go.Figure(go.Bar(
            x=[translate(lang, TIER_LABELS.get(r["group"], r["group"])) for r in tiers],
            y=[r["total"] for r in tiers]))
        by_tier.update_layout(title=translate(lang, "Lifetime value by value tier"),
                              yaxis_title=translate(lang, "lifetime value"))
        ctx.update(plots=True, histogram=figure(fig, 320), tier_figure=figure(by_tier, 300),
                   top=fmt_number(h["top"], lang))
    return page(request, "clv.html", title=translate(lang, "Lifetime value"), **ctx)
