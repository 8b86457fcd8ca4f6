"""``/loyalty``: NPS by month and by customer group with 95% intervals, the loyalty classes
of the month's scores, Oliver's loyalty levels, and the satisfaction index as the workspace
stored it (a PLS fit is never made on a page view: ``cvm survey index --save`` stores it)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from cvm.errors import CvmError
from cvm.i18n import translate
from cvm.value.customer_value import TIERS
from cvm.web.auth import page_user
from cvm.web.cache import memo
from cvm.web.render import ANALYSTS, TIER_LABELS, figure, lang_of, page, records
from cvm.web.routes._common import month_shown

router = APIRouter(include_in_schema=False)

#: the groups NPS may be read by on this page (``?by=``)
GROUPS = ("segment", "relationship_type", "region", "tier", "touchpoint")
CLASSES = ("loyal", "general", "drifting")
LEVELS = ("cognitive", "affective", "conative", "action", "none")
_KEYS = ("survey", "respondent_id", "customer_id")


def _nps(ws, by: str | None, month: bool, until: str | None) -> list[dict]:
    """NPS rows (no warning: the small samples are flagged from the setting instead)."""
    df = ws.survey.nps(by, month=month, min_n=0)
    df["small_sample"] = df["n"] < ws.settings.survey.nps_min_sample
    if month and until is not None:
        df = df[df["month"] <= until]
    if by == "tier":
        df = df.sort_values("group", key=lambda g: g.map(
            {t: i for i, t in enumerate(TIERS)}).fillna(len(TIERS)), kind="stable")
    return records(df)


def _try(make):
    try:
        return make(), None
    except CvmError as exc:
        return None, str(exc)


def _classes(ws, day) -> dict | None:
    if day is None or day not in ws.scoring.runs():
        return None
    # every customer of the run has a value tier: its rows count the run's customers
    scores = ws.scoring.list(day, ["loyalty", "value_tier"])
    if "loyalty_class" not in scores or scores["loyalty_class"].isna().all():
        return {"rows": [], "scored": len(scores), "mean": None}
    labels = scores["loyalty_class"].dropna()
    counts = labels.value_counts()
    order = [c for c in CLASSES if c in counts.index] + [
        c for c in counts.index if c not in CLASSES]
    rows = [{"class": c, "customers": int(counts[c]),
             "share": float(counts[c] / counts.sum())} for c in order]
    mean = scores.loc[labels.index, "loyalty"].mean() if "loyalty" in scores else None
    return {"rows": rows, "scored": len(scores), "classified": int(counts.sum()),
            "mean": None if mean is None or pd.isna(mean) else float(mean)}


def _levels(ws) -> dict:
    levels = ws.survey.levels()
    counts = levels["level"].dropna().value_counts()
    order = [lv for lv in LEVELS if lv in counts.index]
    return {"rows": [{"level": lv, "respondents": int(counts[lv]),
                      "share": float(counts[lv] / counts.sum())} for lv in order],
            "means": {lv: float(levels[lv].mean()) for lv in LEVELS[:4] if lv in levels}}


def _index(ws) -> dict | None:
    """The stored satisfaction index: respondents and each construct's mean 0-100 score."""
    if "satisfaction_index" not in ws.warehouse.result_names():
        return None
    df = ws.result("satisfaction_index").to_pyarrow().to_pandas()
    cons = [c for c in df.columns if c not in _KEYS]
    return {"respondents": len(df),
            "surveys": sorted(str(s) for s in df["survey"].dropna().unique()),
            "rows": [{"construct": c, "score": float(df[c].mean())} for c in cons]}


def _loyalty(ws, day) -> dict:
    until = day.strftime("%Y-%m") if day is not None else None
    trend, trend_error = _try(lambda: _nps(ws, None, True, until))
    overall, _ = _try(lambda: _nps(ws, None, False, None))
    levels, levels_error = _try(lambda: _levels(ws))
    return {"trend": trend, "trend_error": trend_error,
            "overall": overall[0] if overall else None,
            "classes": _classes(ws, day), "levels": levels, "levels_error": levels_error,
            "index": _index(ws), "min_n": ws.settings.survey.nps_min_sample}


