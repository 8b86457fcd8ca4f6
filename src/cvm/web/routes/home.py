"""``/``: the KPI tree of the month for managers, analysts and admins (NPS at the root,
each KPI with its value, target, change and colour, opened down to its secondary
indicators); for staff, their own start page: their open opportunities and cases."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from cvm.kpi.display import format_value
from cvm.web.auth import page_user
from cvm.web.render import EVERYONE, lang_of, page
from cvm.web.routes._common import month_shown

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, user: page_user(*EVERYONE)):
    ws = request.app.state.workspace
    lang = lang_of(request)
    if user.role == "staff":
        return await run_in_threadpool(_staff_home, request, ws, user, lang)
    months = await run_in_threadpool(ws.kpi.months)
    day = month_shown(request, months)
    tree = None
    if day is not None and day in months:
        tree = await run_in_threadpool(ws.kpi.tree, day, lang)
    return page(request, "home.html", title="KPIs", day=day, months=sorted(months),
                tree=tree, fmt=lambda v, unit, signed=False: format_value(v, unit, lang, signed))


def _staff_home(request, ws, user, lang):
    runs = ws.scoring.runs()
    day = month_shown(request, runs)
    opportunities = (ws.opportunities.list(day, owner=user.username, lang=lang,
                                           include_control=False)
                     if day is not None else None)
    cases = ws.cases.counts(["open", "in_progress", "reopened"], [user.username])
    return page(request, "staff_home.html", title="My work", day=day,
                opportunities=0 if opportunities is None else len(opportunities),
                cases=int(cases["cases"].sum()))
