"""``/retention``: who stays and who leaves: the retention rate by month, the cohort
heatmap (share of each start month still customers k months later), the Kaplan-Meier
survival of tenure, and churn by reason with the recommended response (`ws.churn`)."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from cvm.errors import CvmError
from cvm.i18n import translate
from cvm.web.auth import page_user
from cvm.web.cache import memo
from cvm.web.render import ANALYSTS, figure, lang_of, page, records
from cvm.web.routes._common import month_shown

router = APIRouter(include_in_schema=False)

#: cohorts followed on the heatmap (months since the start)
MAX_K = 24


def _try(make):
    try:
        return make(), None
    except CvmError as exc:
        return None, str(exc)


def _cohorts(ws, day) -> dict:
    df = ws.churn.cohorts(as_of=day).to_pandas()
    if df.empty:
        return {"cohorts": [], "k": [], "rate": []}
    df = df[(df["basis"] == df["basis"].iloc[0]) & (df["k"] <= MAX_K)]
    m = df.pivot(index="cohort", columns="k", values="rate").sort_index()
    size = df.groupby("cohort")["customers"].first().reindex(m.index)
    return {"basis": str(df["basis"].iloc[0]),
            "cohorts": [c.isoformat()[:7] for c in m.index],
            "sizes": [int(s) for s in size],
            "k": [int(k) for k in m.columns],
            "rate": [[None if v != v else float(v) for v in row] for row in m.to_numpy()]}


def _survival(ws, day) -> dict:
    s = ws.churn.survival(as_of=day)
    curve = s.curves
    return {"summary": records(s.summary), "unit": s.unit, "note": s.note,
            "time": [0.0, *curve["time"].astype(float)],
            "survival": [1.0, *curve["survival"].astype(float)]}


def _retention(ws, day) -> dict:
    rates, rates_error = _try(lambda: records(ws.churn.retention(as_of=day)))
    cohorts, cohorts_error = _try(lambda: _cohorts(ws, day))
    survival, survival_error = _try(lambda: _survival(ws, day))
    reasons, reasons_error = _try(lambda: records(ws.churn.reasons(as_of=day).summary))
    if rates:
        basis = rates[0]["basis"]
        rates = [r for r in rates if r["basis"] == basis and r["group"] == "all"]
    return {"rates": rates, "rates_error": rates_error, "cohorts": cohorts,
            "cohorts_error": cohorts_error, "survival": survival,
            "survival_error": survival_error, "reasons": reasons,
            "reasons_error": reasons_error}


def _figures(data: dict, lang: str) -> dict:
    out = {}
    if data["rates"]:
        fig = go.Figure(go.Scatter(x=[r["period_start"].isoformat()[:7] for r in data["rates"]],
                                   y=[r["retention_rate"] for r in data["rates"]],
                                   mode="lines+markers"))
        fig.update_layout(title=translate(lang, "Retention rate by month"),
                          yaxis_tickformat=".0%", xaxis_type="category")
        out["rates_figure"] = figure(fig, 300)
    c = data["cohorts"]
    if c and c["cohorts"]:
        fig = go.Figure(go.Heatmap(
            z=c["rate"], x=c["k"], y=c["cohorts"], zmin=0, zmax=1, colorscale="Blues",
            colorbar={"tickformat": ".0%"},
            hovertemplate="%{y} +%{x}: %{z:.1%}<extra></extra>"))
        fig.update_layout(title=translate(lang, "Share of each cohort still a customer"),
                          xaxis_title=translate(lang, "months since the start"),
                          yaxis_title=translate(lang, "cohort (start month)"),
                          yaxis_autorange="reversed", yaxis_type="category")
        out["cohort_figure"] = figure(fig, max(320, 22 * len(c["cohorts"]) + 120))
    s = data["survival"]
    if s:
        fig = go.Figure(go.Scatter(x=s["time"], y=s["survival"], mode="lines",
                                   line={"shape": "hv"}, name=translate(lang, "all")))
        fig.update_layout(title=translate(lang, "Survival of customer tenure (Kaplan-Meier)"),
                          xaxis_title=translate(lang, "tenure in months"),
                          yaxis_title=translate(lang, "share still a customer"),
                          yaxis_tickformat=".0%", yaxis_range=[0, 1.02])
        out["survival_figure"] = figure(fig, 320)
    if data["reasons"]:
        rows = [r for r in data["reasons"] if r["churned"]]
        fig = go.Figure(go.Bar(x=[translate(lang, r["reason"]) for r in rows],
                               y=[r["churned"] for r in rows]))
        fig.update_layout(title=translate(lang, "Churned customers by reason"))
        out["reasons_figure"] = figure(fig, 300)
    return out


def cached(ws, day: dt.date | None):
    """The page's data for ``day``, kept until the warehouse changes."""
    return memo(ws, ("retention", day), lambda: _retention(ws, day))


@router.get("/retention")
async def retention(request: Request, user: page_user(*ANALYSTS)):
    ws = request.app.state.workspace
    lang = lang_of(request)
    runs = await run_in_threadpool(ws.scoring.runs)
    day = month_shown(request, runs)
    data = await run_in_threadpool(cached, ws, day)
    figures = _figures(data, lang)
    return page(request, "retention.html", title=translate(lang, "Retention"),
                plots=bool(figures), day=day, months=sorted(runs), **data, **figures)