def _groups(ws, by: str, day) -> dict:
    until = day.strftime("%Y-%m") if day is not None else None
    groups, groups_error = _try(lambda: _nps(ws, by, False, None))
    trends, _ = _try(lambda: _nps(ws, by, True, until))
    return {"groups": groups, "groups_error": groups_error, "group_trends": trends}


def _trend_figure(rows, lang):
    x = [r["month"] for r in rows]
    fig = go.Figure()
    fig.add_scatter(x=x + x[::-1], y=[r["ci_high"] for r in rows]
                    + [r["ci_low"] for r in rows][::-1], fill="toself", mode="lines",
                    line={"width": 0}, fillcolor="rgba(11,107,203,0.15)",
                    name=translate(lang, "95% interval"), hoverinfo="skip")
    fig.add_scatter(x=x, y=[r["nps"] for r in rows], mode="lines+markers",
                    name="NPS", line={"color": "#0b6bcb"})
    fig.update_layout(title=translate(lang, "NPS by month"), yaxis_title="NPS",
                      yaxis_range=[-100, 100], xaxis_type="category")
    return fig


def _groups_figure(rows, lang):
    fig = go.Figure(go.Bar(
        x=[translate(lang, TIER_LABELS.get(str(r["group"]), str(r["group"])))
           for r in rows], y=[r["nps"] for r in rows],
        error_y={"type": "data", "symmetric": False,
                 "array": [r["ci_high"] - r["nps"] for r in rows],
                 "arrayminus": [r["nps"] - r["ci_low"] for r in rows]}))
    fig.update_layout(title=translate(lang, "NPS by group, with 95% intervals"),
                      yaxis_title="NPS", yaxis_range=[-100, 100])
    return fig


def _group_trends_figure(rows, lang):
    fig = go.Figure()
    for group in dict.fromkeys(r["group"] for r in rows):
        part = [r for r in rows if r["group"] == group]
        fig.add_scatter(
            x=[r["month"] for r in part], y=[r["nps"] for r in part], mode="lines+markers",
            name=translate(lang, TIER_LABELS.get(str(group), str(group))),
            error_y={"type": "data", "symmetric": False, "thickness": 1,
                     "array": [r["ci_high"] - r["nps"] for r in part],
                     "arrayminus": [r["nps"] - r["ci_low"] for r in part]})
    fig.update_layout(title=translate(lang, "NPS by month and group, with 95% intervals"),
                      yaxis_title="NPS", yaxis_range=[-100, 100], xaxis_type="category",
                      legend={"orientation": "h"})
    return fig


def cached(ws, day: dt.date | None, by: str = "segment") -> dict:
    """The page's data for ``day`` and the groups ``by``, kept until the warehouse
    changes."""
    return {**memo(ws, ("loyalty", day), lambda: _loyalty(ws, day)),
            **memo(ws, ("nps-groups", by, day), lambda: _groups(ws, by, day))}


@router.get("/loyalty")
async def loyalty(request: Request, user: page_user(*ANALYSTS)):
    ws = request.app.state.workspace
    lang = lang_of(request)
    by = request.query_params.get("by") or "segment"
    if by not in GROUPS:
        by = "segment"
    runs = await run_in_threadpool(ws.scoring.runs)
    day = month_shown(request, runs)
    data = await run_in_threadpool(cached, ws, day, by)
    figures = {}
    if data["trend"]:
        figures["trend_figure"] = figure(_trend_figure(data["trend"], lang), 320)
    if data["groups"]:
        figures["groups_figure"] = figure(_groups_figure(data["groups"], lang), 300)
    if data["group_trends"]:
        figures["group_trends_figure"] = figure(
            _group_trends_figure(data["group_trends"], lang), 360)
    return page(request, "loyalty.html", title=translate(lang, "Loyalty and satisfaction"),
                plots=bool(figures), day=day, months=sorted(runs), by=by, group_names=GROUPS,
                tier_labels=TIER_LABELS, **data, **figures)
