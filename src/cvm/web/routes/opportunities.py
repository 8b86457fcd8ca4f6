"""``/opportunities``: the month's opportunity list a user may see, each recorded in one
click; ``/opportunities/evaluation``: which kinds of opportunity work (outcome rates of
treated against control, the uplift with its interval, acceptance by owner).

Who sees what (`cvm.users.UsersFacade.work_owners`): staff their own list, a manager with
a team the team's, analysts and admins everyone's. The control group is never in an owner's
list; analysts and admins see it, marked. Who records: the owner (staff), the owner's
manager, an admin; an analyst reads only.
"""

from __future__ import annotations

import secrets

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from cvm._dates import as_date
from cvm.errors import InputError, WorkspaceError
from cvm.users import Session
from cvm.web.auth import page_user
from cvm.web.render import ANALYSTS, EVERYONE, lang_of, page, records
from cvm.web.routes._common import month_shown, work_form

__all__ = ["router", "OUTCOMES", "ROW_LIMIT"]

router = APIRouter(include_in_schema=False)

#: The buttons of a row, in order (`cvm.opportunities` takes these outcomes).
OUTCOMES = ("contacted", "accepted", "declined", "no_answer", "not_reachable")
#: At most this many rows on one page (highest priority first); ``?owner=`` narrows.
ROW_LIMIT = 200
#: Roles who see the control group (marked) and everyone's list.
SEE_CONTROL = ("admin", "analyst")


def _visible(ws, user: Session, day, lang: str, owner: str | None = None) -> pd.DataFrame:
    """The opportunities of ``day`` the user may see: the `ROW_LIMIT` of highest priority
    (of ``owner`` when the user sees more than one owner's)."""
    owners = ws.users.work_owners(user)
    ops = ws.opportunities
    if owners is None:
        try:
            return ops.list(day, owner=owner, lang=lang,
                            include_control=user.role in SEE_CONTROL, limit=ROW_LIMIT)
        except WorkspaceError:      # nothing built for the day
            return pd.DataFrame(columns=["opportunity_id", "owner", "priority"])
    if owner is not None:
        owners = [o for o in owners if o == owner]
    parts = [ops.list(day, owner=o, lang=lang, include_control=False, limit=ROW_LIMIT)
             for o in owners]
    parts = [p for p in parts if len(p)]
    if len(parts) <= 1:
        return parts[0] if parts else pd.DataFrame(columns=["opportunity_id", "owner",
                                                            "priority"])
    df = pd.concat(parts, ignore_index=True)
    df = df.sort_values(["priority", "opportunity_id"], ascending=[False, True])
    return df.head(ROW_LIMIT).reset_index(drop=True)


def _row_context(ws, user: Session) -> dict:
    return {"outcomes": OUTCOMES, "decline_reasons": ws.settings.web.decline_reasons,
            "can_record": user.role != "analyst", "show_owner": user.role != "staff",
            "once": lambda: secrets.token_urlsafe(12)}


@router.get("/opportunities")
async def opportunities(request: Request, user: page_user(*EVERYONE)):
    ws = request.app.state.workspace
    lang = lang_of(request)
    runs = await run_in_threadpool(ws.scoring.runs)
    day = month_shown(request, runs)
    owner = request.query_params.get("owner") or None
    rows, total = [], 0
    if day is not None:
        df = await run_in_threadpool(_visible, ws, user, day, lang, owner)
        total = len(df)
        rows = records(df.head(ROW_LIMIT))
    return page(request, "opportunities.html", title="Opportunities", day=day,
                months=sorted(runs), rows=rows, total=total, limit=ROW_LIMIT, owner=owner,
                see_evaluation=user.role in ANALYSTS, **_row_context(ws, user))


@router.post("/opportunities/{opportunity_id}/outcome")
async def record_outcome(request: Request, opportunity_id: str, user: page_user(*EVERYONE)):
    """Record what happened with one opportunity; answers the row (htmx) or the list."""
    ws = request.app.state.workspace
    form, owner = await work_form(request, ws, user,
                                  lambda: ws.opportunities.owner_of(opportunity_id),
                                  f"opportunity {opportunity_id!r}")
    day = as_date(form["as_of"], "as_of").isoformat() if form.get("as_of") else ""
    outcome = form.get("outcome", "")
    code = (form.get("reason_code") or None) if outcome == "declined" else None
    if code is not None and code not in ws.settings.web.decline_reasons:
        raise InputError(f"reason code {code!r} is not one of "
                         f"{', '.join(ws.settings.web.decline_reasons)} (web.decline_reasons)")
    once = form.get("once", "").strip() or secrets.token_urlsafe(12)
    key = f"web:{user.username}:{opportunity_id}:{once}:{outcome}:{code or ''}"[:200]
    await run_in_threadpool(ws.opportunities.record, opportunity_id, outcome, code,
                            user.username, key)
    if request.headers.get("hx-request") != "true" or not day:
        return RedirectResponse(f"/opportunities?as_of={day}" if day else "/opportunities",
                                status_code=303)
    lang = lang_of(request)
    df = await run_in_threadpool(ws.opportunities.list, day, owner, lang, False)
    row = records(df[df["opportunity_id"] == opportunity_id])
    return page(request, "_opportunity_row.html", r=row[0], day=day,
                **_row_context(ws, user))


@router.get("/opportunities/evaluation")
async def evaluation(request: Request, user: page_user(*ANALYSTS)):
    ws = request.app.state.workspace
    try:
        ev = await run_in_threadpool(ws.opportunities.evaluate)
    except WorkspaceError:
        ev = None
    return page(request, "evaluation.html", title="Which opportunities work",
                by_kind=records(ev.by_kind) if ev else [],
                by_owner=records(ev.by_owner) if ev else [],
                decline_reasons=records(ev.decline_reasons) if ev else [])
