"""``/service``: compliance with each service standard per touchpoint (as ``cvm service
standards``), the month's worst breaches, complaints (rates, categories, resolution) and the
open and overdue cases of the closed loop."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from cvm.cases.lifecycle import OPEN_STATUSES
from cvm.errors import CvmError
from cvm.i18n import translate
from cvm.web.auth import page_user
from cvm.web.cache import memo
from cvm.web.render import ANALYSTS, TIER_LABELS, figure, fmt_number, lang_of, page, records
from cvm.web.routes._common import month_shown

router = APIRouter(include_in_schema=False)

#: breaches listed on the page (the furthest over their limit in the month)
TOP = 20


def duration(seconds, lang: str) -> str:
    """A time limit or overrun as people say it: 15 s, 5.0 min, 2.0 h, 12 d."""
    if seconds is None:
        return "–"
    s = float(seconds)

    def n(size):
        value = s / size
        return fmt_number(value, lang, 0 if abs(value) >= 10 else 1)

    if abs(s) >= 86400:
        return translate(lang, "{n} d", n=n(86400))
    if abs(s) >= 3600:
        return translate(lang, "{n} h", n=n(3600))
    if abs(s) >= 60:
        return translate(lang, "{n} min", n=n(60))
    return translate(lang, "{n} s", n=fmt_number(s, lang))


def _try(make):
    try:
        return make(), None
    except CvmError as exc:
        return None, str(exc)


def _breaches(ws, day, compliance: list[dict] | None) -> dict:
    """The month's breaches furthest over their limit, how many in the month and in all
    (the compliance table's breached, summed: the same count as the whole list)."""
    since = day.replace(day=1) if day is not None else None
    b = ws.service.breaches(day, since=since).to_pandas()
    top = b.sort_values("over_seconds", ascending=False).head(TOP)
    total = sum(r["breached"] for r in compliance) if compliance else None
    return {"total": total, "month": len(b) if since is not None else None,
            "rows": records(top)}


def _complaints(ws, day) -> dict:
    s = ws.service
    rates = records(s.complaints("rates", as_of=day).tables["rates"])
    categories = records(s.complaints("categories", as_of=day).tables["categories"])
    resolution = records(s.complaints("resolution", as_of=day).tables["resolution"])
    return {"rates": rates, "last": rates[-1] if rates else None,
            "categories": categories, "resolution": resolution[-1] if resolution else None}


def _service(ws, day) -> dict:
    compliance, compliance_error = _try(lambda: records(ws.service.compliance(day)))
    breaches, breaches_error = _try(lambda: _breaches(ws, day, compliance))
    complaints, complaints_error = _try(lambda: _complaints(ws, day))
    return {"compliance": compliance, "compliance_error": compliance_error,
            "breaches": breaches, "breaches_error": breaches_error,
            "complaints": complaints, "complaints_error": complaints_error}


def _cases(ws) -> dict:
    """Open and overdue cases now (the operational database: never kept between views)."""
    counts = ws.cases.counts(list(OPEN_STATUSES))
    return {"open": int(counts["cases"].sum()), "overdue": int(counts["overdue"].sum()),
            "by_trigger": [{"trigger": r.trigger, "cases": r.cases}
                           for r in counts.itertuples()]}


def _compliance_figure(rows, lang):
    fig = go.Figure(go.Bar(
        x=[r["compliance"] for r in rows], y=[r["standard"] for r in rows], orientation="h",
        error_x={"type": "data", "symmetric": False,
                 "array": [r["ci_high"] - r["compliance"] for r in rows],
                 "arrayminus": [r["compliance"] - r["ci_low"] for r in rows]},
        name=translate(lang, "compliance")))
    fig.add_scatter(x=[r["target"] for r in rows], y=[r["standard"] for r in rows],
                    mode="markers", marker={"symbol": "line-ns-open", "size": 18},
                    name=translate(lang, "target"))
    fig.update_layout(title=translate(lang, "Compliance with 95% intervals"),
                      xaxis_tickformat=".0%", xaxis_range=[0, 1],
                      yaxis_autorange="reversed")
    return fig


def cached(ws, day: dt.date | None):
    """The page's data for ``day``, kept until the warehouse changes."""
    return memo(ws, ("service", day), lambda: _service(ws, day))


@router.get("/service")
async def service(request: Request, user: page_user(*ANALYSTS)):
    ws = request.app.state.workspace
    lang = lang_of(request)
    runs = await run_in_threadpool(ws.scoring.runs)
    day = month_shown(request, runs)
    data = await run_in_threadpool(cached, ws, day)
    cases, cases_error = await run_in_threadpool(_try, lambda: _cases(ws))
    figures = {}
    if data["compliance"]:
        figures["compliance_figure"] = figure(_compliance_figure(data["compliance"], lang),
                                              max(240, 60 * len(data["compliance"]) + 100))
    return page(request, "service.html", title=translate(lang, "Service"),
                plots=bool(figures), day=day, months=sorted(runs), cases=cases,
                cases_error=cases_error, top=TOP, tier_labels=TIER_LABELS,
                dur=lambda s: duration(s, lang), **data, **figures)
